"""Threads (Meta), through the Threads Graph API at graph.threads.net.

Publishing is two steps: create a media container (POST /{user-id}/threads), wait until its
`status` is FINISHED (GET /{container-id}?fields=status,error_message), then publish it
(POST /{user-id}/threads_publish). A carousel is 2-20 item containers (`is_carousel_item`)
and a CAROUSEL container listing them. Thread parts and the first comment are replies
(`reply_to_id`). Media is fetched by Threads from a public URL.

No idempotency key: `find_existing` matches the text among the account's latest threads. It
sees top-level posts only, so for a thread it reports the first part with `complete=False`.
"""

from __future__ import annotations

from datetime import datetime

from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from socialhub.channels.adapters.base import match_thread, MB, parse_platform_time, PlatformLimits, TimelineEntry
from socialhub.channels.adapters.exceptions import AuthError, PlatformError
from socialhub.channels.adapters.graph import GraphAdapter
from socialhub.channels.adapters.oauth import tokens_from
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
    ThreadPart,
)

API_URL = "https://graph.threads.net"
AUTHORIZE_URL = "https://threads.net/oauth/authorize"
DEFAULT_SCOPES = ("threads_basic", "threads_content_publish")


def _container_status(body: dict[str, Any]) -> tuple[str, str | None]:
    return body.get("status", ""), body.get("error_message")


class ThreadsAdapter(GraphAdapter):
    """Threads profiles: `account_id` is the Threads user id, tokens are long-lived (60 days)."""

    # -- metadata -----------------------------------------------------------------------------

    name = "threads"
    display_name = "Threads"
    default_base_url = API_URL
    default_api_version = "v1.0"

    _LIMITS = PlatformLimits(
        max_text_length=500,
        max_media_count=20,
        image_types=frozenset({"image/jpeg", "image/png"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        max_image_bytes=8 * MB,
        max_video_bytes=1024 * MB,
        max_video_duration_seconds=300,
        max_aspect_ratio=10.0,
        max_videos_per_post=20,
        allows_mixed_media=True,
        max_alt_text_length=1000,
        supports_threads=True,
        supports_first_comment=True,
    )

    def __init__(self, *, authorize_url: str = AUTHORIZE_URL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.authorize_endpoint = authorize_url

    @property
    def limits(self) -> PlatformLimits:
        return self._LIMITS

    # -- auth ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        params = {
            "client_id": self.client_id or "",
            "redirect_uri": redirect_uri,
            "scope": ",".join(scopes),
            "response_type": "code",
            "state": state,
        }
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """Code → short-lived token (POST /oauth/access_token) → long-lived token (th_exchange_token)."""
        short = self._request(
            "POST",
            "oauth/access_token",
            token=None,
            versioned=False,
            data={
                "client_id": self.client_id or "",
                "client_secret": self.client_secret or "",
                "code": code,
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
            },
        ).json()
        long_lived = self._request(
            "GET",
            "access_token",
            token=short["access_token"],
            versioned=False,
            params={"grant_type": "th_exchange_token", "client_secret": self.client_secret or ""},
        ).json()
        return replace(tokens_from(long_lived), account_id=str(short.get("user_id") or "") or None)

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Extend a long-lived token for another 60 days (it must be at least a day old and unexpired)."""
        body = self._request(
            "GET", "refresh_access_token", token=account.access_token, versioned=False, params={"grant_type": "th_refresh_token"}
        ).json()
        return tokens_from(body)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        user = self._user_id(account)
        done = list(post.published_part_ids)
        parent = done[-1] if done else post.reply_to
        try:
            for index, part in enumerate(post.parts):
                if index < len(done):
                    continue
                media_id = self._publish_part(account, user, post, part, parent)
                done.append(media_id)
                parent = media_id
        except PlatformError as exc:
            if done and exc.partial is None:
                exc.partial = PublishResult(platform_post_id=done[0], thread_post_ids=tuple(done), complete=False)
            raise
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment_id = self._publish_part(account, user, post, ThreadPart(post.first_comment), done[0])
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return PublishResult(
            platform_post_id=done[0],
            url=self._permalink(account, done[0]),
            thread_post_ids=tuple(done),
            first_comment_id=comment_id,
            warnings=tuple(warnings),
        )

    def _publish_part(self, account: AccountCredentials, user: str, post: PublishRequest, part: ThreadPart, reply_to: str | None) -> str:
        token = account.access_token
        fields: dict[str, Any] = {"text": part.text} if part.text else {}
        if reply_to:
            fields["reply_to_id"] = reply_to
        if not part.media:
            container = self._create_container(user, token, {"media_type": "TEXT", **fields})
        elif len(part.media) == 1:
            container = self._create_container(user, token, {**self._media_fields(post, part.media[0]), **fields})
        else:
            children = [self._create_container(user, token, {**self._media_fields(post, item), "is_carousel_item": "true"}) for item in part.media]
            for child in children:
                self._wait_for_container(child, token, fields="status,error_message", status_of=_container_status)
            container = self._create_container(user, token, {"media_type": "CAROUSEL", "children": ",".join(children), **fields})
        self._wait_for_container(container, token, fields="status,error_message", status_of=_container_status)
        body = self._request("POST", f"{user}/threads_publish", token=token, data={"creation_id": container}).json()
        return str(body["id"])

    def _permalink(self, account: AccountCredentials, media_id: str) -> str | None:
        try:
            return self._request("GET", media_id, token=account.access_token, params={"fields": "permalink"}).json().get("permalink")
        except PlatformError as exc:
            if isinstance(exc, AuthError):
                raise
            return None  # the post is out; a missing link is not worth failing it

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        self._request("DELETE", platform_post_id, token=account.access_token)

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        body = self._request(
            "GET",
            f"{self._user_id(account)}/threads",
            token=account.access_token,
            params={"fields": "id,text,permalink,timestamp", "limit": 25},
        ).json()
        entries = [TimelineEntry(str(t["id"]), t.get("text") or "", None, t.get("permalink"), parse_platform_time(t.get("timestamp")))
                   for t in body.get("data", [])]
        chain = match_thread(entries, [post.text], since=since)
        if not chain:
            return None
        return PublishResult(
            platform_post_id=chain[0].id,
            url=chain[0].url,
            thread_post_ids=(chain[0].id,),
            already_existed=True,
            complete=len(post.parts) == 1,
        )

    # -- media --------------------------------------------------------------------------------

    def _create_container(self, user: str, token: str, fields: dict[str, Any]) -> str:
        return str(self._request("POST", f"{user}/threads", token=token, data=fields).json()["id"])

    def _media_fields(self, post: PublishRequest, item: MediaItem) -> dict[str, Any]:
        url = self._media_url(post, item)
        fields = {"media_type": "VIDEO", "video_url": url} if item.kind == "video" else {"media_type": "IMAGE", "image_url": url}
        if item.alt_text:
            fields["alt_text"] = item.alt_text
        return fields
