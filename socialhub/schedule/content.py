"""What a post sends to each account: variants, threads, media, counting and validation.

The same `build_request` serves the composer (previews, validation before scheduling) and the
publisher (the real request), so what people see checked is what goes out.

Content of a target, most specific first: the variant for its account, the variant for its
platform, the post itself. A variant may be a thread (`thread_parts`, the posts after the
first); media are attached to the first post; the first comment comes from the variant when
it sets one, else from the post.

Counting and limits come from the platform adapters (`count_text`, `limits`, `validate`), so
Bluesky counts graphemes, X weights characters and counts links as 23, and Mastodon uses the
instance's own limit once it is known.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from sqlmodel import Session, select

from socialhub.channels import accounts as platform_accounts
from socialhub.channels.adapters import (
    MediaItem,
    PlatformAdapter,
    PublishRequest,
    ThreadPart,
)
from socialhub.channels.adapters.registry import ADAPTERS
from socialhub.channels.models import PlatformAccount
from socialhub.core.errors import NotFound, ValidationError
from socialhub.identity import teams
from socialhub.media.models import Media
from socialhub.schedule.models import Post, PostMedia, PostTarget, PostVariant

MAX_TEXT_CHARS = 100_000  # far above any platform; stops a pasted book or a 10 MB payload early
MAX_THREAD_PARTS = 50
NUMBERING = " {i}/{n}"
_BREAKS = ("\n\n", "\n", ". ", "! ", "? ", "; ", ", ")


@dataclass(frozen=True)
class Content:
    text: str
    thread_parts: tuple[str, ...]
    first_comment: str


@dataclass(frozen=True)
class PartPreview:
    text: str
    count: int
    limit: int

    @property
    def over(self) -> bool:
        return self.count > self.limit


@dataclass(frozen=True)
class TargetPreview:
    """One account's view of the post: its parts with live counts, and every problem."""

    account_id: int
    platform: str
    platform_name: str
    handle: str
    parts: tuple[PartPreview, ...]
    first_comment: str
    media_ids: tuple[int, ...]
    problems: tuple[str, ...]


@dataclass(frozen=True)
class Counter:
    """A live counter for the composer: `count` of `limit`, counted the platform's way."""

    account_id: int | None
    platform: str
    count: int
    limit: int

    @property
    def remaining(self) -> int:
        return self.limit - self.count


# ---- cleaning input ---------------------------------------------------------------------------

def clean_text(value: str | None, *, what: str = "The text", limit: int = MAX_TEXT_CHARS) -> str:
    """Normalise line ends and refuse what no platform could take (NUL, absurd lengths)."""
    value = (value or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(value) > limit:
        raise ValidationError(f"{what} is too long: {len(value):,} characters; a post can hold at most {limit:,}.")
    if "\x00" in value:
        raise ValidationError(f"{what} contains an invisible NUL character. Remove it and try again.")
    return value


# ---- counting ---------------------------------------------------------------------------------

@lru_cache(maxsize=32)
def _counting_adapter(platform: str) -> PlatformAdapter:
    options = platform_accounts.adapter_options(None, platform)
    if platform == "mastodon":
        options.setdefault("base_url", "https://mastodon.invalid")
    return ADAPTERS[platform](**options)


def count_for(platform: str, text: str, *, account: PlatformAccount | None = None) -> tuple[int, int]:
    """(count, limit) of `text` for a platform, or for one account when its server's limits are known."""
    if platform not in ADAPTERS:
        raise ValidationError(f"SocialHub cannot publish to {platform!r}.")
    adapter = platform_accounts.adapter_for(account) if account is not None else _counting_adapter(platform)
    return adapter.count_text(text), adapter.limits.max_text_length


def composer_counters(accounts: Sequence[platform_accounts.AccountView], text: str) -> list[Counter]:
    """Counters for the composer, without touching the database (call on every keystroke)."""
    text = clean_text(text)
    out = []
    for account in accounts:
        count, limit = count_for(account.platform, text)
        out.append(Counter(account.id, account.platform, count, account.max_text_length or limit))
    return out


# ---- threads ------------------------------------------------------------------------------------

def split_thread(text: str, *, limit: int, count: Callable[[str], int] = len, numbering: bool = True) -> list[str]:
    """Split `text` into posts of at most `limit` (as `count` measures), numbered " 1/3" when asked.

    Breaks at paragraph, line, sentence or clause ends when one is in the second half of a
    post, else between words; a single word longer than a post is cut. Text that fits is
    returned whole and unnumbered.
    """
    text = text.strip()
    if count(text) <= limit:
        return [text] if text else []
    guess = 2
    for _ in range(4):  # the numbering's width depends on the number of parts: settle it
        suffix_room = count(NUMBERING.format(i=guess, n=guess)) if numbering else 0
        budget = limit - suffix_room
        if budget < 10:
            raise ValidationError("The limit is too small to split this text into a thread.")
        parts = _pack(text, budget, count)
        if len(str(len(parts))) <= len(str(guess)):
            break
        guess = len(parts)
    if len(parts) > MAX_THREAD_PARTS:
        raise ValidationError(f"This text would need {len(parts)} posts; a thread can have at most {MAX_THREAD_PARTS}.")
    if numbering:
        n = len(parts)
        parts = [p + NUMBERING.format(i=i, n=n) for i, p in enumerate(parts, start=1)]
    return parts


def _pack(text: str, budget: int, count: Callable[[str], int]) -> list[str]:
    tokens = re.findall(r"\S+\s*", text)
    parts: list[str] = []
    current = ""
    for token in tokens:
        candidate = current + token
        if count(candidate.rstrip()) <= budget:
            current = candidate
            continue
        if current:
            head, tail = _break_point(current)
            parts.append(head.rstrip())
            current = tail
            if count((current + token).rstrip()) <= budget:
                current += token
                continue
            if current.strip():
                parts.append(current.rstrip())
            current = ""
        while count(token.rstrip()) > budget:  # one word longer than a post
            piece = _longest_prefix(token, budget, count)
            parts.append(piece)
            token = token[len(piece):]
        current = token
    if current.strip():
        parts.append(current.rstrip())
    return [p.strip() for p in parts if p.strip()]


def _break_point(chunk: str) -> tuple[str, str]:
    """Split a full chunk at its last natural break in the second half (else keep it whole)."""
    half = len(chunk) // 2
    stripped = chunk.rstrip()
    for mark in _BREAKS:
        at = stripped.rfind(mark, half)
        if at != -1 and at + len(mark) < len(stripped):
            cut = at + len(mark)
            return chunk[:cut], chunk[cut:].lstrip(" ")
    return chunk, ""


def _longest_prefix(token: str, budget: int, count: Callable[[str], int]) -> str:
    from socialhub.channels.adapters.text import graphemes

    out = ""
    for cluster in graphemes(token):
        if count(out + cluster) > budget:
            break
        out += cluster
    return out or token[:1]


# ---- building requests ----------------------------------------------------------------------------

def resolve_content(post: Post, variants: dict[str, PostVariant], account: PlatformAccount) -> Content:
    """The text, thread and first comment `account` gets (account variant > platform variant > post)."""
    variant = variants.get(f"account:{account.id}") or variants.get(f"platform:{account.platform}")
    if variant is None:
        return Content(post.text, (), post.first_comment)
    first_comment = variant.first_comment if variant.first_comment is not None else post.first_comment
    return Content(variant.text, tuple(p for p in variant.thread_parts if p.strip()), first_comment)


def media_item(media: Media, *, with_loader: bool = True) -> MediaItem:
    """A `MediaItem` for an adapter; bytes are read from storage only when it uploads."""
    loader = None
    if with_loader:
        from socialhub.core.storage import get_storage

        key = media.storage_key
        loader = lambda: get_storage().get(key)  # noqa: E731
    return MediaItem(
        content_type=media.content_type, loader=loader, alt_text=media.alt_text, width=media.width,
        height=media.height, duration_seconds=media.duration_seconds, size_bytes=media.size_bytes,
        filename=media.filename or None, key=media.storage_key,
    )


def public_media_url(item: MediaItem) -> str:
    """An absolute URL a platform can fetch the file from (Threads and Instagram need one)."""
    from socialhub.core.config import get_settings
    from socialhub.core.storage import get_storage

    url = get_storage().url(item.key or "")
    return url if url.startswith(("http://", "https://")) else f"{get_settings().public_url}{url}"


def build_request(*, idempotency_key: str, content: Content, media: Sequence[MediaItem],
                  scheduled_at: datetime | None = None) -> PublishRequest:
    """What the adapter is asked to publish; `scheduled_at` orders record keys (Bluesky TIDs)."""
    return PublishRequest(
        scheduled_at=scheduled_at,
        text=content.text,
        idempotency_key=idempotency_key,
        media=tuple(media),
        thread=tuple(ThreadPart(text) for text in content.thread_parts),
        first_comment=content.first_comment or None,
        media_url_for=public_media_url,
    )


def load_post_parts(session: Session, post: Post) -> tuple[dict[str, PostVariant], list[Media], list[tuple[PostTarget, PlatformAccount]]]:
    """Everything about a post that `build_request` needs: variants, media in order, targets."""
    variants = {v.scope: v for v in session.exec(select(PostVariant).where(PostVariant.post_id == post.id))}
    media = list(session.exec(
        select(Media).join(PostMedia, PostMedia.media_id == Media.id).where(PostMedia.post_id == post.id).order_by(PostMedia.position)
    ))
    targets = list(session.exec(
        select(PostTarget, PlatformAccount).join(PlatformAccount, PlatformAccount.id == PostTarget.account_id)
        .where(PostTarget.post_id == post.id).order_by(PostTarget.id)
    ))
    return variants, media, [(t, a) for t, a in targets]


# ---- validation and preview ---------------------------------------------------------------------

def _problems(adapter: PlatformAdapter, request: PublishRequest) -> list[str]:
    problems = list(adapter.validate(request))
    if not request.text.strip() and not request.media:
        problems.insert(0, "write something or add an image or video")
    return list(dict.fromkeys(problems))


def preview_post(session: Session, *, team_id: int, user_id: int, post_id: int) -> list[TargetPreview]:
    """Per account: the parts it will publish (with counts against its limit) and every problem."""
    post = _get_post(session, team_id=team_id, user_id=user_id, post_id=post_id)
    variants, media, targets = load_post_parts(session, post)
    items = [media_item(m, with_loader=False) for m in media]
    out = []
    for target, account in targets:
        if target.status == "cancelled":
            continue
        adapter = platform_accounts.adapter_for(account, session=session)
        content = resolve_content(post, variants, account)
        request = build_request(idempotency_key=target.idempotency_key, content=content, media=items,
                                scheduled_at=target.scheduled_at)
        limit = adapter.limits.max_text_length
        parts = tuple(PartPreview(p.text, adapter.count_text(p.text), limit) for p in request.parts)
        problems = [] if account.status == "ok" else [f"the account needs to be reconnected ({account.status_detail})"]
        problems += _problems(adapter, request)
        out.append(TargetPreview(
            account_id=account.id, platform=account.platform, platform_name=adapter.display_name, handle=account.handle,
            parts=parts, first_comment=content.first_comment, media_ids=tuple(m.id for m in media), problems=tuple(problems),
        ))
    return out


def validate_post(session: Session, *, team_id: int, user_id: int, post_id: int) -> dict[int, list[str]]:
    """Problems per account id (only accounts with problems are listed; empty: ready to schedule)."""
    return {p.account_id: list(p.problems) for p in preview_post(session, team_id=team_id, user_id=user_id, post_id=post_id) if p.problems}


def check_publishable(session: Session, *, team_id: int, user_id: int, post_id: int) -> None:
    """Raise a ValidationError listing, per account, everything that would stop the post."""
    previews = preview_post(session, team_id=team_id, user_id=user_id, post_id=post_id)
    if not previews:
        raise ValidationError("Choose at least one account to publish to.")
    lines = [f"{p.platform_name} {p.handle}: {'; '.join(p.problems)}" for p in previews if p.problems]
    if lines:
        raise ValidationError("Fix these before scheduling — " + " | ".join(lines))


def suggest_thread(session: Session, *, team_id: int, user_id: int, post_id: int, platform: str,
                   account_id: int | None = None) -> list[str]:
    """The post's text split into a numbered thread for a platform (or one account), not saved.

    For a platform, the parts fit the smallest limit among the post's accounts on it.
    """
    post = _get_post(session, team_id=team_id, user_id=user_id, post_id=post_id)
    account = None
    if account_id is not None:
        account = platform_accounts.get_account(session, team_id=team_id, user_id=user_id, account_id=account_id)
        platform = account.platform
    else:  # a platform variant must fit the strictest of the post's accounts on that platform
        accounts = [a for _, a in load_post_parts(session, post)[2] if a.platform == platform]
        if accounts:
            account = min(accounts, key=lambda a: platform_accounts.limits_for(a).max_text_length)
    adapter = platform_accounts.adapter_for(account) if account is not None else _counting_adapter(platform)
    if not adapter.limits.supports_threads:
        raise ValidationError(f"{adapter.display_name} does not support threads.")
    return split_thread(post.text, limit=adapter.limits.max_text_length, count=adapter.count_text)


def _get_post(session: Session, *, team_id: int, user_id: int, post_id: int) -> Post:
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    post = session.get(Post, post_id)
    if post is None or post.team_id != team_id:
        raise NotFound("This post does not exist or belongs to another team.")
    return post
