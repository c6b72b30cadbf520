"""Time rules of Schedule, pure functions: local times to UTC, recurrence steps, the future
occurrences of a series. Stored times are aware UTC; see `timing.py` for the rules in words.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, time, timedelta
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


def next_occurrence(at: datetime, *, every: int, unit: str, timezone: str, wall_time: time | None = None) -> datetime:
    """The occurrence after `at`: `every` days or weeks later, at the series' local `wall_time`
    (default: `at`'s own local time). The day is counted from `at`'s local date and the time
    comes from the series, never from `at`: an occurrence moved by a daylight-saving gap (02:30
    does not exist that night, so it is 03:30) does not move the ones after it."""
    step = timedelta(days=every if unit == "day" else 7 * every)
    local = local_wall_time(at, timezone)
    return to_utc(datetime.combine(local.date() + step, wall_time or local.time()), timezone)


def series_wall_time(post: Post) -> time | None:
    """The local wall time of a series (stored; for rows from before it was, its scheduled time's)."""
    if post.recurrence_local_time is not None:
        return post.recurrence_local_time
    if post.scheduled_at is not None:
        return local_wall_time(post.scheduled_at, post.timezone).time()
    return None


def projected_occurrences(root: Post, *, start: datetime, end: datetime, limit: int = 100) -> Iterator[datetime]:
    """Future occurrences of a series in [start, end) that are not created yet."""
    at = root.recurrence_next_at
    wall = series_wall_time(root)
    count = 0
    while at is not None and at < end and count < limit:
        if root.recurrence_until and at > root.recurrence_until:
            return
        if at >= start:
            yield at
        at = next_occurrence(at, every=root.recurrence_every, unit=root.recurrence_unit, timezone=root.timezone,
                             wall_time=wall)
        count += 1
