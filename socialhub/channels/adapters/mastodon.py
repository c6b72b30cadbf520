"""Mastodon (any instance), through its REST API.

Idempotency: every status is posted with an `Idempotency-Key` header derived from the post's
idempotency key; Mastodon answers a repeat with the status it already created (for an hour).
`find_existing` looks through the account's recent statuses by text, for checks made later.

Limits differ per instance: `fetch_instance_limits` reads them from GET /api/v2/instance; pass
them back as `MastodonAdapter(limits=…)` (the service caches them per instance).
"""

from __future__ import annotations

from datetime import datetime

import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

import httpx

from socialhub.channels.adapters.base import match_thread, MB, parse_platform_time, PlatformAdapter, PlatformLimits, TimelineEntry
from socialhub.channels.adapters.exceptions import AuthError, MediaRejectedError, PlatformError
from socialhub.channels.adapters.http import ApiClient, response_json
from socialhub.channels.adapters.oauth import classify_token_error, new_state, pkce_pair, tokens_from
from socialhub.channels.adapters.text import count_mastodon
from socialhub.channels.adapters.types import (
    AccountCredentials,
    AuthorizationStart,
    MediaItem,
    OAuthApp,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)

DEFAULT_SCOPES = "read write"
_VISIBILITY = {"public": "public", "unlisted": "unlisted", "followers": "private", "direct": "direct"}
_IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif", "image/avif"})
_VIDEO_TYPES = frozenset({"video/mp4", "video/quicktime", "video/webm"})


def _error_message(response: httpx.Response) -> str | None:
    body = response_json(response)
    if isinstance(body, dict):
        error = body.get("error")
        description = body.get("error_description")
        if isinstance(error, str):
            return f"{error}: {description}" if description and description != error else error
    return None


def default_limits(max_characters: int = 500, *, url_length: int = 23) -> PlatformLimits:
    """Mastodon's stock limits (what a default instance configures)."""
    return PlatformLimits(
        max_text_length=max_characters,
        max_media_count=4,
        image_types=_IMAGE_TYPES,
        video_types=_VIDEO_TYPES,
        max_image_bytes=16 * MB,
        max_video_bytes=99 * MB,
        max_alt_text_length=1500,
        supports_threads=True,
        supports_first_comment=True,
        visibilities=frozenset(_VISIBILITY),
        extra={"characters_reserved_per_url": url_length},
    )


class MastodonAdapter(PlatformAdapter):
    """One Mastodon instance (`base_url`; an account's own `base_url` wins).

    `client_id`/`client_secret` are this instance's registered app (see `register_app`).
    """

    # -- metadata -----------------------------------------------------------------------------

    name = "mastodon"
    matches_by_text = True  # find_existing looks for the text in the account's timeline
    display_name = "Mastodon"
    counts_graphemes = True
    platform_idempotency = True

    def __init__(
        self,
        *,
        base_url: str,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        max_characters: int = 500,
        limits: PlatformLimits | None = None,
        poll_interval: float = 1.0,
        poll_timeout: float = 120.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self._limits = limits or default_limits(max_characters)
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self._http = ApiClient(
            platform=self.name,
            base_url=self.base_url,
            client=client,
            timeout=timeout,
            extract_message=_error_message,
            classify=classify_token_error,
        )

    @property
    def limits(self) -> PlatformLimits:
        return self._limits

    def count_text(self, text: str) -> int:
        return count_mastodon(text, url_length=self._limits.extra.get("characters_reserved_per_url", 23))

    def fetch_instance_limits(self) -> PlatformLimits:
        """This instance's limits from GET /api/v2/instance (`configuration`)."""
        body = self._request("GET", "/api/v2/instance").json()
        configuration = body.get("configuration") or {}
        statuses = configuration.get("statuses") or {}
        attachments = configuration.get("media_attachments") or {}
        stock = default_limits(
            int(statuses.get("max_characters") or 500),
            url_length=int(statuses.get("characters_reserved_per_url") or 23),
        )
        mime_types = frozenset(attachments.get("supported_mime_types") or ())
        return PlatformLimits(
            max_text_length=stock.max_text_length,
            max_media_count=int(statuses.get("max_media_attachments") or stock.max_media_count),
            image_types=frozenset(t for t in mime_types if t.startswith("image/")) or stock.image_types,
            video_types=frozenset(t for t in mime_types if t.startswith("video/")) or stock.video_types,
            max_image_bytes=attachments.get("image_size_limit") or stock.max_image_bytes,
            max_video_bytes=attachments.get("video_size_limit") or stock.max_video_bytes,
            max_alt_text_length=attachments.get("description_limit") or stock.max_alt_text_length,
            supports_threads=True,
            supports_first_comment=True,
            visibilities=stock.visibilities,
            extra=dict(stock.extra),
        )

    def _request(
        self,
        method: str,
        path: str,
        *,
        account: AccountCredentials | None = None,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Every API call: at the account's instance, with its bearer token."""
        headers = dict(headers or {})
        if account is not None:
            headers["Authorization"] = f"Bearer {account.access_token}"
        base = base_url or (account.base_url if account is not None and account.base_url else self.base_url)
        return self._http.request(method, path, base_url=base, headers=headers, **kwargs)

    # -- auth ---------------------------------------------------------------------------------

    def register_app(
        self, *, client_name: str, redirect_uri: str, scopes: str = DEFAULT_SCOPES, website: str | None = None
    ) -> OAuthApp:
        """Register SocialHub as an app on this instance (POST /api/v1/apps), once per instance."""
        payload = {"client_name": client_name, "redirect_uris": redirect_uri, "scopes": scopes}
        if website:
            payload["website"] = website
        body = self._request("POST", "/api/v1/apps", data=payload).json()
        self.client_id, self.client_secret = body["client_id"], body["client_secret"]
        return OAuthApp(body["client_id"], body["client_secret"], redirect_uri, scopes, self.base_url)

    def authorization_url(self, *, redirect_uri: str, state: str, scopes: str = DEFAULT_SCOPES, code_challenge: str | None = None) -> str:
        params = {
            "response_type": "code",
            "client_id": self._require_client_id(),
            "redirect_uri": redirect_uri,
            "scope": scopes,
            "state": state,
        }
        if code_challenge:
            params.update(code_challenge=code_challenge, code_challenge_method="S256")
        return f"{self.base_url}/oauth/authorize?{urlencode(params)}"

    def start_authorization(self, *, redirect_uri: str, scopes: str = DEFAULT_SCOPES) -> AuthorizationStart:
        verifier, challenge = pkce_pair()
        state = new_state()
        url = self.authorization_url(redirect_uri=redirect_uri, state=state, scopes=scopes, code_challenge=challenge)
        return AuthorizationStart(url, state, verifier)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str | None = None, scopes: str = DEFAULT_SCOPES) -> OAuthTokens:
        """Trade the callback's code for a token (POST /oauth/token) and look up the account."""
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "client_id": self._require_client_id(),
            "client_secret": self.client_secret or "",
            "redirect_uri": redirect_uri,
            "scope": scopes,
        }
        if code_verifier:
            form["code_verifier"] = code_verifier
        body = self._request("POST", "/oauth/token", data=form).json()
        tokens = tokens_from(body, base_url=self.base_url)
        me = self.verify_credentials(tokens.to_credentials())
        return replace(tokens, account_id=str(me["id"]), handle=me.get("acct"))

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Mastodon tokens do not expire; only instances that issue refresh tokens can refresh."""
        if not account.refresh_token:
            raise AuthError(
                "Mastodon tokens cannot be refreshed; the token was revoked, reconnect the account",
                platform=self.name,
            )
        body = self._request(
            "POST",
            "/oauth/token",
            base_url=account.base_url or self.base_url,
            data={
                "grant_type": "refresh_token",
                "refresh_token": account.refresh_token,
                "client_id": self._require_client_id(),
                "client_secret": self.client_secret or "",
            },
        ).json()
        return tokens_from(body, previous_refresh_token=account.refresh_token, base_url=account.base_url or self.base_url)

    def verify_credentials(self, account: AccountCredentials) -> dict[str, Any]:
        """The account behind a token (GET /api/v1/accounts/verify_credentials)."""
        return self._request("GET", "/api/v1/accounts/verify_credentials", account=account).json()

    def _require_client_id(self) -> str:
        if not self.client_id:
            raise PlatformError("register the app on this instance first (register_app)", False, platform=self.name)
        return self.client_id

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        done = list(post.published_part_ids)
        statuses: list[dict[str, Any]] = []
        parent = done[-1] if done else post.reply_to
        try:
            for index, part in enumerate(post.parts):
                if index < len(done):
                    continue
                status = self._post_status(
                    account, text=part.text, media=part.media, key=post.part_key(index),
                    reply_to=parent, visibility=post.visibility, language=post.language,
                )
                statuses.append(status)
                done.append(str(status["id"]))
                parent = str(status["id"])
        except PlatformError as exc:
            if done and exc.partial is None:
                exc.partial = PublishResult(platform_post_id=done[0], thread_post_ids=tuple(done), complete=False)
            raise
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment = self._post_status(
                    account, text=post.first_comment, media=(), key=f"{post.idempotency_key}#comment",
                    reply_to=done[0], visibility=post.visibility, language=post.language,
                )
                comment_id = str(comment["id"])
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        first_url = statuses[0].get("url") if statuses and str(statuses[0]["id"]) == done[0] else None
        return PublishResult(
            platform_post_id=done[0],
            url=first_url or self._status_url(account, done[0]),
            thread_post_ids=tuple(done),
            first_comment_id=comment_id,
            warnings=tuple(warnings),
        )

    def _post_status(
        self,
        account: AccountCredentials,
        *,
        text: str,
        media: tuple[MediaItem, ...],
        key: str,
        reply_to: str | None,
        visibility: str,
        language: str | None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"status": text, "visibility": _VISIBILITY[visibility]}
        if media:
            payload["media_ids"] = [self.upload_media(account, item) for item in media]
        if reply_to:
            payload["in_reply_to_id"] = reply_to
        if language:
            payload["language"] = language
        return self._request(
            "POST", "/api/v1/statuses", account=account, json=payload, headers={"Idempotency-Key": key}
        ).json()

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        self._request("DELETE", f"/api/v1/statuses/{platform_post_id}", account=account)

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        """Look for the post among the account's 40 most recent statuses, by text."""
        account_id = account.account_id or str(self.verify_credentials(account)["id"])
        statuses = self._request(
            "GET", f"/api/v1/accounts/{account_id}/statuses", account=account, params={"limit": 40}
        ).json()
        entries = [
            TimelineEntry(str(s["id"]), s.get("content") or "", s.get("in_reply_to_id") and str(s["in_reply_to_id"]), s.get("url"),
                          parse_platform_time(s.get("created_at")))
            for s in statuses
            if not s.get("reblog")
        ]
        if post.reply_to is None:
            entries = [e for e in entries if e.reply_to is None or e.reply_to in {x.id for x in entries}]
        chain = match_thread(entries, [p.text for p in post.parts], html_content=True, since=since)
        if not chain:
            return None
        return PublishResult(
            platform_post_id=chain[0].id,
            url=chain[0].url,
            thread_post_ids=tuple(e.id for e in chain),
            already_existed=True,
            complete=len(chain) == len(post.parts),
        )

    def _status_url(self, account: AccountCredentials, status_id: str) -> str:
        base = account.base_url or self.base_url
        return f"{base}/@{account.handle}/{status_id}" if account.handle else f"{base}/statuses/{status_id}"

    # -- media --------------------------------------------------------------------------------

    def upload_media(self, account: AccountCredentials, item: MediaItem) -> str:
        """Upload one file (POST /api/v2/media) and wait until it is processed; returns its id."""
        data = {"description": item.alt_text} if item.alt_text else {}
        response = self._request(
            "POST",
            "/api/v2/media",
            account=account,
            files={"file": (item.upload_name, item.read(), item.content_type)},
            data=data,
        )
        attachment = response.json()
        media_id = str(attachment["id"])
        if response.status_code == 202 or attachment.get("url") is None:
            self._wait_for_media(account, media_id)
        return media_id

    def _wait_for_media(self, account: AccountCredentials, media_id: str) -> None:
        """Poll GET /api/v1/media/:id: 206 while processing, 200 when ready, 422 if it failed."""
        deadline = time.monotonic() + self.poll_timeout
        while True:
            try:
                response = self._request("GET", f"/api/v1/media/{media_id}", account=account)
            except PlatformError as exc:
                if exc.status_code == 422:
                    raise MediaRejectedError(f"Mastodon could not process the media: {exc.message}", platform=self.name) from exc
                raise
            if response.status_code == 200 and response.json().get("url"):
                return
            if time.monotonic() > deadline:
                raise PlatformError(f"media {media_id} was still processing after {self.poll_timeout:.0f} s", True, platform=self.name)
            time.sleep(self.poll_interval)
