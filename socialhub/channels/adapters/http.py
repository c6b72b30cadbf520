"""The one way adapters talk HTTP: send a request, turn every failure into a platform error.

Mapping (the same for every platform; an adapter can override it for its own error codes
through `classify`):

| what happened | error |
| --- | --- |
| the address is not allowed (`core.egress` refused it: private, local, reserved) | `PlatformError(egress.REFUSED, retryable=False, code=REFUSED_CODE)`: nothing was sent |
| could not connect (ConnectError, ConnectTimeout, PoolTimeout) | `PlatformError(retryable=True)`: nothing was sent |
| sent, no answer (ReadTimeout, WriteTimeout, connection dropped) on POST/PATCH | `UnknownOutcomeError` |
| the same on GET/HEAD/PUT/DELETE (safe to repeat) | `PlatformError(retryable=True)` |
| 429 | `RateLimitError`, `retry_after_seconds` from Retry-After, x-rate-limit-reset (X), ratelimit-reset (Bluesky) or X-RateLimit-Reset (Mastodon, ISO time) |
| 401 | `AuthError` |
| 408, 5xx | `PlatformError(retryable=True)` |
| other 4xx | `PlatformError(retryable=False)` with the platform's own message |

Every request goes through `core.egress` (the client given, which `channels.accounts` makes with
`egress.client`, or one made here), so an instance or PDS address naming a private network
is refused before any connection. Platform words in errors are cleaned by `PlatformError`.
"""

from __future__ import annotations

import email.utils
import json
from datetime import UTC, datetime
from typing import Any, Callable, Mapping

import httpx

from socialhub.core import egress

from socialhub.channels.adapters.text import clean_id
from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
)

DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
# Methods whose repetition cannot create anything twice: a lost answer is just a retry.
_REPEATABLE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
_RESET_HEADERS = ("x-rate-limit-reset", "ratelimit-reset", "x-ratelimit-reset")
REFUSED_CODE = "address_refused"  # `PlatformError.code` of an egress refusal

MessageExtractor = Callable[[httpx.Response], str | None]
CodeExtractor = Callable[[httpx.Response], str | int | None]
Classifier = Callable[[httpx.Response, str], PlatformError | None]


def response_json(response: httpx.Response) -> Any:
    """The body as JSON, or None when it is not JSON."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        return None


def retry_after_seconds(headers: Mapping[str, str], *, now: datetime | None = None) -> float | None:
    """Seconds to wait according to whichever rate-limit header the platform sent."""
    now = now or datetime.now(UTC)
    value = headers.get("retry-after")
    if value:
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            when = None
        if when is not None:
            return max(0.0, (when - now).total_seconds())
    for name in _RESET_HEADERS:
        value = headers.get(name)
        if not value:
            continue
        value = value.strip()
        if value.replace(".", "", 1).isdigit():
            number = float(value)
            # an epoch timestamp (X, Bluesky) or, from some servers, a number of seconds
            return max(0.0, number - now.timestamp()) if number > 1_000_000_000 else number
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return max(0.0, (when - now).total_seconds())
    return None


class ApiClient:
    """Sends requests for one adapter and raises the error table above.

    `extract_message` pulls the human message out of the platform's error body;
    `classify` may return a more specific error (e.g. a Graph API code 190 on a 400 is an
    `AuthError`) or None to fall back to the status-code mapping.
    """

    def __init__(
        self,
        *,
        platform: str,
        base_url: str,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        extract_message: MessageExtractor | None = None,
        classify: Classifier | None = None,
        extract_code: CodeExtractor | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self._owns_client = client is None
        self._client = client or egress.client(timeout=timeout or DEFAULT_TIMEOUT)
        self._extract_message = extract_message or (lambda response: None)
        self._classify = classify
        self._extract_code = extract_code or (lambda response: None)
        self._headers = dict(headers or {})

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def url(self, path: str, base_url: str | None = None) -> str:
        if path.startswith(("http://", "https://")):
            return path
        return f"{(base_url or self.base_url).rstrip('/')}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        base_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Send and return the successful response, or raise the mapped `PlatformError`."""
        method = method.upper()
        url = _parsed(self.url(path, base_url))
        merged_headers = {**self._headers, **(headers or {})} if self._headers else headers
        try:
            response = self._client.request(method, url, headers=merged_headers, **kwargs)
        except httpx.ConnectError as exc:
            if egress.is_refusal(exc):
                raise PlatformError(egress.REFUSED, False, platform=self.platform, code=REFUSED_CODE) from exc
            raise PlatformError(
                f"could not reach {self.platform} ({type(exc).__name__}); nothing was sent",
                True,
                platform=self.platform,
            ) from exc
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise PlatformError(
                f"could not reach {self.platform} ({type(exc).__name__}); nothing was sent",
                True,
                platform=self.platform,
            ) from exc
        except (httpx.TimeoutException, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            if method in _REPEATABLE_METHODS:
                raise PlatformError(
                    f"{self.platform} did not answer {method} {path} ({type(exc).__name__})",
                    True,
                    platform=self.platform,
                ) from exc
            raise UnknownOutcomeError(
                f"{self.platform} did not answer {method} {path} after it was sent "
                f"({type(exc).__name__}); it may or may not have been applied",
                platform=self.platform,
            ) from exc
        except httpx.HTTPError as exc:
            raise PlatformError(f"{self.platform} request failed: {exc}", False, platform=self.platform) from exc
        except httpx.InvalidURL as exc:
            raise PlatformError(f"not a valid {self.platform} address: {exc}", False, platform=self.platform) from exc
        if response.is_success:
            return response
        raise self.error_for(response)

    def error_for(self, response: httpx.Response) -> PlatformError:
        """The error a failed response stands for."""
        status = response.status_code
        message = self._extract_message(response) or _fallback_message(response)
        code = self._extract_code(response)
        if isinstance(code, str):
            code = clean_id(code)
        if self._classify is not None:
            specific = self._classify(response, message)
            if specific is not None:
                specific.platform = specific.platform or self.platform
                specific.status_code = specific.status_code or status
                specific.code = specific.code if specific.code is not None else code
                return specific
        common = {"platform": self.platform, "status_code": status, "code": code}
        if status == 429:
            return RateLimitError(message, retry_after_seconds(response.headers), **common)
        if status == 401:
            return AuthError(message, **common)
        if status == 408 or status >= 500:
            return PlatformError(message, True, **common)
        return PlatformError(message, False, **common)


_URLS: dict[str, httpx.URL] = {}
_URLS_MAX = 512


def _parsed(url: str) -> httpx.URL:
    """`url` parsed once: an adapter calls the same few endpoints again and again, and httpx
    parses a string URL character by character on every request (a sixth of its CPU here)."""
    parsed = _URLS.get(url)
    if parsed is None:
        if len(_URLS) >= _URLS_MAX:
            _URLS.clear()
        parsed = _URLS[url] = httpx.URL(url)
    return parsed


def _fallback_message(response: httpx.Response) -> str:
    text = response.text.strip()
    if text.startswith("<"):
        text = ""  # an HTML error page says nothing useful in a toast
    reason = response.reason_phrase or "error"
    return f"HTTP {response.status_code} {reason}" + (f": {text[:200]}" if text else "")
