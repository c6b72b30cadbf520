"""Time zones: the one list offered everywhere and the one check of a chosen zone."""

from __future__ import annotations

from zoneinfo import available_timezones

from socialhub.core.errors import ValidationError

_TIMEZONES = frozenset(available_timezones()) | {"UTC"}


def timezones() -> list[str]:
    return sorted(_TIMEZONES)


def clean_timezone(tz: str | None, fallback: str = "UTC") -> str:
    """`tz` (trimmed) if it is a known IANA zone; `fallback` when `tz` is empty ("" = required)."""
    tz = (tz or "").strip() or fallback
    if tz not in _TIMEZONES:
        raise ValidationError("Choose a time zone from the list, like Europe/Berlin.")
    return tz
