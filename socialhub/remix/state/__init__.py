"""Remix's page states: `gallery` (/remix), `ad` (/remix/ad?ad=ID), `brand` (/remix/brand)."""
