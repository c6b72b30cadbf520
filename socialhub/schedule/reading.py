"""Reading posts: the views the calendar, the list, the post panel and the composer show.

`PostSummary` (a post with its per-account status), `PostDetail` (variants, media, comments,
activity, and what the viewer may do), `list_posts` (filtered, paginated), `list_calendar`
(a time range, with projected occurrences of recurring posts), `calendar_range`, `list_tags`
and `list_activity`. Plain reads: nothing here changes a post (that is `posts.py`). Every
query is scoped by team, and a post id of another team is "not found" (`posts.load_post`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_
from sqlmodel import Session, select

from socialhub.channels import accounts as platform_accounts
from socialhub.channels.models import PlatformAccount
from socialhub.core.errors import ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.media.models import Media
from socialhub.media.uploads import media_url
from socialhub.schedule.content import clean_text
from socialhub.schedule.models import Post, PostActivity, PostComment, PostMedia, PostTarget, PostVariant
from socialhub.schedule.posts import can_edit, load_post
from socialhub.schedule.times import projected_occurrences

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# ---- views ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TargetView:
    id: int
    account_id: int
    platform: str
    platform_name: str
    handle: str
    status: str
    scheduled_at: datetime | None
    published_at: datetime | None
    platform_post_id: str | None
    url: str | None
    last_error: str
    attempts: int


@dataclass(frozen=True)
class PostSummary:
    """A post as the calendar and the list show it (text cut to 280 characters)."""

    id: int
    status: str
    text: str
    scheduled_at: datetime | None
    timezone: str
    tags: tuple[str, ...]
    author_id: int | None
    author_name: str
    targets: tuple[TargetView, ...]
    media_count: int
    recurrence: str | None
    version: int
    updated_at: datetime
    projected: bool = False  # a future occurrence of a recurring post, not created yet


@dataclass(frozen=True)
class VariantView:
    id: int
    scope: str
    platform: str
    account_id: int | None
    text: str
    thread_parts: tuple[str, ...]
    first_comment: str | None


@dataclass(frozen=True)
class MediaView:
    id: int
    url: str
    content_type: str
    kind: str
    width: int | None
    height: int | None
    duration_seconds: float | None
    size_bytes: int
    alt_text: str
    filename: str


@dataclass(frozen=True)
class CommentView:
    id: int
    author_id: int | None
    author_name: str
    kind: str
    body: str
    created_at: datetime


@dataclass(frozen=True)
class ActivityView:
    id: int
    actor_id: int | None
    actor_name: str
    kind: str
    message: str
    target_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class PostDetail:
    """Everything the composer and the post panel show, and what the viewer may do with it."""

    summary: PostSummary
    text: str
    first_comment: str
    variants: tuple[VariantView, ...]
    media: tuple[MediaView, ...]
    comments: tuple[CommentView, ...]
    activity: tuple[ActivityView, ...]
    role: str
    can_edit: bool
    can_approve: bool
    recurrence_every: int | None
    recurrence_unit: str | None
    recurrence_until: datetime | None


@dataclass(frozen=True)
class Page:
    items: tuple[PostSummary, ...]
    total: int
    page: int
    page_size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass
class _Loaded:
    targets: dict[int, list[TargetView]] = field(default_factory=dict)
    authors: dict[int, str] = field(default_factory=dict)
    media_counts: dict[int, int] = field(default_factory=dict)


# ---- reading ----------------------------------------------------------------------------------

def _load(session: Session, posts: list[Post]) -> _Loaded:
    loaded = _Loaded()
    ids = [p.id for p in posts]
    if not ids:
        return loaded
    rows = session.exec(
        select(PostTarget, PlatformAccount).join(PlatformAccount, PlatformAccount.id == PostTarget.account_id)
        .where(PostTarget.post_id.in_(ids)).order_by(PostTarget.id).execution_options(populate_existing=True)
    ).all()
    for target, account in rows:
        loaded.targets.setdefault(target.post_id, []).append(TargetView(
            id=target.id, account_id=account.id, platform=account.platform,
            platform_name=platform_accounts.platform_display_name(account.platform), handle=account.handle,
            status=target.status, scheduled_at=target.scheduled_at, published_at=target.published_at,
            platform_post_id=target.platform_post_id, url=target.url, last_error=target.last_error, attempts=target.attempts,
        ))
    author_ids = {p.author_id for p in posts if p.author_id}
    if author_ids:
        loaded.authors = dict(session.exec(select(User.id, User.name).where(User.id.in_(author_ids))).all())
    loaded.media_counts = dict(session.exec(
        select(PostMedia.post_id, func.count()).where(PostMedia.post_id.in_(ids)).group_by(PostMedia.post_id)).all())
    return loaded


def describe_recurrence(every: int | None, unit: str | None) -> str | None:
    if not every or not unit:
        return None
    return f"every {unit}" if every == 1 else f"every {every} {unit}s"


def _summary(post: Post, loaded: _Loaded, *, projected_at: datetime | None = None) -> PostSummary:
    text = post.text if len(post.text) <= 280 else post.text[:279] + "…"
    targets = tuple(loaded.targets.get(post.id, ()))
    status = post.status
    if projected_at is not None:
        status = "scheduled"
        targets = tuple(TargetView(t.id, t.account_id, t.platform, t.platform_name, t.handle, "pending", projected_at,
                                   None, None, None, "", 0) for t in targets)
    return PostSummary(
        id=post.id, status=status, text=text, scheduled_at=projected_at or post.scheduled_at, timezone=post.timezone,
        tags=tuple(post.tags), author_id=post.author_id, author_name=loaded.authors.get(post.author_id, ""),
        targets=targets, media_count=loaded.media_counts.get(post.id, 0),
        recurrence=describe_recurrence(post.recurrence_every, post.recurrence_unit),
        version=post.version, updated_at=post.updated_at, projected=projected_at is not None,
    )


def summaries(session: Session, posts: list[Post]) -> list[PostSummary]:
    loaded = _load(session, posts)
    return [_summary(p, loaded) for p in posts]


def get_post(session: Session, *, team_id: int, user_id: int, post_id: int) -> PostDetail:
    """The full post: summary with per-account status, variants, media, comments and activity."""
    post, role = load_post(session, team_id=team_id, user_id=user_id, post_id=post_id)
    summary = summaries(session, [post])[0]
    variants = tuple(
        VariantView(v.id, v.scope, v.platform, v.account_id, v.text, tuple(v.thread_parts), v.first_comment)
        for v in session.exec(select(PostVariant).where(PostVariant.post_id == post.id).order_by(PostVariant.id))
    )
    media = tuple(
        MediaView(m.id, media_url(m), m.content_type, m.kind, m.width, m.height, m.duration_seconds, m.size_bytes, m.alt_text, m.filename)
        for m in session.exec(select(Media).join(PostMedia, PostMedia.media_id == Media.id)
                              .where(PostMedia.post_id == post.id).order_by(PostMedia.position))
    )
    names: dict[int, str] = {}

    def name(user_id_: int | None) -> str:
        if user_id_ is None:
            return "SocialHub"
        if user_id_ not in names:
            user = session.get(User, user_id_)
            names[user_id_] = user.name if user else "someone"
        return names[user_id_]

    comments = tuple(
        CommentView(c.id, c.author_id, name(c.author_id), c.kind, c.body, c.created_at)
        for c in session.exec(select(PostComment).where(PostComment.post_id == post.id).order_by(PostComment.id))
    )
    activity = tuple(
        ActivityView(a.id, a.actor_id, name(a.actor_id), a.kind, a.message, a.target_id, a.created_at)
        for a in session.exec(select(PostActivity).where(PostActivity.post_id == post.id).order_by(PostActivity.id.desc()).limit(200))
    )
    return PostDetail(
        summary=summary, text=post.text, first_comment=post.first_comment, variants=variants, media=media,
        comments=comments, activity=activity, role=role, can_edit=can_edit(post, role),
        can_approve=teams.role_at_least(role, "admin") and post.status == "pending_approval",
        recurrence_every=post.recurrence_every, recurrence_unit=post.recurrence_unit, recurrence_until=post.recurrence_until,
    )


def list_activity(session: Session, *, team_id: int, user_id: int, post_id: int, limit: int = 100) -> list[ActivityView]:
    """The post's activity log, newest first."""
    return list(get_post(session, team_id=team_id, user_id=user_id, post_id=post_id).activity[:limit])


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_posts(
    session: Session,
    *,
    team_id: int,
    user_id: int,
    status: str | None = None,
    account_id: int | None = None,
    tag: str | None = None,
    search: str | None = None,
    page: int = 1,
    page_size: int = PAGE_SIZE,
) -> Page:
    """The list view: filtered by status, account, tag and text, newest time first, paginated."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    page = max(1, int(page))
    page_size = max(1, min(int(page_size), MAX_PAGE_SIZE))
    stmt = select(Post).where(Post.team_id == team_id)
    if status:
        stmt = stmt.where(Post.status == status)
    if account_id is not None:
        stmt = stmt.where(Post.id.in_(select(PostTarget.post_id).where(PostTarget.account_id == account_id, PostTarget.team_id == team_id)))
    if tag:
        stmt = stmt.where(Post.tags.contains([tag.strip().lstrip("#").lower()[:50]]))
    if search and search.strip():
        term = f"%{_escape_like(clean_text(search.strip()[:200], what='The search'))}%"
        stmt = stmt.where(or_(Post.text.ilike(term, escape="\\"), Post.first_comment.ilike(term, escape="\\")))
    total = session.exec(select(func.count()).select_from(stmt.subquery())).one()
    order = (func.coalesce(Post.scheduled_at, Post.updated_at).desc(), Post.id.desc())
    posts = list(session.exec(stmt.order_by(*order).offset((page - 1) * page_size).limit(page_size)))
    return Page(tuple(summaries(session, posts)), total, page, page_size)


def calendar_range(view: str, day: date, timezone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of the month, week (Monday first) or day containing `day`, in `timezone`.

    Day boundaries are local midnights, so a day across a DST change is 23 or 25 hours long.
    """
    tz = ZoneInfo(clean_timezone(timezone))
    if view == "day":
        first, last = day, day + timedelta(days=1)
    elif view == "week":
        first = day - timedelta(days=day.weekday())
        last = first + timedelta(days=7)
    elif view == "month":
        first = day.replace(day=1)
        last = (first + timedelta(days=32)).replace(day=1)
    else:
        raise ValidationError("Choose a month, week or day view.")
    start = datetime.combine(first, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    end = datetime.combine(last, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))
    return start, end


def list_calendar(
    session: Session,
    *,
    team_id: int,
    user_id: int,
    start: datetime,
    end: datetime,
    account_id: int | None = None,
    status: str | None = None,
    tag: str | None = None,
    include_projected: bool = True,
) -> list[PostSummary]:
    """Posts with a time in [start, end), oldest first, plus the projected occurrences of
    recurring posts in that range (marked `projected`, not yet created)."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    if end <= start or end - start > timedelta(days=45):
        raise ValidationError("A calendar range must be positive and at most 45 days long.")
    stmt = select(Post).where(Post.team_id == team_id, Post.scheduled_at >= start, Post.scheduled_at < end)
    if account_id is not None:
        stmt = stmt.where(Post.id.in_(select(PostTarget.post_id).where(PostTarget.account_id == account_id)))
    if status:
        stmt = stmt.where(Post.status == status)
    if tag:
        stmt = stmt.where(Post.tags.contains([tag.strip().lstrip("#").lower()[:50]]))
    posts = list(session.exec(stmt.order_by(Post.scheduled_at, Post.id).limit(1000)))
    loaded = _load(session, posts)
    items = [_summary(p, loaded) for p in posts]
    if include_projected and not status:
        series = list(session.exec(select(Post).where(Post.team_id == team_id, Post.recurrence_next_at.is_not(None),
                                                      Post.recurrence_next_at < end)))
        if account_id is not None:
            series = [p for p in series if any(t.account_id == account_id for t in _load(session, [p]).targets.get(p.id, []))]
        loaded_series = _load(session, series)
        for root in series:
            for at in projected_occurrences(root, start=start, end=end):
                items.append(_summary(root, loaded_series, projected_at=at))
        items.sort(key=lambda s: (s.scheduled_at, s.id))
    return items


def list_tags(session: Session, *, team_id: int, user_id: int) -> list[str]:
    """Every tag used in the team, for the filter."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    rows = session.exec(select(func.unnest(Post.tags)).where(Post.team_id == team_id).distinct())
    return sorted(rows)

