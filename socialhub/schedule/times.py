"""Time rules of Schedule, pure functions: local times to UTC, recurrence steps, the future
occurrences of a series. Stored times are aware UTC; see `timing.py` for the rules in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from socialhub.core.errors import ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.schedule.models import Post


UTC = ZoneInfo("UTC")


def to_utc(when: datetime | str, timezone: str) -> datetime:
    """An aware UTC datetime from an aware datetime, or from a local one (naive or ISO text) in `timezone`."""
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when.strip())
        except ValueError:
            raise ValidationError("That is not a date and time; use the picker.") from None
    if when.tzinfo is not None:
        return when.astimezone(UTC)
    tz = ZoneInfo(clean_timezone(timezone))
    # fold=0: an ambiguous time is its first occurrence; a skipped time keeps the offset from
    # before the change, which lands it after the gap (02:30 → 03:30 on a spring-forward night).
    return when.replace(tzinfo=tz, fold=0).astimezone(UTC)


def local_wall_time(at: datetime, timezone: str) -> datetime:
    return at.astimezone(ZoneInfo(timezone)).replace(tzinfo=None)


def next_occurrence(at: datetime, *, every: int, unit: str, timezone: str) -> datetime:
    """The occurrence after `at`: same local wall time, `every` days or weeks later."""
    step = timedelta(days=every if unit == "day" else 7 * every)
    return to_utc(local_wall_time(at, timezone) + step, timezone)


def projected_occurrences(root: Post, *, start: datetime, end: datetime, limit: int = 100) -> Iterator[datetime]:
    """Future occurrences of a series in [start, end) that are not created yet."""
    at = root.recurrence_next_at
    count = 0
    while at is not None and at < end and count < limit:
        if root.recurrence_until and at > root.recurrence_until:
            return
        if at >= start:
            yield at
        at = next_occurrence(at, every=root.recurrence_every, unit=root.recurrence_unit, timezone=root.timezone)
        count += 1
