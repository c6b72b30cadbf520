"""Instagram professional accounts, through the Instagram API with Instagram Login
(graph.instagram.com).

Publishing is two steps: create a media container (POST /{ig-user-id}/media with `image_url`,
or `media_type=REELS` + `video_url`, or a CAROUSEL of `is_carousel_item` children), wait until
its `status_code` is FINISHED (GET /{container-id}?fields=status_code,status), then publish it
(POST /{ig-user-id}/media_publish). Instagram downloads media itself from a public URL; when it
cannot, it answers with error subcode 2207052 and the adapter raises `MediaRejectedError` with
a sentence saying what the URL must be. The first comment goes through POST /{media-id}/comments.

Instagram needs media on every post, has no threads, and its API cannot delete posts.
"""

from __future__ import annotations

from datetime import datetime

import re
from dataclasses import replace
from typing import Any
from urllib.parse import urlencode

from socialhub.channels.adapters.base import match_thread, MB, parse_platform_time, PlatformLimits, TimelineEntry
from socialhub.channels.adapters.exceptions import AuthError, NotSupported, PlatformError
from socialhub.channels.adapters.graph import GraphAdapter
from socialhub.channels.adapters.oauth import tokens_from
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)

API_URL = "https://graph.instagram.com"
OAUTH_URL = "https://api.instagram.com"
AUTHORIZE_URL = "https://www.instagram.com/oauth/authorize"
DEFAULT_SCOPES = ("instagram_business_basic", "instagram_business_content_publish", "instagram_business_manage_comments")
MAX_HASHTAGS = 30
MAX_MENTIONS = 20
_HASHTAG = re.compile(r"(?:^|(?<=\s))#\w+")
_MENTION = re.compile(r"(?:^|(?<=\s))@[\w.]+")


def _container_status(body: dict[str, Any]) -> tuple[str, str | None]:
    return body.get("status_code", ""), body.get("status")


class InstagramAdapter(GraphAdapter):
    """Instagram business/creator accounts: `account_id` is the Instagram user id."""

    # -- metadata -----------------------------------------------------------------------------

    name = "instagram"
    display_name = "Instagram"
    default_base_url = API_URL
    default_api_version = "v24.0"

    _LIMITS = PlatformLimits(
        max_text_length=2200,
        max_media_count=10,
        image_types=frozenset({"image/jpeg"}),
        video_types=frozenset({"video/mp4", "video/quicktime"}),
        max_image_bytes=8 * MB,
        max_video_bytes=300 * MB,
        min_aspect_ratio=0.8,
        max_aspect_ratio=1.91,
        min_video_duration_seconds=3,
        max_video_duration_seconds=900,
        max_videos_per_post=10,
        allows_mixed_media=True,
        requires_media=True,
        supports_first_comment=True,
    )

    def __init__(self, *, oauth_base_url: str = OAUTH_URL, authorize_url: str = AUTHORIZE_URL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.oauth_base_url = oauth_base_url.rstrip("/")
        self.authorize_endpoint = authorize_url

    @property
    def limits(self) -> PlatformLimits:
        return self._LIMITS

    def validate(self, post: PublishRequest) -> list[str]:
        problems = super().validate(post)
        if len(_HASHTAG.findall(post.text)) > MAX_HASHTAGS:
            problems.append(f"Instagram allows {MAX_HASHTAGS} hashtags per post")
        if len(_MENTION.findall(post.text)) > MAX_MENTIONS:
            problems.append(f"Instagram allows {MAX_MENTIONS} mentions per post")
        return problems

    # -- auth ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        params = {
            "client_id": self.client_id or "",
            "redirect_uri": redirect_uri,
            "response_type": "code",
            "scope": ",".join(scopes),
            "state": state,
        }
        return f"{self.authorize_endpoint}?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """Code → short-lived token (api.instagram.com) → long-lived token (ig_exchange_token)."""
        short = self._request(
            "POST",
            "oauth/access_token",
            token=None,
            versioned=False,
            base_url=self.oauth_base_url,
            data={
                "client_id": self.client_id or "",
                "client_secret": self.client_secret or "",
                "grant_type": "authorization_code",
                "redirect_uri": redirect_uri,
                "code": code,
            },
        ).json()
        if isinstance(short.get("data"), list) and short["data"]:
            short = short["data"][0]  # the documented shape wraps the token in `data`
        long_lived = self._request(
            "GET",
            "access_token",
            token=short["access_token"],
            versioned=False,
            params={"grant_type": "ig_exchange_token", "client_secret": self.client_secret or ""},
        ).json()
        return replace(tokens_from(long_lived), account_id=str(short.get("user_id") or "") or None)

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Extend a long-lived token for another 60 days (GET /refresh_access_token)."""
        body = self._request(
            "GET", "refresh_access_token", token=account.access_token, versioned=False, params={"grant_type": "ig_refresh_token"}
        ).json()
        return tokens_from(body)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        user = self._user_id(account)
        token = account.access_token
        caption = {"caption": post.text} if post.text else {}
        if len(post.media) == 1:
            container = self._create_container(user, token, {**self._media_fields(post, post.media[0], carousel=False), **caption})
        else:
            children = [self._create_container(user, token, self._media_fields(post, item, carousel=True)) for item in post.media]
            for child in children:
                self._wait_for_container(child, token, fields="status_code,status", status_of=_container_status)
            container = self._create_container(user, token, {"media_type": "CAROUSEL", "children": ",".join(children), **caption})
        self._wait_for_container(container, token, fields="status_code,status", status_of=_container_status)
        media_id = str(self._request("POST", f"{user}/media_publish", token=token, data={"creation_id": container}).json()["id"])
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment_id = str(self._request("POST", f"{media_id}/comments", token=token, data={"message": post.first_comment}).json()["id"])
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return PublishResult(
            platform_post_id=media_id,
            url=self._permalink(token, media_id),
            thread_post_ids=(media_id,),
            first_comment_id=comment_id,
            warnings=tuple(warnings),
        )

    def _permalink(self, token: str, media_id: str) -> str | None:
        try:
            return self._request("GET", media_id, token=token, params={"fields": "permalink"}).json().get("permalink")
        except PlatformError as exc:
            if isinstance(exc, AuthError):
                raise
            return None

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        raise NotSupported("the Instagram API cannot delete posts; delete it in the Instagram app", platform=self.name)

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        body = self._request(
            "GET",
            f"{self._user_id(account)}/media",
            token=account.access_token,
            params={"fields": "id,caption,permalink,timestamp", "limit": 25},
        ).json()
        entries = [TimelineEntry(str(m["id"]), m.get("caption") or "", None, m.get("permalink"), parse_platform_time(m.get("timestamp")))
                   for m in body.get("data", [])]
        chain = match_thread(entries, [post.text], since=since)
        if not chain:
            return None
        return PublishResult(platform_post_id=chain[0].id, url=chain[0].url, thread_post_ids=(chain[0].id,), already_existed=True)

    # -- media --------------------------------------------------------------------------------

    def _create_container(self, user: str, token: str, fields: dict[str, Any]) -> str:
        return str(self._request("POST", f"{user}/media", token=token, data=fields).json()["id"])

    def _media_fields(self, post: PublishRequest, item: MediaItem, *, carousel: bool) -> dict[str, Any]:
        url = self._media_url(post, item)
        if item.kind == "video":
            fields: dict[str, Any] = {"media_type": "VIDEO" if carousel else "REELS", "video_url": url}
        else:
            fields = {"image_url": url}
            if item.alt_text:
                fields["alt_text"] = item.alt_text
        if carousel:
            fields["is_carousel_item"] = "true"
        return fields
