"""Posts: create, autosave, duplicate and delete drafts; per-platform variants; who may change
a post in which status.

Reading posts (summaries, the post panel, the list, the calendar) is `reading.py`; scheduling
(times, queue, recurrence) is `timing.py`, approvals `approvals.py`, validation and previews
`content.py`, and publishing `publisher/`. This module owns the post's content: its text, tags,
accounts (targets), media and variants, and the access rules the other modules check with
(`load_post`, `can_edit`, `require_editable`).

Roles: viewers read; editors write drafts and their posts waiting for approval; admins and
owners change any post that is not being published or already out. Every query is scoped by
team: a post id of another team is "not found".

Every change is logged in the post's activity and announced on the event bus (kind "posts",
to every team member), so open calendars update live.
"""

from __future__ import annotations

import re
import secrets

from sqlalchemy import delete, func
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.media.models import Media
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostMedia, PostTarget, PostVariant
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule.hub import timeline
from socialhub.schedule import status
from socialhub.identity import teams
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.schedule.content import MAX_THREAD_PARTS, check_publishable, clean_text, suggest_thread
from socialhub.media import uploads
from socialhub.media.uploads import check_team_media

MAX_TAGS = 20
_TAG_RE = re.compile(r"^[\w-]{1,50}$")
# Who may change a post in which status.
EDITOR_EDITABLE = ("draft", "pending_approval")
ADMIN_EDITABLE = ("draft", "pending_approval", "approved", "scheduled", "missed", "paused", "failed", "cancelled")
IN_FLIGHT_TARGETS = ("publishing", "retrying", "unconfirmed")


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
    status.log_activity(session, post_id=post.id, kind=kind, message=message, actor_id=actor_id)
    status.announce(session, team_post_ids={post.team_id: [post.id]})


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
    status.log_activity(session, post_id=post.id, kind="created", message="Draft created.", actor_id=author_id)
    status.announce(session, team_post_ids={team_id: [post.id]})
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
    status.log_activity(session, post_id=copy.id, kind="duplicated", message=f"Copied from post #{post.id}.", actor_id=actor_id)
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
    status.announce(session, team_post_ids={team_id: [post_id]})


# ---- uploads ----------------------------------------------------------------------------------

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
