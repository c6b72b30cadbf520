"""What the Meta Graph API adapters share (Threads, Instagram, Facebook Pages).

Graph errors arrive as `{"error": {"message", "type", "code", "error_subcode",
"error_user_title", "error_user_msg", "is_transient", "fbtrace_id"}}`, usually with HTTP 400
whatever the cause, so the code decides:

- 190 (and 102): the token is invalid or expired → `AuthError`;
- 10 and 200-299: a permission is missing → `AuthError` (refreshing will not help; reconnect);
- 4, 17, 32, 613, 80001-80014: throttled → `RateLimitError`, the wait taken from
  `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, minutes) or Retry-After;
- subcode 2207042 (Instagram's 25 posts a day): `RateLimitError`;
- media subcodes 2207xxx: `MediaRejectedError` with a sentence a person understands, or a
  retryable error for the ones Meta documents as temporary;
- 1, 2 or `is_transient`: retryable.

Threads and Instagram fetch media themselves from a public URL: `MediaItem.url`, else the
request's `media_url_for`, else the adapter's.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

import httpx

from socialhub.channels.adapters.base import PlatformAdapter
from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    PlatformError,
    RateLimitError,
    ValidationError,
)
from socialhub.channels.adapters.http import ApiClient, response_json, retry_after_seconds
from socialhub.channels.adapters.oauth import oauth_error_message
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest

RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
AUTH_CODES = frozenset({102, 190, 10, *range(200, 300)})
TRANSIENT_CODES = frozenset({1, 2})
PUBLISHING_LIMIT_SUBCODE = 2207042

# Media error subcodes (Instagram documents them; Threads uses the same family).
MEDIA_ERRORS: dict[int, str] = {
    2207004: "The image is too large. Use an image under 8 MB.",
    2207005: "The image format is not supported. Use a JPEG.",
    2207009: "The aspect ratio is not supported. Feed images must be between 4:5 and 1.91:1.",
    2207010: "The caption is too long, or has too many hashtags or mentions.",
    2207023: "The media type is not recognised.",
    2207026: "The video format is not supported. Use an MP4 (H.264, AAC).",
    2207028: "The carousel could not be created; check that every item is a supported image or video.",
    2207052: "The media could not be downloaded from its URL. It must be a public https URL "
    "that returns the file directly (no login, no redirect to a page).",
    2207057: "The video thumbnail offset is not valid.",
    2207006: "The media could not be found; it may have been deleted before publishing.",
    2207050: "The account is restricted or inactive; open the app to check it.",
    2207051: "Instagram blocked this post as suspicious.",
}
RETRYABLE_MEDIA_ERRORS: dict[int, str] = {
    2207001: "Instagram had a server error; trying again.",
    2207003: "Downloading the media took too long; trying again.",
    2207008: "Temporary error while publishing; trying again.",
    2207020: "The media container expired before it was published; creating it again.",
    2207027: "The media is not ready yet; trying again.",
    2207032: "Creating the media failed; trying again.",
    2207053: "An unknown upload error occurred; trying again.",
}
_NOT_MEDIA_SUBCODES = frozenset({2207010, 2207050, 2207051, 2207006})
_SUBCODE_IN_TEXT = re.compile(r"\b(2207\d{3})\b")


def _graph_error(response: httpx.Response) -> dict[str, Any]:
    body = response_json(response)
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def graph_error_message(response: httpx.Response) -> str | None:
    error = _graph_error(response)
    if not error:
        return oauth_error_message(response)
    title, user_message = error.get("error_user_title"), error.get("error_user_msg")
    if user_message:
        return f"{title}: {user_message}" if title else user_message
    return error.get("message")


def _regain_access_seconds(headers: httpx.Headers) -> float | None:
    raw = headers.get("x-business-use-case-usage")
    if raw:
        try:
            usage = json.loads(raw)
        except ValueError:
            usage = {}
        minutes = [
            entry.get("estimated_time_to_regain_access")
            for entries in usage.values()
            for entry in (entries if isinstance(entries, list) else [])
            if isinstance(entry, dict) and entry.get("estimated_time_to_regain_access") is not None
        ]
        if minutes:
            return max(float(m) for m in minutes) * 60
    return retry_after_seconds(headers)


def media_error_for(subcode: int | None, fallback: str) -> PlatformError | None:
    """The error a 2207xxx media subcode stands for, or None if it is not one."""
    if subcode is None:
        return None
    if subcode in RETRYABLE_MEDIA_ERRORS:
        return PlatformError(RETRYABLE_MEDIA_ERRORS[subcode], True, code=subcode)
    if subcode in _NOT_MEDIA_SUBCODES:
        return PlatformError(MEDIA_ERRORS[subcode], False, code=subcode)
    if subcode in MEDIA_ERRORS:
        return MediaRejectedError(MEDIA_ERRORS[subcode], code=subcode)
    if 2207000 <= subcode <= 2207999:
        return MediaRejectedError(fallback, code=subcode)
    return None


def classify_graph_error(response: httpx.Response, message: str) -> PlatformError | None:
    error = _graph_error(response)
    if not error:
        return None
    code = error.get("code")
    subcode = error.get("error_subcode")
    if code in AUTH_CODES:
        return AuthError(message, code=code)
    if code in RATE_LIMIT_CODES or subcode == PUBLISHING_LIMIT_SUBCODE:
        return RateLimitError(message, _regain_access_seconds(response.headers), code=subcode or code)
    media = media_error_for(subcode, message)
    if media is not None:
        return media
    if code in TRANSIENT_CODES or error.get("is_transient") or response.status_code >= 500:
        return PlatformError(message, True, code=code)
    if response.status_code == 429:
        return RateLimitError(message, _regain_access_seconds(response.headers), code=code)
    return PlatformError(message, False, code=code)


class GraphAdapter(PlatformAdapter):
    """Base for Graph API platforms: one `_request`, token handling, container polling."""

    matches_by_text = True  # find_existing looks for the text among the latest posts
    default_base_url: str
    default_api_version: str

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_version: str | None = None,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        media_url_for: Callable[[MediaItem], str] | None = None,
        poll_interval: float = 2.0,
        poll_timeout: float = 300.0,
    ) -> None:
        self.base_url = (base_url or self.default_base_url).rstrip("/")
        self.api_version = api_version or self.default_api_version
        self.client_id = client_id
        self.client_secret = client_secret
        self.media_url_for = media_url_for
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self._http = ApiClient(
            platform=self.name,
            base_url=self.base_url,
            client=client,
            timeout=timeout,
            extract_message=graph_error_message,
            classify=classify_graph_error,
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        token: str | None,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        versioned: bool = True,
        base_url: str | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Every Graph call: versioned path, the token in an `Authorization: Bearer` header.

        Never as an `access_token` query parameter: URLs end up in access logs and proxies.
        """
        path = f"/{self.api_version}/{path.lstrip('/')}" if versioned else f"/{path.lstrip('/')}"
        params = dict(params or {})
        params.pop("access_token", None)
        if token:
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token}"}
        return self._http.request(method, path, base_url=base_url, params=params or None, data=data, **kwargs)

    def _user_id(self, account: AccountCredentials) -> str:
        if not account.account_id:
            raise AuthError(f"the {self.display_name} account has no user id stored; reconnect it", platform=self.name)
        return account.account_id

    def _media_url(self, post: PublishRequest, item: MediaItem) -> str:
        url = item.url
        if not url:
            resolver = post.media_url_for or self.media_url_for
            url = resolver(item) if resolver else None
        if not url:
            raise ValidationError(f"{self.display_name} needs a public URL for each media file", platform=self.name)
        return url

    def _wait_for_container(self, container_id: str, token: str, *, fields: str, status_of: Callable[[dict[str, Any]], tuple[str, str | None]]) -> None:
        """Poll a media container until FINISHED; ERROR or EXPIRED raise."""
        deadline = time.monotonic() + self.poll_timeout
        while True:
            body = self._request("GET", container_id, token=token, params={"fields": fields}).json()
            status, detail = status_of(body)
            if status in ("FINISHED", "PUBLISHED"):
                return
            if status == "ERROR":
                raise self._container_error(detail)
            if status == "EXPIRED":
                raise PlatformError(f"the {self.display_name} media container expired before publishing", True, platform=self.name)
            if time.monotonic() > deadline:
                raise PlatformError(f"{self.display_name} was still processing the media after {self.poll_timeout:.0f} s", True, platform=self.name)
            time.sleep(self.poll_interval)

    def _container_error(self, detail: str | None) -> PlatformError:
        detail = detail or "unknown error"
        match = _SUBCODE_IN_TEXT.search(detail)
        known = media_error_for(int(match.group(1)), detail) if match else None
        error = known or MediaRejectedError(f"{self.display_name} could not process the media: {detail}")
        error.platform = self.name
        return error
