"""Platform adapters: one `PlatformAdapter` per social network, written with plain httpx.

This package knows nothing about the database or Reflex. The publisher gets an adapter with
`get_adapter(name, ...)`, builds a `PublishRequest` and handles the errors in `exceptions`.

Files: `types.py` (data in and out), `exceptions.py` (what can go wrong and what to do),
`base.py` (the protocol, limits, shared checks), `text.py` (counting like each platform),
`http.py` (the one HTTP path and its error mapping), `oauth.py`, `graph.py` (shared by the
Meta platforms), one module per platform, and `registry.py`.
"""

from socialhub.channels.adapters.base import PlatformAdapter, PlatformLimits
from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    NotSupported,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.registry import ADAPTERS, get_adapter, register_adapter
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
    ThreadPart,
)

__all__ = [
    "ADAPTERS",
    "AccountCredentials",
    "AuthError",
    "MediaItem",
    "MediaRejectedError",
    "NotSupported",
    "OAuthTokens",
    "PlatformAdapter",
    "PlatformError",
    "PlatformLimits",
    "PublishRequest",
    "PublishResult",
    "RateLimitError",
    "ThreadPart",
    "UnknownOutcomeError",
    "ValidationError",
    "get_adapter",
    "register_adapter",
]
