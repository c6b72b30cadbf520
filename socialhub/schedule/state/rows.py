"""Rows the Schedule pages show (calendar, list, post panel, composer), built from the
publishing services' views (no queries here).

Everything is plain data for the page: short texts, times already in the viewer's time zone,
status words and colours. The calendar's cells carry a `zone` string that a drop reports back:
`YYYY-MM-DD` (a month day: keep the time of day), `YYYY-MM-DDTHH:MM` (a week hour or a day's
15-minute row).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from socialhub.schedule.posts import ADMIN_EDITABLE, EDITOR_EDITABLE
from socialhub.schedule.reading import PostDetail, PostSummary
from socialhub.identity import teams

# ---- words and colours ------------------------------------------------------------------------

STATUS_LABELS = {
    "draft": "draft",
    "pending_approval": "waiting for approval",
    "approved": "approved",
    "scheduled": "scheduled",
    "pending": "scheduled",
    "publishing": "publishing",
    "retrying": "retrying",
    "unconfirmed": "checking",
    "published": "published",
    "partial": "partly published",
    "failed": "failed",
    "missed": "missed",
    "paused": "paused",
    "cancelled": "cancelled",
}
STATUS_COLORS = {
    "draft": "gray",
    "pending_approval": "amber",
    "approved": "cyan",
    "scheduled": "blue",
    "pending": "blue",
    "publishing": "violet",
    "retrying": "orange",
    "unconfirmed": "orange",
    "published": "green",
    "partial": "orange",
    "failed": "red",
    "missed": "tomato",
    "paused": "amber",
    "cancelled": "gray",
}
MAX_CHIP_TEXT = 90
MAX_PANEL_TEXT = 5000
MONTH_CELL_POSTS = 3
DAY_ROW_MINUTES = 15


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " "))


def status_color(status: str) -> str:
    return STATUS_COLORS.get(status, "gray")


def short(text: str, limit: int = MAX_CHIP_TEXT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def safe_url(url: str | None) -> str:
    """Only web links become links; anything else (javascript:, relative hub paths) stays text."""
    url = (url or "").strip()
    return url if url.startswith(("https://", "http://")) else ""


def local(moment: datetime, tz: str) -> datetime:
    return moment.astimezone(ZoneInfo(tz))


# ---- rows -------------------------------------------------------------------------------------

@dataclasses.dataclass
class BadgeRow:
    """One account's status on a post."""

    label: str = ""
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    error: str = ""


@dataclasses.dataclass
class CalPost:
    key: str = ""
    id: int = 0
    time: str = ""
    when: str = ""
    text: str = ""
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    badges: list[BadgeRow] = dataclasses.field(default_factory=list)
    tags: str = ""
    author: str = ""
    recurrence: str = ""
    projected: bool = False
    draggable: bool = False


@dataclasses.dataclass
class CalSlot:
    zone: str = ""
    label: str = ""  # for screen readers: "Monday 23 November, 09:15"
    posts: list[CalPost] = dataclasses.field(default_factory=list)
    now: bool = False
    past: bool = False


@dataclasses.dataclass
class GridRow:
    label: str = ""  # "09:00" on the hour, "" on the quarters
    hour: bool = True
    cells: list[CalSlot] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class CalDay:
    date: str = ""
    label: str = ""  # "Mon 23"
    long_label: str = ""  # "Monday 23 November"
    day_num: str = ""
    in_month: bool = True
    today: bool = False
    past: bool = False
    zone: str = ""
    posts: list[CalPost] = dataclasses.field(default_factory=list)
    more: int = 0


@dataclasses.dataclass
class Calendar:
    title: str = ""
    month_days: list[CalDay] = dataclasses.field(default_factory=list)
    head_days: list[CalDay] = dataclasses.field(default_factory=list)
    grid_rows: list[GridRow] = dataclasses.field(default_factory=list)
    agenda: list[CalDay] = dataclasses.field(default_factory=list)
    count: int = 0


def can_move(status: str, role: str) -> bool:
    """Whether the viewer may drag this post (the service checks again)."""
    if teams.role_at_least(role, "admin"):
        return status in ADMIN_EDITABLE and status != "cancelled"
    return role == "editor" and status in EDITOR_EDITABLE


def badges(summary: PostSummary) -> list[BadgeRow]:
    return [BadgeRow(label=f"{t.platform_name} {t.handle}".strip(), status=t.status, status_label=status_label(t.status),
                     color=status_color(t.status), error=short(t.last_error, 200)) for t in summary.targets]


def cal_post(summary: PostSummary, *, tz: str, role: str) -> CalPost:
    at = local(summary.scheduled_at, tz) if summary.scheduled_at else None
    key = f"{summary.id}-{int(summary.scheduled_at.timestamp())}" if summary.projected and summary.scheduled_at else str(summary.id)
    return CalPost(
        key=key, id=summary.id, time=at.strftime("%H:%M") if at else "",
        when=at.strftime("%a %d %b %Y, %H:%M") if at else "No time yet",
        text=short(summary.text) or ("(media only)" if summary.media_count else "(empty)"),
        status=summary.status, status_label=status_label(summary.status), color=status_color(summary.status),
        badges=badges(summary), tags=" ".join(f"#{t}" for t in summary.tags), author=summary.author_name,
        recurrence=summary.recurrence or "", projected=summary.projected,
        draggable=(not summary.projected) and can_move(summary.status, role),
    )


# ---- calendar ---------------------------------------------------------------------------------

def month_grid_dates(anchor: date) -> tuple[date, date]:
    """[first, last) of the weeks (Monday first) that show the anchor's month."""
    first = anchor.replace(day=1)
    start = first - timedelta(days=first.weekday())
    next_month = (first + timedelta(days=32)).replace(day=1)
    end = next_month + timedelta(days=(7 - next_month.weekday()) % 7)
    return start, end


def view_dates(view: str, anchor: date) -> tuple[date, date]:
    """The local dates [first, last) a calendar view shows."""
    if view == "month":
        return month_grid_dates(anchor)
    if view == "week":
        start = anchor - timedelta(days=anchor.weekday())
        return start, start + timedelta(days=7)
    return anchor, anchor + timedelta(days=1)


def shift(view: str, anchor: date, step: int) -> date:
    """The anchor one view earlier (step -1) or later (step 1)."""
    if view == "month":
        month = anchor.month - 1 + step
        return date(anchor.year + month // 12, month % 12 + 1, 1)
    return anchor + timedelta(days=step * (7 if view == "week" else 1))


def title_of(view: str, anchor: date) -> str:
    if view == "month":
        return anchor.strftime("%B %Y")
    if view == "week":
        start, end = view_dates("week", anchor)
        last = end - timedelta(days=1)
        if start.month == last.month:
            return f"{start.day} – {last.day} {last.strftime('%b %Y')}"
        return f"{start.strftime('%d %b')} – {last.strftime('%d %b %Y')}"
    return anchor.strftime("%A %d %B %Y")


def _day(d: date, *, anchor: date, today: date, posts: list[CalPost], limit: int | None = None) -> CalDay:
    shown = posts if limit is None else posts[:limit]
    return CalDay(
        date=d.isoformat(), label=d.strftime("%a %d"), long_label=d.strftime("%A %d %B"), day_num=str(d.day),
        in_month=d.month == anchor.month, today=d == today, past=d < today, zone=d.isoformat(), posts=shown,
        more=len(posts) - len(shown),
    )


def build_calendar(view: str, anchor: date, items: Sequence[PostSummary], *, tz: str, role: str,
                   now: datetime) -> Calendar:
    """The month grid, the week/day time grid and the phone agenda for one view."""
    now_local = local(now, tz)
    today = now_local.date()
    first, last = view_dates(view, anchor)
    by_day: dict[date, list[tuple[datetime, CalPost]]] = {}
    for summary in items:
        if summary.scheduled_at is None:
            continue
        at = local(summary.scheduled_at, tz)
        by_day.setdefault(at.date(), []).append((at, cal_post(summary, tz=tz, role=role)))
    days = [first + timedelta(days=i) for i in range((last - first).days)]
    cal = Calendar(title=title_of(view, anchor), count=sum(len(v) for d, v in by_day.items() if first <= d < last))
    if view == "month":
        cal.month_days = [_day(d, anchor=anchor, today=today, posts=[p for _, p in by_day.get(d, [])], limit=MONTH_CELL_POSTS)
                          for d in days]
        cal.agenda = [_day(d, anchor=anchor, today=today, posts=[p for _, p in by_day[d]])
                      for d in days if d in by_day and d.month == anchor.month]
        return cal
    step = 60 if view == "week" else DAY_ROW_MINUTES
    cal.head_days = [_day(d, anchor=anchor, today=today, posts=[]) for d in days]
    cal.agenda = [_day(d, anchor=anchor, today=today, posts=[p for _, p in by_day.get(d, [])]) for d in days]
    for minute in range(0, 24 * 60, step):
        slot_time = time(minute // 60, minute % 60)
        row = GridRow(label=slot_time.strftime("%H:%M") if minute % 60 == 0 else "", hour=minute % 60 == 0)
        for d in days:
            start = datetime.combine(d, slot_time)
            end = start + timedelta(minutes=step)
            naive_now = now_local.replace(tzinfo=None)
            posts = [p for at, p in by_day.get(d, []) if start <= at.replace(tzinfo=None) < end]
            row.cells.append(CalSlot(
                zone=f"{d.isoformat()}T{slot_time.strftime('%H:%M')}",
                label=f"{d.strftime('%A %d %B')}, {slot_time.strftime('%H:%M')}", posts=posts,
                now=start <= naive_now < end, past=end <= naive_now,
            ))
        cal.grid_rows.append(row)
    return cal


def drop_prefill(zone: str, *, original: datetime | None, tz: str, now: datetime) -> tuple[str, str]:
    """(date, time) to prefill after a drop on `zone`.

    A month day keeps the post's time of day; a time row starts at the row's time, or at the
    next whole minute when the row is the current one (so "now" is never in the past).
    """
    zone = zone.strip()
    try:
        if "T" in zone:
            at = datetime.fromisoformat(zone)
        else:
            day = date.fromisoformat(zone)
            keep = local(original, tz).time() if original else time(9, 0)
            at = datetime.combine(day, keep.replace(second=0, microsecond=0))
    except ValueError:
        raise ValueError("That is not a place on the calendar.") from None
    now_local = local(now, tz).replace(tzinfo=None)
    if at < now_local and "T" in zone:
        next_minute = (now_local + timedelta(minutes=1)).replace(second=0, microsecond=0)
        if next_minute.date() == at.date():
            at = max(at, next_minute)
    return at.date().isoformat(), at.strftime("%H:%M")


# ---- the list view ----------------------------------------------------------------------------

def list_rows(items: Iterable[PostSummary], *, tz: str, role: str) -> list[CalPost]:
    return [cal_post(s, tz=tz, role=role) for s in items]


# ---- the post panel ---------------------------------------------------------------------------

@dataclasses.dataclass
class TargetRow:
    id: int = 0
    account: str = ""
    platform: str = ""
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    error: str = ""
    url: str = ""
    where: str = ""  # where to find it when there is no web link
    when: str = ""
    attempts: int = 0


@dataclasses.dataclass
class LogRow:
    who: str = ""
    kind: str = ""
    text: str = ""
    when: str = ""


@dataclasses.dataclass
class Panel:
    id: int = 0
    status: str = ""
    status_label: str = ""
    color: str = "gray"
    text: str = ""
    first_comment: str = ""
    when: str = ""
    date: str = ""
    time: str = ""
    timezone: str = ""
    tags: str = ""
    author: str = ""
    recurrence: str = ""
    media_count: int = 0
    targets: list[TargetRow] = dataclasses.field(default_factory=list)
    activity: list[LogRow] = dataclasses.field(default_factory=list)
    comments: list[LogRow] = dataclasses.field(default_factory=list)
    # what the viewer may do, by role and status (the services check again)
    can_edit: bool = False
    can_submit: bool = False
    can_approve: bool = False
    can_publish_now: bool = False
    can_reschedule: bool = False
    can_unschedule: bool = False
    can_cancel: bool = False
    can_retry: bool = False
    can_duplicate: bool = False
    can_delete: bool = False
    can_comment: bool = False
    read_only: bool = True
    needs_reconnect: bool = False


def _fmt(moment: datetime | None, tz: str, fmt: str = "%a %d %b %Y, %H:%M") -> str:
    return local(moment, tz).strftime(fmt) if moment else ""


def panel_of(detail: PostDetail, *, tz: str, user_id: int) -> Panel:
    s = detail.summary
    role, status = detail.role, s.status
    admin = teams.role_at_least(role, "admin")
    editor = teams.role_at_least(role, "editor")
    text = detail.text if len(detail.text) <= MAX_PANEL_TEXT else (
        detail.text[:MAX_PANEL_TEXT] + f"… ({len(detail.text) - MAX_PANEL_TEXT:,} more characters)")
    targets = []
    for t in s.targets:
        url = safe_url(t.url)
        where = "" if url or t.status != "published" else (
            f"On the SocialHub timeline of @{t.handle}" if t.platform == "hub" else (t.platform_post_id or ""))
        targets.append(TargetRow(
            id=t.id, account=f"{t.platform_name} {t.handle}".strip(), platform=t.platform, status=t.status,
            status_label=status_label(t.status), color=status_color(t.status), error=t.last_error, url=url, where=where,
            when=("published " + _fmt(t.published_at, tz)) if t.published_at else _fmt(t.scheduled_at, tz),
            attempts=t.attempts,
        ))
    at = local(s.scheduled_at, tz) if s.scheduled_at else None
    waiting = status in ("draft", "pending_approval", "approved", "scheduled", "missed", "paused", "failed")
    return Panel(
        id=s.id, status=status, status_label=status_label(status), color=status_color(status), text=text,
        first_comment=detail.first_comment[:MAX_PANEL_TEXT], when=at.strftime("%a %d %b %Y, %H:%M") if at else "No time yet",
        date=at.date().isoformat() if at else "", time=at.strftime("%H:%M") if at else "", timezone=tz,
        tags=" ".join(f"#{t}" for t in s.tags), author=s.author_name, recurrence=s.recurrence or "",
        media_count=s.media_count,
        targets=targets,
        activity=[LogRow(who=a.actor_name, kind=a.kind, text=a.message, when=_fmt(a.created_at, tz, "%d %b %H:%M"))
                  for a in detail.activity[:50]],
        comments=[LogRow(who=c.author_name, kind=c.kind, text=c.body, when=_fmt(c.created_at, tz, "%d %b %H:%M"))
                  for c in detail.comments[-50:]],
        can_edit=detail.can_edit,
        can_submit=editor and not admin and status == "draft",
        can_approve=detail.can_approve,
        can_publish_now=admin and status in ("draft", "pending_approval", "approved", "scheduled", "missed", "failed"),
        can_reschedule=detail.can_edit and waiting,
        can_unschedule=(admin and status in ("pending_approval", "approved", "scheduled", "missed", "paused", "failed"))
        or (role == "editor" and status == "pending_approval" and s.author_id == user_id),
        can_cancel=admin and status in ("scheduled", "approved", "missed", "paused", "pending_approval"),
        can_retry=admin and status in ("failed", "partial", "missed"),
        can_duplicate=editor,
        can_delete=(admin and status not in ("publishing",)) or (role == "editor" and s.author_id == user_id
                                                                 and status in EDITOR_EDITABLE),
        can_comment=editor,
        read_only=not editor,
        needs_reconnect=any(t.status == "paused" for t in s.targets),
    )


# ---- the composer ------------------------------------------------------------------------------

@dataclasses.dataclass
class AccountChoice:
    id: int = 0
    label: str = ""
    platform: str = ""
    selected: bool = False
    usable: bool = True
    note: str = ""


@dataclasses.dataclass
class CounterRow:
    label: str = ""
    text: str = ""
    over: bool = False
    message: str = ""


@dataclasses.dataclass
class MediaRow:
    id: int = 0
    url: str = ""
    is_video: bool = False
    name: str = ""
    info: str = ""
    alt: str = ""


@dataclasses.dataclass
class PartRow:
    index: int = 0
    key: str = ""
    text: str = ""
    label: str = ""
    counter: str = ""
    over: bool = False


@dataclasses.dataclass
class PlatformTab:
    platform: str = ""
    name: str = ""
    key: str = ""
    accounts: str = ""
    has_variant: bool = False
    text: str = ""
    counter: CounterRow = dataclasses.field(default_factory=CounterRow)
    parts: list[PartRow] = dataclasses.field(default_factory=list)
    first_comment: str = ""
    supports_threads: bool = False
    supports_first_comment: bool = False


@dataclasses.dataclass
class PreviewPart:
    label: str = ""
    text: str = ""
    counter: str = ""
    over: bool = False


@dataclasses.dataclass
class PreviewRow:
    account: str = ""
    platform: str = ""
    parts: list[PreviewPart] = dataclasses.field(default_factory=list)
    first_comment: str = ""
    media: int = 0
    problems: list[str] = dataclasses.field(default_factory=list)


def size_label(n: int) -> str:
    return f"{max(1, round(n / 1024))} KB" if n < 1024 * 1024 else f"{n / 1024 / 1024:.1f} MB"


def counter_row(label: str, count: int, limit: int, *, name: str, threads: bool) -> CounterRow:
    over = count > limit
    message = ""
    if over:
        fixes = f"shorten it, write a separate {name} version" + (", or split it into a thread" if threads else "")
        message = f"{label}: {count - limit:,} over the limit of {limit:,} ({name} counts {count:,}). To fix it, {fixes}."
    return CounterRow(label=label, text=f"{count:,} / {limit:,}", over=over, message=message)
