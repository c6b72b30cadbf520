"""Posts: create, autosave, duplicate and delete drafts; variants; reading for the calendar and lists.

Scheduling (times, queue, recurrence), approvals, media uploads, validation and the publisher
live in their own modules (`scheduling`, `publishing_approvals`, `publishing_media`,
`publishing_content`, `publisher`); this one owns the post's content and its reading views.

Roles: viewers read; editors write drafts and their posts waiting for approval; admins and
owners change any post that is not being published or already out. Every query is scoped by
team: a post id of another team is "not found".

Every change is logged in the post's activity and announced on the event bus (kind "posts",
to every team member), so open calendars update live.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.media.models import Media
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostActivity, PostComment, PostMedia, PostTarget, PostVariant
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule.hub import timeline
from socialhub.schedule import status as publishing_status
from socialhub.identity import teams
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.schedule.content import MAX_THREAD_PARTS, check_publishable, clean_text, suggest_thread
from socialhub.schedule.times import projected_occurrences
from socialhub.media import uploads
from socialhub.media.uploads import check_team_media, media_url

MAX_TAGS = 20
PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
_TAG_RE = re.compile(r"^[\w-]{1,50}$")
# Who may change a post in which status.
EDITOR_EDITABLE = ("draft", "pending_approval")
ADMIN_EDITABLE = ("draft", "pending_approval", "approved", "scheduled", "missed", "paused", "failed", "cancelled")
IN_FLIGHT_TARGETS = ("publishing", "retrying", "unconfirmed")


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


# ---- helpers ----------------------------------------------------------------------------------

def new_idempotency_key() -> str:
    """A target's idempotency key: random, fixed for the target's life."""
    return "sh-" + secrets.token_hex(12)


def clean_tags(tags) -> list[str]:
    out: list[str] = []
    for raw in tags or ():
        tag = str(raw).strip().lstrip("#").lower()
        if not tag:
            continue
        if not _TAG_RE.match(tag):
            raise ValidationError(f"Tags may use letters, digits, - and _ (at most 50): {tag[:20]!r} does not fit.")
        if tag not in out:
            out.append(tag)
    if len(out) > MAX_TAGS:
        raise ValidationError(f"A post can have at most {MAX_TAGS} tags.")
    return out


def load_post(session: Session, *, team_id: int, user_id: int, post_id: int, minimum: str = "viewer", lock: bool = False) -> tuple[Post, str]:
    """(post, the user's role) after checking membership; NotFound for another team's post."""
    role = teams.require_role(session, team_id=team_id, user_id=user_id, minimum=minimum)
    # Always re-read: another process (the publisher) may have changed it since this session saw it.
    stmt = select(Post).where(Post.id == post_id).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    post = session.exec(stmt).first()
    if post is None or post.team_id != team_id:
        raise NotFound("This post does not exist or belongs to another team.")
    return post, role


def can_edit(post: Post, role: str) -> bool:
    if teams.role_at_least(role, "admin"):
        return post.status in ADMIN_EDITABLE
    if role == "editor":
        return post.status in EDITOR_EDITABLE
    return False


def require_editable(session: Session, post: Post, role: str) -> None:
    if not can_edit(post, role):
        if role == "viewer":
            raise PermissionDenied("Viewers can read posts but not change them.")
        if role == "editor" and post.status in ADMIN_EDITABLE:
            raise PermissionDenied("This post is approved or scheduled; only an admin or owner can change it now.")
        raise ValidationError(f"This post is {post.status.replace('_', ' ')} and can no longer be changed.")
    in_flight = session.exec(select(func.count()).select_from(PostTarget).where(
        PostTarget.post_id == post.id, PostTarget.status.in_(IN_FLIGHT_TARGETS))).one()
    if in_flight:
        raise ValidationError("This post is being published right now; wait until it is done.")


def touch(session: Session, post: Post, *, actor_id: int | None, kind: str, message: str, bump: bool = True) -> None:
    """Bump the version (unless `bump` is False: a comment does not change the post), log the
    change, and announce it to the team."""
    if bump:
        post.version += 1
        post.updated_at = utcnow()
    session.add(post)
    session.flush()
    publishing_status.log_activity(session, post_id=post.id, kind=kind, message=message, actor_id=actor_id)
    publishing_status.announce(session, team_post_ids={post.team_id: [post.id]})


def _set_targets(session: Session, post: Post, accounts: list[PlatformAccount]) -> None:
    existing = {t.account_id: t for t in session.exec(select(PostTarget).where(PostTarget.post_id == post.id))}
    wanted = {a.id for a in accounts}
    for account_id, target in existing.items():
        if account_id in wanted:
            continue
        if target.status in ("published", *IN_FLIGHT_TARGETS):
            raise ValidationError("An account that already published this post cannot be removed from it.")
        session.delete(target)
    waiting = post.status in ("scheduled", "publishing", "paused")
    for account in accounts:
        if account.id in existing:
            continue
        session.add(PostTarget(
            post_id=post.id, team_id=post.team_id, account_id=account.id, idempotency_key=new_idempotency_key(),
            status="pending" if waiting else "draft",
            scheduled_at=post.scheduled_at if waiting else None, due_at=post.scheduled_at if waiting else None,
        ))
    session.flush()


def _set_media(session: Session, post: Post, media: list[Media]) -> None:
    session.execute(delete(PostMedia).where(PostMedia.post_id == post.id))
    session.add_all([PostMedia(post_id=post.id, media_id=m.id, position=i) for i, m in enumerate(media)])
    session.flush()


# ---- writing ----------------------------------------------------------------------------------

def create_post(
    session: Session,
    *,
    team_id: int,
    author_id: int,
    text: str = "",
    account_ids: list[int] | None = None,
    tags: list[str] | tuple[str, ...] = (),
    first_comment: str = "",
    media_ids: list[int] | tuple[int, ...] = (),
    timezone: str | None = None,
) -> Post:
    """A new draft. Without `account_ids` it goes to the team's hub account (the default target)."""
    teams.require_role(session, team_id=team_id, user_id=author_id, minimum="editor")
    author = session.get(User, author_id)
    if account_ids is None:
        account_ids = timeline.default_account_ids(session, team_id=team_id, actor_id=author_id)
    accounts = platform_accounts.team_accounts(session, team_id=team_id, account_ids=list(account_ids))
    media = check_team_media(session, team_id=team_id, media_ids=list(media_ids))
    post = Post(
        team_id=team_id, author_id=author_id, status="draft", text=clean_text(text),
        first_comment=clean_text(first_comment, what="The first comment"), tags=clean_tags(tags),
        timezone=clean_timezone(timezone, author.timezone if author else "UTC"),
    )
    session.add(post)
    session.flush()
    _set_targets(session, post, accounts)
    _set_media(session, post, media)
    publishing_status.log_activity(session, post_id=post.id, kind="created", message="Draft created.", actor_id=author_id)
    publishing_status.announce(session, team_post_ids={team_id: [post.id]})
    return post


def update_post(
    session: Session,
    *,
    team_id: int,
    actor_id: int,
    post_id: int,
    text: str | None = None,
    account_ids: list[int] | None = None,
    tags: list[str] | None = None,
    first_comment: str | None = None,
    media_ids: list[int] | None = None,
    timezone: str | None = None,
    expected_version: int | None = None,
) -> Post:
    """Autosave: change what is given (None leaves a field as it is).

    `expected_version` (the `version` the page loaded) refuses to overwrite someone else's
    newer change. Changing an approved or scheduled post needs an admin, and it must still pass
    every platform's checks.
    """
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if expected_version is not None and expected_version != post.version:
        raise ValidationError("Someone else changed this post since you opened it. Reload to see their version.")
    require_editable(session, post, role)
    changed = []
    if text is not None:
        post.text = clean_text(text)
        changed.append("text")
    if first_comment is not None:
        post.first_comment = clean_text(first_comment, what="The first comment")
        changed.append("first comment")
    if tags is not None:
        post.tags = clean_tags(tags)
        changed.append("tags")
    if timezone is not None:
        post.timezone = clean_timezone(timezone)
        changed.append("time zone")
    if account_ids is not None:
        _set_targets(session, post, platform_accounts.team_accounts(session, team_id=team_id, account_ids=account_ids))
        changed.append("accounts")
    if media_ids is not None:
        _set_media(session, post, check_team_media(session, team_id=team_id, media_ids=media_ids))
        changed.append("media")
    if not changed:
        return post
    touch(session, post, actor_id=actor_id, kind="updated", message=f"Changed {', '.join(changed)}.")
    if post.status in ("approved", "scheduled", "paused"):
        check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    return post


def set_variant(
    session: Session,
    *,
    team_id: int,
    actor_id: int,
    post_id: int,
    text: str,
    platform: str | None = None,
    account_id: int | None = None,
    thread_parts: list[str] | None = None,
    first_comment: str | None = None,
) -> PostVariant:
    """Give one platform (or one account) its own text, thread parts and first comment."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    if account_id is not None:
        account = platform_accounts.get_account(session, team_id=team_id, user_id=actor_id, account_id=account_id)
        platform, scope = account.platform, f"account:{account.id}"
    elif platform:
        if platform not in platform_accounts.ADAPTERS:
            raise ValidationError(f"SocialHub cannot publish to {platform[:20]!r}.")
        scope = f"platform:{platform}"
    else:
        raise ValidationError("Say which platform or account this version is for.")
    parts = [clean_text(p, what="A thread part") for p in (thread_parts or [])]
    if len(parts) + 1 > MAX_THREAD_PARTS:
        raise ValidationError(f"A thread can have at most {MAX_THREAD_PARTS} posts.")
    variant = session.exec(select(PostVariant).where(PostVariant.post_id == post.id, PostVariant.scope == scope)).first()
    if variant is None:
        variant = PostVariant(post_id=post.id, scope=scope, platform=platform, account_id=account_id)
    variant.text = clean_text(text)
    variant.thread_parts = parts
    variant.first_comment = None if first_comment is None else clean_text(first_comment, what="The first comment")
    variant.updated_at = utcnow()
    session.add(variant)
    session.flush()
    touch(session, post, actor_id=actor_id, kind="variant", message=f"Edited the version for {scope.split(':', 1)[1] if platform is None else platform}.")
    return variant


def remove_variant(session: Session, *, team_id: int, actor_id: int, post_id: int, variant_id: int) -> None:
    """Drop a variant: that platform gets the post's own text again."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    variant = session.get(PostVariant, variant_id)
    if variant is None or variant.post_id != post.id:
        raise NotFound("This version does not exist.")
    session.delete(variant)
    touch(session, post, actor_id=actor_id, kind="variant", message=f"Removed the version for {variant.platform}.")


def apply_thread_split(session: Session, *, team_id: int, actor_id: int, post_id: int, platform: str,
                       account_id: int | None = None) -> PostVariant:
    """Split the post's text into a numbered thread and save it as that platform's (or account's) variant."""
    parts = suggest_thread(session, team_id=team_id, user_id=actor_id, post_id=post_id, platform=platform, account_id=account_id)
    if not parts:
        raise ValidationError("There is no text to split.")
    return set_variant(session, team_id=team_id, actor_id=actor_id, post_id=post_id, platform=platform,
                       account_id=account_id, text=parts[0], thread_parts=parts[1:])


def duplicate_post(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    """A new draft with the same text, accounts, variants, media and tags (no time, no history)."""
    post, _ = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor")
    account_ids = list(session.exec(select(PostTarget.account_id).join(PlatformAccount, PlatformAccount.id == PostTarget.account_id)
                                    .where(PostTarget.post_id == post.id, PlatformAccount.status != "disconnected")
                                    .order_by(PostTarget.id)))
    media_ids = list(session.exec(select(PostMedia.media_id).where(PostMedia.post_id == post.id).order_by(PostMedia.position)))
    copy = create_post(session, team_id=team_id, author_id=actor_id, text=post.text, account_ids=account_ids,
                       tags=post.tags, first_comment=post.first_comment, media_ids=media_ids, timezone=post.timezone)
    for variant in session.exec(select(PostVariant).where(PostVariant.post_id == post.id)):
        session.add(PostVariant(post_id=copy.id, scope=variant.scope, platform=variant.platform, account_id=variant.account_id,
                                text=variant.text, thread_parts=list(variant.thread_parts), first_comment=variant.first_comment))
    session.flush()
    publishing_status.log_activity(session, post_id=copy.id, kind="duplicated", message=f"Copied from post #{post.id}.", actor_id=actor_id)
    return copy


def delete_post(session: Session, *, team_id: int, actor_id: int, post_id: int) -> None:
    """Delete a post from SocialHub (what is already on the platforms stays there).

    Editors may delete their own drafts; admins and owners any post not being published.
    """
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if role == "editor" and not (post.author_id == actor_id and post.status in EDITOR_EDITABLE):
        raise PermissionDenied("Editors can delete only their own drafts.")
    in_flight = session.exec(select(func.count()).select_from(PostTarget).where(
        PostTarget.post_id == post.id, PostTarget.status.in_(IN_FLIGHT_TARGETS))).one()
    if in_flight:
        raise ValidationError("This post is being published right now; wait until it is done.")
    team_id, post_id = post.team_id, post.id
    session.delete(post)
    session.flush()
    publishing_status.announce(session, team_post_ids={team_id: [post_id]})


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


def media_in_use(session: Session, media_id: int) -> str | None:
    """Why an upload cannot be deleted: a post that is scheduled or published uses it."""
    in_use = session.exec(
        select(func.count()).select_from(PostMedia)
        .join(Post, Post.id == PostMedia.post_id)
        .where(PostMedia.media_id == media_id, Post.status.not_in(("draft", "cancelled")))
    ).one()
    if in_use:
        return "This file is attached to a post that is scheduled or published; remove it from the post first."
    return None


uploads.on_media_delete(media_in_use)
