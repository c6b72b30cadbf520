"""Remix's pages. Importing this package registers them: /remix, /remix/ad, /remix/brand."""

from socialhub.remix.pages import ad, brand, remix  # noqa: F401
