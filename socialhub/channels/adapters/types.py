"""Plain data passed to and returned by platform adapters.

Everything here is a frozen dataclass with no I/O, so the publishing service can build a
request from database rows, hand it to any adapter, and store the result without either side
knowing about the other. Datetimes are always timezone-aware UTC.

What a platform sent is cleaned where it enters these types (`text.clean_*`: no NUL or control
characters, capped lengths), so no adapter can hand on a hostile server's raw strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Callable, Literal, Mapping

from socialhub.channels.adapters.text import clean_id, clean_message, clean_name, clean_text, clean_url

Visibility = Literal["public", "unlisted", "followers", "direct"]
MediaKind = Literal["image", "gif", "video"]


@dataclass(frozen=True)
class AccountCredentials:
    """What an adapter needs to act as one connected account.

    `account_id` is the platform's own id for the account: a DID on Bluesky, the numeric user
    id on X and Mastodon, a `urn:li:person:…`/`urn:li:organization:…` on LinkedIn, the
    Threads/Instagram user id, or the Facebook Page id. `base_url` is the account's own server
    where that matters (a Mastodon instance, a Bluesky PDS); `None` means the adapter default.
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    base_url: str | None = None
    account_id: str | None = None
    handle: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def expires_within(self, seconds: float, *, now: datetime | None = None) -> bool:
        """True when the access token expires in less than `seconds` (False if it never does)."""
        if self.expires_at is None:
            return False
        now = now or datetime.now(UTC)
        return self.expires_at - now < timedelta(seconds=seconds)

    def with_tokens(self, tokens: OAuthTokens) -> AccountCredentials:
        """These credentials after a refresh; fields the platform did not return are kept."""
        return replace(
            self,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token or self.refresh_token,
            expires_at=tokens.expires_at,
            account_id=tokens.account_id or self.account_id,
            handle=tokens.handle or self.handle,
            base_url=tokens.base_url or self.base_url,
        )


@dataclass(frozen=True)
class MediaItem:
    """One image or video to attach.

    Bytes come either inline (`data`) or from `loader`, called at most when an adapter uploads
    (so a post with a large video does not sit in memory while it waits). Platforms that fetch
    media themselves (Threads, Instagram) need a public URL: `url`, or the request's
    `media_url_for`. `key` is the storage key, a stable name for `media_url_for` to use.
    """

    content_type: str
    data: bytes | None = field(default=None, repr=False)
    loader: Callable[[], bytes] | None = field(default=None, repr=False, compare=False)
    alt_text: str = ""
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    size_bytes: int | None = None
    filename: str | None = None
    url: str | None = None
    key: str | None = None

    def read(self) -> bytes:
        """The media's bytes, from `data` or `loader`."""
        if self.data is not None:
            return self.data
        if self.loader is not None:
            return self.loader()
        raise ValueError(f"media {self.filename or self.key or ''!r} has neither data nor loader")

    @property
    def kind(self) -> MediaKind:
        if self.content_type == "image/gif":
            return "gif"
        if self.content_type.startswith("video/"):
            return "video"
        return "image"

    @property
    def size(self) -> int | None:
        """Size in bytes when known without loading."""
        if self.size_bytes is not None:
            return self.size_bytes
        return len(self.data) if self.data is not None else None

    @property
    def aspect_ratio(self) -> float | None:
        """Width divided by height, when both are known."""
        if self.width and self.height:
            return self.width / self.height
        return None

    @property
    def upload_name(self) -> str:
        """A file name for multipart uploads."""
        if self.filename:
            return self.filename
        extension = self.content_type.split("/")[-1].replace("jpeg", "jpg").replace("quicktime", "mov")
        return f"media.{extension}"


@dataclass(frozen=True)
class ThreadPart:
    """One post of a thread after the first: its text and its own media."""

    text: str
    media: tuple[MediaItem, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", tuple(self.media))


@dataclass(frozen=True)
class PublishRequest:
    """One post for one platform account, as the platform should receive it.

    `idempotency_key` must be the same on every attempt for the same post target: adapters derive
    platform-side idempotency from it (the Mastodon `Idempotency-Key`, the Bluesky record key).
    `thread` holds the parts after the first. `reply_to` is a platform post id to answer.
    `first_comment` is posted by the same account under the post once it is out.
    `published_part_ids` are ids of parts an earlier attempt already published (from
    `PlatformError.partial` or `find_existing`): publishing continues after them instead of
    posting them again. `options` carries platform-specific settings (documented per adapter).
    `scheduled_at` is the post's scheduled time, the same on every attempt (never the retry
    time): Bluesky derives its record keys from it.
    """

    text: str
    idempotency_key: str
    media: tuple[MediaItem, ...] = ()
    thread: tuple[ThreadPart, ...] = ()
    reply_to: str | None = None
    first_comment: str | None = None
    visibility: Visibility = "public"
    language: str | None = None
    media_url_for: Callable[[MediaItem], str] | None = field(default=None, repr=False, compare=False)
    published_part_ids: tuple[str, ...] = ()
    options: Mapping[str, Any] = field(default_factory=dict)
    scheduled_at: datetime | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "media", tuple(self.media))
        object.__setattr__(self, "thread", tuple(self.thread))
        object.__setattr__(self, "published_part_ids", tuple(self.published_part_ids))

    @property
    def parts(self) -> tuple[ThreadPart, ...]:
        """Every post of the thread in order, the first one included."""
        return (ThreadPart(self.text, self.media), *self.thread)

    def part_key(self, index: int) -> str:
        """The idempotency key of part `index` (the first part uses the key itself)."""
        return self.idempotency_key if index == 0 else f"{self.idempotency_key}#{index}"


@dataclass(frozen=True)
class PublishResult:
    """Where a post ended up.

    `thread_post_ids` lists every published part in order, the first included. `complete` is
    False when `find_existing` found only some parts of a thread. `already_existed` is True when
    the post was found on the platform rather than created by this call (a retry after an
    unknown outcome). `warnings` are problems that did not stop the post, e.g. a first comment
    that failed after the post itself went out.
    """

    platform_post_id: str
    url: str | None = None
    thread_post_ids: tuple[str, ...] = ()
    first_comment_id: str | None = None
    already_existed: bool = False
    complete: bool = True
    warnings: tuple[str, ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, platform_post_id=clean_id(self.platform_post_id), url=clean_url(self.url),
             thread_post_ids=tuple(clean_id(i) for i in self.thread_post_ids),
             first_comment_id=clean_id(self.first_comment_id), warnings=tuple(clean_message(w) for w in self.warnings))


@dataclass(frozen=True)
class OAuthTokens:
    """Tokens from a login, a code exchange or a refresh.

    A refresh that does not return a new refresh token means the old one stays valid:
    `AccountCredentials.with_tokens` keeps it.
    """

    access_token: str
    refresh_token: str | None = None
    expires_at: datetime | None = None
    scope: str | None = None
    token_type: str = "Bearer"
    account_id: str | None = None
    handle: str | None = None
    base_url: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, account_id=clean_id(self.account_id), handle=clean_name(self.handle),
             base_url=clean_url(self.base_url) if self.base_url else None)

    def to_credentials(self) -> AccountCredentials:
        return AccountCredentials(
            access_token=self.access_token,
            refresh_token=self.refresh_token,
            expires_at=self.expires_at,
            base_url=self.base_url,
            account_id=self.account_id,
            handle=self.handle,
        )


@dataclass(frozen=True)
class OAuthApp:
    """A client registered with a server that issues per-server clients (Mastodon)."""

    client_id: str
    client_secret: str
    redirect_uri: str
    scopes: str
    base_url: str


@dataclass(frozen=True)
class AuthorizationStart:
    """Where to send the browser to connect an account, and what to keep until the callback."""

    url: str
    state: str
    code_verifier: str | None = None


@dataclass(frozen=True)
class PostMetrics:
    """Counters of one published post (the analytics issue fills these in)."""

    platform_post_id: str
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    impressions: int | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _set(self, platform_post_id=clean_id(self.platform_post_id))


@dataclass(frozen=True)
class Follower:
    platform_user_id: str
    handle: str | None = None
    display_name: str | None = None

    def __post_init__(self) -> None:
        _set(self, platform_user_id=clean_id(self.platform_user_id), handle=clean_name(self.handle),
             display_name=clean_name(self.display_name))


@dataclass(frozen=True)
class FollowersPage:
    followers: tuple[Follower, ...]
    next_cursor: str | None = None
    total: int | None = None


@dataclass(frozen=True)
class InboxMessage:
    platform_message_id: str
    author_id: str
    text: str
    received_at: datetime
    in_reply_to: str | None = None
    kind: Literal["comment", "mention", "direct"] = "comment"

    def __post_init__(self) -> None:
        _set(self, platform_message_id=clean_id(self.platform_message_id), author_id=clean_id(self.author_id),
             text=clean_text(self.text, MESSAGE_TEXT_MAX), in_reply_to=clean_id(self.in_reply_to))


MESSAGE_TEXT_MAX = 10_000


def _set(instance: object, **values: Any) -> None:
    """Replace fields of a frozen dataclass (in `__post_init__`)."""
    for name, value in values.items():
        object.__setattr__(instance, name, value)
