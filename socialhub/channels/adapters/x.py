"""X (Twitter), through the v2 API with OAuth 2.0 user tokens (PKCE).

X has no idempotency key. Two things stand in for one:
- `find_existing` reads the account's recent posts (GET /2/users/:id/tweets) and matches the
  text (links compared as links, since X rewrites them to t.co and appends the media link);
- X refuses a second post with the same text ("duplicate content", 403): when that happens the
  adapter looks the earlier copy up and reports it instead of failing.

Media: images go through the one-shot `POST /2/media/upload`; GIFs and videos through the
chunked initialize/append/finalize flow with status polling. Alt text via POST /2/media/metadata.
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
from socialhub.channels.adapters.oauth import (
    classify_token_error,
    new_state,
    oauth_error_message,
    pkce_pair,
    tokens_from,
)
from socialhub.channels.adapters.text import count_x
from socialhub.channels.adapters.types import (
    AccountCredentials,
    AuthorizationStart,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)

API_URL = "https://api.x.com"
AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
WEB_URL = "https://x.com"
DEFAULT_SCOPES = ("tweet.read", "tweet.write", "users.read", "media.write", "offline.access")
CHUNK_SIZE = 4 * MB
_DUPLICATE_MARKER = "duplicate content"


def _error_message(response: httpx.Response) -> str | None:
    """X error bodies: `{"errors":[{"message"}]}`, problem+json `{"title","detail"}`, or OAuth."""
    body = response_json(response)
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        messages = [e.get("message") or e.get("detail") for e in errors if isinstance(e, dict)]
        messages = [m for m in messages if m]
        if messages:
            return "; ".join(messages)
    if body.get("detail") or body.get("title"):
        return body.get("detail") or body.get("title")
    return oauth_error_message(response)


class XAdapter(PlatformAdapter):
    """X accounts: `access_token`/`refresh_token` from OAuth 2.0, `account_id` the numeric user id."""

    # -- metadata -----------------------------------------------------------------------------

    name = "x"
    matches_by_text = True  # find_existing looks for the text in the account's timeline
    display_name = "X"

    _LIMITS = PlatformLimits(
        max_text_length=280,
        max_media_count=4,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        max_image_bytes=5 * MB,
        max_video_bytes=512 * MB,
        min_video_duration_seconds=0.5,
        max_video_duration_seconds=140,
        max_alt_text_length=1000,
        supports_threads=True,
        supports_first_comment=True,
    )

    def __init__(
        self,
        *,
        base_url: str = API_URL,
        authorize_url: str = AUTHORIZE_URL,
        web_url: str = WEB_URL,
        client_id: str | None = None,
        client_secret: str | None = None,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        poll_interval: float | None = None,
        poll_timeout: float = 300.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.authorize_endpoint = authorize_url
        self.web_url = web_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
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
        return self._LIMITS

    def count_text(self, text: str) -> int:
        return count_x(text)

    def validate(self, post: PublishRequest) -> list[str]:
        problems = super().validate(post)
        for part in post.parts:
            gifs = [m for m in part.media if m.kind == "gif"]
            if gifs and len(part.media) > 1:
                problems.append("X allows one GIF per post, without other media")
        return problems

    def _request(self, method: str, path: str, *, account: AccountCredentials | None = None, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Response:
        """Every API call, with the account's bearer token when there is one."""
        headers = dict(headers or {})
        if account is not None:
            headers["Authorization"] = f"Bearer {account.access_token}"
        return self._http.request(method, path, headers=headers, **kwargs)

    # -- auth ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, code_challenge: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        params = {
            "response_type": "code",
            "client_id": self._require_client_id(),
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def start_authorization(self, *, redirect_uri: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> AuthorizationStart:
        """A fresh PKCE pair and state, and the URL to send the browser to."""
        verifier, challenge = pkce_pair()
        state = new_state()
        return AuthorizationStart(self.authorization_url(redirect_uri=redirect_uri, state=state, code_challenge=challenge, scopes=scopes), state, verifier)

    def exchange_code(self, *, code: str, redirect_uri: str, code_verifier: str) -> OAuthTokens:
        """Trade the callback's code (POST /2/oauth2/token) and look up the user."""
        body = self._token_request({
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": code_verifier,
        })
        tokens = tokens_from(body)
        me = self._request("GET", "/2/users/me", account=tokens.to_credentials()).json()["data"]
        return replace(tokens, account_id=me["id"], handle=me.get("username"))

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """X rotates refresh tokens: store the new one, the old one stops working."""
        if not account.refresh_token:
            raise AuthError("no refresh token stored for this X account; reconnect it", platform=self.name)
        body = self._token_request({"grant_type": "refresh_token", "refresh_token": account.refresh_token})
        return tokens_from(body, previous_refresh_token=account.refresh_token)

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        form = {**form, "client_id": self._require_client_id()}
        auth = (self.client_id, self.client_secret) if self.client_secret else None
        try:
            return self._request("POST", "/2/oauth2/token", data=form, auth=auth).json()
        except PlatformError as exc:
            # X answers a dead code or refresh token with 400 invalid_request: reconnect.
            if exc.status_code == 400 and not isinstance(exc, AuthError):
                raise AuthError(exc.message, platform=self.name, status_code=400, code=exc.code) from exc
            raise

    def _require_client_id(self) -> str:
        if not self.client_id:
            raise PlatformError("X client_id is not configured", False, platform=self.name)
        return self.client_id

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        done = list(post.published_part_ids)
        parent = done[-1] if done else post.reply_to
        existed = False
        try:
            for index, part in enumerate(post.parts):
                if index < len(done):
                    continue
                tweet_id, found = self._post_tweet(account, part.text, part.media, parent)
                existed = existed or (found and index == 0)
                done.append(tweet_id)
                parent = tweet_id
        except PlatformError as exc:
            if done and exc.partial is None:
                exc.partial = PublishResult(platform_post_id=done[0], url=self._url(account, done[0]), thread_post_ids=tuple(done), complete=False)
            raise
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment_id, _ = self._post_tweet(account, post.first_comment, (), done[0])
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return PublishResult(
            platform_post_id=done[0],
            url=self._url(account, done[0]),
            thread_post_ids=tuple(done),
            first_comment_id=comment_id,
            already_existed=existed,
            warnings=tuple(warnings),
        )

    def _post_tweet(
        self,
        account: AccountCredentials,
        text: str,
        media: tuple[MediaItem, ...],
        reply_to: str | None,
    ) -> tuple[str, bool]:
        """Post one tweet; returns (id, found) where found means X already had it."""
        payload: dict[str, Any] = {"text": text}
        if media:
            payload["media"] = {"media_ids": [self.upload_media(account, item) for item in media]}
        if reply_to:
            payload["reply"] = {"in_reply_to_tweet_id": reply_to}
        try:
            body = self._request("POST", "/2/tweets", account=account, json=payload).json()
        except PlatformError as exc:
            if exc.status_code == 403 and _DUPLICATE_MARKER in exc.message.lower():
                earlier = self._find_tweet(account, text, reply_to)
                if earlier is not None:
                    return earlier, True
            raise
        return body["data"]["id"], False

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        self._request("DELETE", f"/2/tweets/{platform_post_id}", account=account)

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        entries = self._recent_tweets(account)
        if post.reply_to is not None:
            entries = [e for e in entries if e.reply_to == post.reply_to or e.reply_to in {x.id for x in entries}]
        chain = match_thread(entries, [p.text for p in post.parts], trailing_link_ok=True, since=since)
        if not chain:
            return None
        return PublishResult(
            platform_post_id=chain[0].id,
            url=self._url(account, chain[0].id),
            thread_post_ids=tuple(e.id for e in chain),
            already_existed=True,
            complete=len(chain) == len(post.parts),
        )

    def _find_tweet(self, account: AccountCredentials, text: str, reply_to: str | None) -> str | None:
        for entry in match_thread([e for e in self._recent_tweets(account) if e.reply_to == reply_to], [text], trailing_link_ok=True):
            return entry.id
        return None

    def _recent_tweets(self, account: AccountCredentials) -> list[TimelineEntry]:
        """The account's latest 100 posts (GET /2/users/:id/tweets), newest first."""
        user_id = account.account_id or self._request("GET", "/2/users/me", account=account).json()["data"]["id"]
        body = self._request(
            "GET",
            f"/2/users/{user_id}/tweets",
            account=account,
            params={"max_results": 100, "exclude": "retweets", "tweet.fields": "created_at,referenced_tweets,conversation_id"},
        ).json()
        entries = []
        for tweet in body.get("data") or []:
            replied = next((r["id"] for r in tweet.get("referenced_tweets") or [] if r.get("type") == "replied_to"), None)
            entries.append(TimelineEntry(tweet["id"], tweet.get("text", ""), replied, created_at=parse_platform_time(tweet.get("created_at"))))
        return entries

    def _url(self, account: AccountCredentials, tweet_id: str) -> str:
        return f"{self.web_url}/{account.handle}/status/{tweet_id}" if account.handle else f"{self.web_url}/i/web/status/{tweet_id}"

    # -- media --------------------------------------------------------------------------------

    def upload_media(self, account: AccountCredentials, item: MediaItem) -> str:
        """Upload one file and set its alt text; returns the media id."""
        if item.kind == "image":
            body = self._request(
                "POST",
                "/2/media/upload",
                account=account,
                files={"media": (item.upload_name, item.read(), item.content_type)},
                data={"media_category": "tweet_image", "media_type": item.content_type},
            ).json()
            media_id = body["data"]["id"]
        else:
            media_id = self._chunked_upload(account, item)
        if item.alt_text and item.kind != "video":
            self._request(
                "POST",
                "/2/media/metadata",
                account=account,
                json={"id": media_id, "metadata": {"alt_text": {"text": item.alt_text}}},
            )
        return media_id

    def _chunked_upload(self, account: AccountCredentials, item: MediaItem) -> str:
        data = item.read()
        category = "tweet_gif" if item.kind == "gif" else "tweet_video"
        init = self._request(
            "POST",
            "/2/media/upload/initialize",
            account=account,
            json={"media_type": item.content_type, "total_bytes": len(data), "media_category": category},
        ).json()["data"]
        media_id = init["id"]
        for index, start in enumerate(range(0, len(data), CHUNK_SIZE)):
            self._request(
                "POST",
                f"/2/media/upload/{media_id}/append",
                account=account,
                files={"media": (item.upload_name, data[start : start + CHUNK_SIZE], "application/octet-stream")},
                data={"segment_index": str(index)},
            )
        final = self._request("POST", f"/2/media/upload/{media_id}/finalize", account=account).json()["data"]
        self._wait_for_processing(account, media_id, final.get("processing_info"))
        return media_id

    def _wait_for_processing(self, account: AccountCredentials, media_id: str, info: dict[str, Any] | None) -> None:
        deadline = time.monotonic() + self.poll_timeout
        while info and info.get("state") in ("pending", "in_progress"):
            if time.monotonic() > deadline:
                raise PlatformError(f"X was still processing media {media_id}", True, platform=self.name)
            wait = self.poll_interval if self.poll_interval is not None else float(info.get("check_after_secs") or 1)
            time.sleep(wait)
            info = self._request(
                "GET", "/2/media/upload", account=account, params={"command": "STATUS", "media_id": media_id}
            ).json()["data"].get("processing_info")
        if info and info.get("state") == "failed":
            error = info.get("error") or {}
            message = error.get("message") or error.get("name") or "processing failed"
            raise MediaRejectedError(f"X could not process the media: {message}", platform=self.name, code=error.get("code"))
