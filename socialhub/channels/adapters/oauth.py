"""Small OAuth helpers shared by the adapters: PKCE, state, expiry times, token responses."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any, Mapping

import httpx

from socialhub.channels.adapters.exceptions import AuthError, PlatformError
from socialhub.channels.adapters.http import response_json
from socialhub.channels.adapters.types import OAuthTokens

# OAuth error codes from a token endpoint that mean "this grant is dead": reconnect.
_DEAD_GRANT_ERRORS = frozenset({"invalid_grant", "invalid_token", "unauthorized_client", "invalid_client"})


def new_state() -> str:
    """An unguessable `state` value to tie the callback to the browser that started it."""
    return secrets.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """A PKCE (code_verifier, S256 code_challenge) pair (RFC 7636)."""
    verifier = secrets.token_urlsafe(64)[:96]
    return verifier, pkce_challenge(verifier)


def pkce_challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def expires_at_from(expires_in: Any, *, now: datetime | None = None) -> datetime | None:
    """An aware UTC expiry from an `expires_in` number of seconds (None if absent)."""
    if expires_in in (None, ""):
        return None
    return (now or datetime.now(UTC)) + timedelta(seconds=float(expires_in))


def jwt_expiry(token: str) -> datetime | None:
    """The `exp` of a JWT, read without verifying it (we only schedule refreshes with it)."""
    try:
        payload = token.split(".")[1]
        payload += "=" * (-len(payload) % 4)
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
    except (IndexError, ValueError, AttributeError):
        return None
    return datetime.fromtimestamp(exp, UTC) if isinstance(exp, (int, float)) else None


def tokens_from(body: Mapping[str, Any], *, previous_refresh_token: str | None = None, **extra: Any) -> OAuthTokens:
    """OAuthTokens from a standard token response (`access_token`, `expires_in`, …)."""
    return OAuthTokens(
        access_token=body["access_token"],
        refresh_token=body.get("refresh_token") or previous_refresh_token,
        expires_at=expires_at_from(body.get("expires_in")),
        scope=body.get("scope"),
        token_type=str(body.get("token_type") or "Bearer"),
        **extra,
    )


def oauth_error_message(response: httpx.Response) -> str | None:
    """The message of an RFC 6749 error body (`error`, `error_description`)."""
    body = response_json(response)
    if isinstance(body, dict) and isinstance(body.get("error"), str):
        description = body.get("error_description")
        return f"{body['error']}: {description}" if description else body["error"]
    return None


def classify_token_error(response: httpx.Response, message: str) -> PlatformError | None:
    """A token endpoint refusing the grant means the account must reconnect."""
    body = response_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    if response.status_code in (400, 401) and error in _DEAD_GRANT_ERRORS:
        return AuthError(message, code=error)
    return None
