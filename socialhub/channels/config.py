"""Channel settings from the environment: request timeout, token refresh margin, and
SocialHub's own app on each platform (OAuth client id and secret) and endpoint overrides,
read from the environment: `<PREFIX>_CLIENT_ID`, `_CLIENT_SECRET`, `_API_URL`, `_AUTHORIZE_URL`,
`_OAUTH_URL`, `_WEB_URL`.
"""

from __future__ import annotations

import os


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _float(name: str, default: float) -> float:
    try:
        return float(_env(name, str(default)))
    except ValueError:
        return default


def http_timeout_seconds() -> float:
    """`PUBLISH_HTTP_TIMEOUT_SECONDS`: how long a platform request may take (default 30)."""
    return _float("PUBLISH_HTTP_TIMEOUT_SECONDS", 30.0)


def http_total_seconds() -> float:
    """`PUBLISH_HTTP_TOTAL_SECONDS`: the overall deadline of one platform request, from connect to
    the last byte (default 120: a large video upload is one request)."""
    return _float("PUBLISH_HTTP_TOTAL_SECONDS", 120.0)


def token_refresh_margin_minutes() -> float:
    """`TOKEN_REFRESH_MARGIN_MINUTES`: tokens expiring within this are refreshed (default 15)."""
    return _float("TOKEN_REFRESH_MARGIN_MINUTES", 15.0)


def http_connections() -> int:
    """Connections of the shared adapter client: twice `PUBLISH_CONCURRENCY` (default 8)."""
    try:
        return 2 * max(1, int(_env("PUBLISH_CONCURRENCY", "8")))
    except ValueError:
        return 16

# Environment prefix per platform for `<PREFIX>_CLIENT_ID`, `<PREFIX>_CLIENT_SECRET`, `<PREFIX>_API_URL`.
_PREFIX = {
    "x": "X",
    "linkedin": "LINKEDIN",
    "threads": "THREADS",
    "instagram": "INSTAGRAM",
    "facebook": "FACEBOOK",
    "mastodon": "MASTODON",
    "bluesky": "BLUESKY",
}


def client_credentials(platform: str) -> tuple[str | None, str | None]:
    """(client id, client secret) of SocialHub's app on `platform`, from the environment."""
    prefix = _PREFIX.get(platform)
    if prefix is None:
        return None, None
    return _env(f"{prefix}_CLIENT_ID") or None, _env(f"{prefix}_CLIENT_SECRET") or None


def endpoint_overrides(platform: str) -> dict[str, str]:
    """Adapter URL options set in the environment (self-hosted gateways, local test servers).

    `<PREFIX>_API_URL` → `base_url`; `<PREFIX>_AUTHORIZE_URL` → `authorize_url`;
    `<PREFIX>_OAUTH_URL` → `oauth_base_url`; `<PREFIX>_WEB_URL` → `web_url`.
    """
    prefix = _PREFIX.get(platform)
    if prefix is None:
        return {}
    names = {"API_URL": "base_url", "AUTHORIZE_URL": "authorize_url", "OAUTH_URL": "oauth_base_url", "WEB_URL": "web_url"}
    return {option: _env(f"{prefix}_{suffix}") for suffix, option in names.items() if _env(f"{prefix}_{suffix}")}
