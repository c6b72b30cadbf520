"""The errors every platform adapter raises, and what the caller should do about each.

| error | meaning | the publisher should |
| --- | --- | --- |
| `RateLimitError` | the platform said "slow down" | retry after `retry_after_seconds` (or its own backoff) |
| `AuthError` | token rejected or expired | refresh once and retry; if `refresh_token` itself raises `AuthError`, mark the account "needs reconnect" |
| `MediaRejectedError` | the platform refused a media file | fail the target, show `message` to the user |
| `UnknownOutcomeError` | the request was sent but no answer came | mark the target `unconfirmed`, call `find_existing` before any retry |
| `ValidationError` | the post breaks the platform's limits (checked before sending) | fail the target, show `problems` |
| `NotSupported` | the platform (or this adapter) cannot do that | do not retry |
| `PlatformError` | anything else; `retryable` says whether a retry can help | retry with backoff only if `retryable` |

`partial` is set when a thread failed part-way: the parts listed there are already published
and should be passed back as `PublishRequest.published_part_ids` on the next attempt.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from socialhub.channels.adapters.text import clean_id, clean_message

if TYPE_CHECKING:
    from socialhub.channels.adapters.types import PublishResult


class PlatformError(Exception):
    """A platform call failed; `retryable` says whether trying again can help."""

    default_retryable = False

    def __init__(
        self,
        message: str,
        retryable: bool | None = None,
        *,
        platform: str | None = None,
        status_code: int | None = None,
        code: str | int | None = None,
        partial: PublishResult | None = None,
    ) -> None:
        message = clean_message(message)  # often the platform's own words: any server can send anything
        super().__init__(message)
        self.message = message
        self.retryable = self.default_retryable if retryable is None else retryable
        self.platform = platform
        self.status_code = status_code
        self.code = clean_id(code) if isinstance(code, str) else code
        self.partial = partial

    def __str__(self) -> str:
        prefix = f"{self.platform}: " if self.platform else ""
        return f"{prefix}{self.message}"


class RateLimitError(PlatformError):
    """429 or the platform's own throttling code; wait `retry_after_seconds` when known."""

    default_retryable = True

    def __init__(self, message: str, retry_after_seconds: float | None = None, **kwargs) -> None:
        super().__init__(message, True, **kwargs)
        self.retry_after_seconds = retry_after_seconds


class AuthError(PlatformError):
    """The token was rejected (401, expired, revoked). Refresh it and retry once."""


class MediaRejectedError(PlatformError):
    """The platform refused a media file; `message` says why in words a person understands."""


class UnknownOutcomeError(PlatformError):
    """The request left us but no answer came back: the post may exist.

    Never retry blindly: call the adapter's `find_existing` first.
    """


class NotSupported(PlatformError):
    """The platform, or this adapter so far, cannot do this."""


class ValidationError(PlatformError):
    """The post does not fit the platform's limits; nothing was sent."""

    def __init__(self, problems: list[str] | tuple[str, ...] | str, **kwargs) -> None:
        self.problems = tuple(clean_message(p) for p in ((problems,) if isinstance(problems, str) else problems))
        super().__init__("; ".join(self.problems), False, **kwargs)
