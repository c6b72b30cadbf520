"""The contract every platform adapter keeps, and the checks they share.

An adapter is plain Python over httpx: no database, no Reflex. The publisher holds one
`PlatformAdapter` per target and only ever calls the methods below, so adding a platform never
touches the publisher (see `registry.py`).

Contract of `publish`:
- it validates first and raises `ValidationError` without sending anything;
- it is safe to call again with the same `idempotency_key` after an error *other than*
  `UnknownOutcomeError`: what was published is reported in `error.partial` and skipped when the
  caller passes it back as `published_part_ids` (Bluesky and Mastodon also deduplicate on the
  platform side);
- after `UnknownOutcomeError` the caller must call `find_existing` first, and only publish
  again when it returns None (or a result with `complete=False`, passing its ids back).
  `since` is when the first attempt started: adapters that match by text ignore posts created
  before it (minus `CLOCK_SKEW`), so last week's copy of a recurring post is not "found".
"""

from __future__ import annotations

import html
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import ClassVar, Iterable, Sequence

from socialhub.channels.adapters.exceptions import NotSupported, ValidationError
from socialhub.channels.adapters.text import find_urls
from socialhub.channels.adapters.types import (
    AccountCredentials,
    FollowersPage,
    InboxMessage,
    MediaItem,
    OAuthTokens,
    PostMetrics,
    PublishRequest,
    PublishResult,
)

MB = 1024 * 1024
# How far a platform's clock (its `created_at`) may be behind ours when matching by time.
CLOCK_SKEW = timedelta(minutes=2)


@dataclass(frozen=True)
class PlatformLimits:
    """What one post may contain on a platform. `None` means "no known limit"."""

    max_text_length: int
    max_media_count: int = 4
    image_types: frozenset[str] = frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"})
    video_types: frozenset[str] = frozenset({"video/mp4", "video/quicktime"})
    max_image_bytes: int | None = None
    max_video_bytes: int | None = None
    min_aspect_ratio: float | None = None
    max_aspect_ratio: float | None = None
    min_video_duration_seconds: float | None = None
    max_video_duration_seconds: float | None = None
    max_videos_per_post: int = 1
    allows_mixed_media: bool = False
    requires_media: bool = False
    max_alt_text_length: int | None = None
    supports_threads: bool = False
    supports_first_comment: bool = False
    visibilities: frozenset[str] = frozenset({"public"})
    extra: dict[str, int] = field(default_factory=dict)


class PlatformAdapter(ABC):
    """One social platform. Sections in every module: metadata, auth, publishing, media, analytics."""

    name: ClassVar[str]
    display_name: ClassVar[str]
    counts_graphemes: ClassVar[bool] = False
    # True when the platform itself refuses a second copy of the same post (Mastodon key, Bluesky rkey).
    platform_idempotency: ClassVar[bool] = False
    # True when `find_existing` looks for the post by its text in a timeline (which may lag).
    matches_by_text: ClassVar[bool] = False

    # -- metadata -----------------------------------------------------------------------------

    @property
    @abstractmethod
    def limits(self) -> PlatformLimits: ...

    @property
    def max_text_length(self) -> int:
        return self.limits.max_text_length

    def count_text(self, text: str) -> int:
        """Length of `text` the way this platform counts it against `max_text_length`."""
        return len(text)

    def validate(self, post: PublishRequest) -> list[str]:
        """Every way `post` breaks this platform's limits, in words for the composer (empty = fine)."""
        limits = self.limits
        problems: list[str] = []
        parts = post.parts
        if len(parts) > 1 and not limits.supports_threads:
            problems.append(f"{self.display_name} does not support threads")
        if post.first_comment and not limits.supports_first_comment:
            problems.append(f"{self.display_name} does not support a first comment")
        if post.visibility not in limits.visibilities:
            problems.append(f"{self.display_name} cannot publish with visibility {post.visibility!r}")
        for index, part in enumerate(parts):
            where = f"part {index + 1}: " if len(parts) > 1 else ""
            length = self.count_text(part.text)
            if length > limits.max_text_length:
                problems.append(f"{where}text is {length} characters; {self.display_name} allows {limits.max_text_length}")
            if not part.text.strip() and not part.media:
                problems.append(f"{where}nothing to post")
            problems.extend(where + p for p in check_media(part.media, limits, self.display_name))
        if post.first_comment is not None and self.count_text(post.first_comment) > limits.max_text_length:
            problems.append(f"first comment is longer than {limits.max_text_length} characters")
        return problems

    def check(self, post: PublishRequest) -> None:
        """Raise `ValidationError` listing every problem of `post`."""
        problems = self.validate(post)
        if problems:
            raise ValidationError(problems, platform=self.name)

    # -- auth ---------------------------------------------------------------------------------

    @abstractmethod
    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """New tokens for `account`; raises `AuthError` when it must reconnect."""

    # -- publishing ---------------------------------------------------------------------------

    @abstractmethod
    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        """Publish `post` (and its thread and first comment) as `account`."""

    @abstractmethod
    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        """Delete a post this account published."""

    @abstractmethod
    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        """The post if an earlier attempt did publish it (used after `UnknownOutcomeError`).

        `since`: when the first attempt that may have reached the platform started. Posts created
        before `since - CLOCK_SKEW` are never a match (None: no time window).
        """

    # -- analytics / inbox (the analytics issue implements these) -----------------------------

    def fetch_metrics(self, account: AccountCredentials, platform_post_ids: Sequence[str]) -> dict[str, PostMetrics]:
        raise NotSupported(f"{self.display_name}: post metrics are not implemented yet", platform=self.name)

    def fetch_followers(self, account: AccountCredentials, cursor: str | None = None) -> FollowersPage:
        raise NotSupported(f"{self.display_name}: followers are not implemented yet", platform=self.name)

    def fetch_inbox(self, account: AccountCredentials, since: datetime | None = None) -> list[InboxMessage]:
        raise NotSupported(f"{self.display_name}: the inbox is not implemented yet", platform=self.name)

    # -- lifecycle ----------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP client if the adapter created it."""
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def check_media(media: Sequence[MediaItem], limits: PlatformLimits, platform: str) -> list[str]:
    """Problems of one post's media against `limits`."""
    problems: list[str] = []
    if limits.requires_media and not media:
        problems.append(f"{platform} posts need at least one image or video")
    if len(media) > limits.max_media_count:
        problems.append(f"{len(media)} media files; {platform} allows {limits.max_media_count}")
    videos = [m for m in media if m.kind == "video"]
    if len(videos) > limits.max_videos_per_post:
        problems.append(f"{platform} allows {limits.max_videos_per_post} video(s) per post")
    if videos and len(videos) < len(media) and not limits.allows_mixed_media:
        problems.append(f"{platform} cannot mix videos with images in one post")
    for number, item in enumerate(media, start=1):
        label = f"media {number} ({item.filename or item.content_type})"
        allowed = limits.video_types if item.kind == "video" else limits.image_types
        if item.content_type not in allowed:
            kinds = ", ".join(sorted(allowed)) or "none"
            problems.append(f"{label}: {platform} does not accept {item.content_type} (accepted: {kinds})")
            continue
        size = item.size
        max_bytes = limits.max_video_bytes if item.kind == "video" else limits.max_image_bytes
        if size is not None and max_bytes is not None and size > max_bytes:
            problems.append(f"{label}: {size / MB:.1f} MB; {platform} allows {max_bytes / MB:.0f} MB")
        ratio = item.aspect_ratio
        if ratio is not None:
            if limits.min_aspect_ratio is not None and ratio < limits.min_aspect_ratio - 1e-3:
                problems.append(f"{label}: aspect ratio {ratio:.2f} is narrower than {platform}'s {limits.min_aspect_ratio:.2f}")
            if limits.max_aspect_ratio is not None and ratio > limits.max_aspect_ratio + 1e-3:
                problems.append(f"{label}: aspect ratio {ratio:.2f} is wider than {platform}'s {limits.max_aspect_ratio:.2f}")
        if item.kind == "video" and item.duration_seconds is not None:
            if limits.max_video_duration_seconds and item.duration_seconds > limits.max_video_duration_seconds:
                problems.append(f"{label}: {item.duration_seconds:.0f} s; {platform} allows {limits.max_video_duration_seconds:.0f} s")
            if limits.min_video_duration_seconds and item.duration_seconds < limits.min_video_duration_seconds:
                problems.append(f"{label}: shorter than {platform}'s {limits.min_video_duration_seconds:.0f} s minimum")
        if limits.max_alt_text_length is not None and len(item.alt_text) > limits.max_alt_text_length:
            problems.append(f"{label}: alt text longer than {limits.max_alt_text_length} characters")
    return problems


# ---------------------------------------------------------------------------------------------
# Finding a post again by its text (platforms without an idempotency key)
# ---------------------------------------------------------------------------------------------

_TAG = re.compile(r"<[^>]+>")
_BLOCK_END = re.compile(r"</p>|<br\s*/?>", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
_REMOTE_MENTION = re.compile(r"(?<![\w/])@(\w+(?:[\w.\-]*\w)?)@[\w.\-]+\w")
_URL_MARK = "\u2063url\u2063"


def normalize_for_match(text: str, *, html_content: bool = False) -> str:
    """`text` reduced to what survives a platform's rendering, for comparing posts.

    Links become a placeholder (X rewrites them to t.co, Mastodon shortens their display),
    remote mentions lose their server, HTML is stripped and entities unescaped, white space is
    collapsed.
    """
    if html_content:
        text = _TAG.sub("", _BLOCK_END.sub(" ", text))
    text = html.unescape(text)
    pieces: list[str] = []
    position = 0
    for url in find_urls(text):
        pieces.append(text[position : url.start])
        pieces.append(_URL_MARK)
        position = url.end
    pieces.append(text[position:])
    text = _REMOTE_MENTION.sub(lambda m: "@" + m.group(1), "".join(pieces))
    return _SPACE.sub(" ", text).strip()


def texts_match(published: str, wanted: str, *, html_content: bool = False, trailing_link_ok: bool = False) -> bool:
    """True when a published text is the text we sent (see `normalize_for_match`).

    `trailing_link_ok` accepts one extra link at the end (X appends the media link to the text).
    """
    got = normalize_for_match(published, html_content=html_content)
    want = normalize_for_match(wanted)
    if got == want:
        return True
    return trailing_link_ok and got == f"{want} {_URL_MARK}".strip()


@dataclass(frozen=True)
class TimelineEntry:
    """A post as a timeline lists it, for `match_thread`."""

    id: str
    text: str
    reply_to: str | None = None
    url: str | None = None
    created_at: datetime | None = None  # None: the timeline did not say


def parse_platform_time(value: object) -> datetime | None:
    """A timeline's creation time as an aware datetime: ISO 8601 (`Z`, `+0000`, `+00:00`) or
    epoch milliseconds (LinkedIn). None when missing or unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, (int, float)):
            return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        elif re.search(r"[+-]\d{4}$", text):
            text = f"{text[:-2]}:{text[-2:]}"
        parsed = datetime.fromisoformat(text)
    except (ValueError, OverflowError, OSError):
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def created_since(entries: Iterable[TimelineEntry], since: datetime | None, *, skew: timedelta = CLOCK_SKEW) -> list[TimelineEntry]:
    """The entries that may come from an attempt started at `since`: created at or after
    `since - skew`. Entries without a creation time are kept (nothing says they are older)."""
    entries = list(entries)
    if since is None:
        return entries
    if since.tzinfo is None:
        since = since.replace(tzinfo=timezone.utc)
    cutoff = since - skew
    return [e for e in entries if e.created_at is None or e.created_at >= cutoff]


def match_thread(
    entries: Iterable[TimelineEntry],
    texts: Sequence[str],
    *,
    html_content: bool = False,
    trailing_link_ok: bool = False,
    since: datetime | None = None,
) -> list[TimelineEntry]:
    """The longest chain of `entries` whose texts are `texts` in order, each replying to the last.

    Returns [] when the first text is not found. Newest entries should come first (the usual
    timeline order) so that the most recent copy wins. With `since`, entries created before
    `since - CLOCK_SKEW` never match (an older post with the same text is not this one).
    """
    entries = created_since(entries, since)

    def same(entry: TimelineEntry, text: str) -> bool:
        return texts_match(entry.text, text, html_content=html_content, trailing_link_ok=trailing_link_ok)

    roots = [e for e in entries if same(e, texts[0])]
    if not roots:
        return []
    chain = [roots[0]]
    for text in texts[1:]:
        following = [e for e in entries if e.reply_to == chain[-1].id and same(e, text)]
        if not following:
            break
        chain.append(following[0])
    return chain
