"""Facebook Pages, through the Graph API at graph.facebook.com.

Text posts go to POST /{page-id}/feed; one photo to POST /{page-id}/photos (uploaded as bytes,
or by URL when the item has one) whose answer carries the feed `post_id`; several photos are
uploaded unpublished and attached to one feed post (`attached_media`). Calls use the Page
access token (`AccountCredentials.access_token`); `refresh_token` holds the long-lived *user*
token the Page token was taken from, which `refresh_token()` renews and mints a new Page token
with.

No idempotency key: `find_existing` matches the text among the Page's latest posts.
"""

from __future__ import annotations

from datetime import datetime

import json
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
)

API_URL = "https://graph.facebook.com"
WEB_URL = "https://www.facebook.com"
DEFAULT_SCOPES = ("pages_show_list", "pages_read_engagement", "pages_manage_posts")


class FacebookAdapter(GraphAdapter):
    """Facebook Pages: `account_id` is the Page id, `access_token` a Page token."""

    # -- metadata -----------------------------------------------------------------------------

    name = "facebook"
    display_name = "Facebook"
    default_base_url = API_URL
    default_api_version = "v24.0"

    _LIMITS = PlatformLimits(
        max_text_length=63206,
        max_media_count=10,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif", "image/bmp", "image/tiff", "image/webp"}),
        video_types=frozenset(),  # Page videos (resumable upload) are not implemented yet
        max_image_bytes=4 * MB,
        supports_first_comment=True,
    )

    def __init__(self, *, web_url: str = WEB_URL, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.web_url = web_url.rstrip("/")

    @property
    def limits(self) -> PlatformLimits:
        return self._LIMITS

    # -- auth ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        params = {"client_id": self.client_id or "", "redirect_uri": redirect_uri, "state": state, "scope": ",".join(scopes)}
        return f"{self.web_url}/{self.api_version}/dialog/oauth?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """Code → user token → long-lived user token. Pick a Page with `list_pages` next."""
        short = self._request(
            "GET",
            "oauth/access_token",
            token=None,
            params={
                "client_id": self.client_id or "",
                "client_secret": self.client_secret or "",
                "redirect_uri": redirect_uri,
                "code": code,
            },
        ).json()
        return self._long_lived_user_token(short["access_token"])

    def list_pages(self, user_token: str) -> list[dict[str, Any]]:
        """The Pages the user manages, each with `id`, `name` and its Page `access_token`."""
        return self._request("GET", "me/accounts", token=user_token, params={"fields": "id,name,access_token"}).json().get("data", [])

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Renew the long-lived user token and take a fresh Page token from it.

        A Page token taken from a long-lived user token does not expire on its own; it stops
        working when the user token is invalidated (password change, app removed).
        """
        if not account.refresh_token:
            raise AuthError("no user token stored for this Facebook Page; reconnect it", platform=self.name)
        user = self._long_lived_user_token(account.refresh_token)
        page = self._request("GET", self._user_id(account), token=user.access_token, params={"fields": "access_token"}).json()
        return OAuthTokens(access_token=page["access_token"], refresh_token=user.access_token, account_id=account.account_id)

    def _long_lived_user_token(self, user_token: str) -> OAuthTokens:
        body = self._request(
            "GET",
            "oauth/access_token",
            token=None,
            params={
                "grant_type": "fb_exchange_token",
                "client_id": self.client_id or "",
                "client_secret": self.client_secret or "",
                "fb_exchange_token": user_token,
            },
        ).json()
        return tokens_from(body)

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        page = self._user_id(account)
        token = account.access_token
        if not post.media:
            post_id = self._request("POST", f"{page}/feed", token=token, data={"message": post.text, **self._link(post)}).json()["id"]
        elif len(post.media) == 1:
            body = self._upload_photo(page, token, post, post.media[0], published=True)
            post_id = body.get("post_id") or body["id"]
        else:
            photo_ids = [self._upload_photo(page, token, post, item, published=False)["id"] for item in post.media]
            attached = {f"attached_media[{i}]": json.dumps({"media_fbid": photo_id}) for i, photo_id in enumerate(photo_ids)}
            post_id = self._request("POST", f"{page}/feed", token=token, data={"message": post.text, **attached}).json()["id"]
        post_id = str(post_id)
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment_id = str(self._request("POST", f"{post_id}/comments", token=token, data={"message": post.first_comment}).json()["id"])
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return PublishResult(
            platform_post_id=post_id,
            url=f"{self.web_url}/{post_id}",
            thread_post_ids=(post_id,),
            first_comment_id=comment_id,
            warnings=tuple(warnings),
        )

    def _link(self, post: PublishRequest) -> dict[str, str]:
        """`options["link"]` attaches a link preview to a text post."""
        link = post.options.get("link")
        return {"link": link} if link else {}

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        self._request("DELETE", platform_post_id, token=account.access_token)

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        body = self._request(
            "GET",
            f"{self._user_id(account)}/feed",
            token=account.access_token,
            params={"fields": "id,message,permalink_url,created_time", "limit": 25},
        ).json()
        entries = [TimelineEntry(str(p["id"]), p.get("message") or "", None, p.get("permalink_url"), parse_platform_time(p.get("created_time")))
                   for p in body.get("data", [])]
        chain = match_thread(entries, [post.text], since=since)
        if not chain:
            return None
        return PublishResult(
            platform_post_id=chain[0].id,
            url=chain[0].url or f"{self.web_url}/{chain[0].id}",
            thread_post_ids=(chain[0].id,),
            already_existed=True,
        )

    # -- media --------------------------------------------------------------------------------

    def _upload_photo(self, page: str, token: str, post: PublishRequest, item: MediaItem, *, published: bool) -> dict[str, Any]:
        """POST /{page-id}/photos by URL when the item has one, else with the bytes."""
        data: dict[str, Any] = {"published": "true" if published else "false"}
        if published and post.text:
            data["message"] = post.text
        if item.alt_text:
            data["alt_text_custom"] = item.alt_text
        if item.url:
            return self._request("POST", f"{page}/photos", token=token, data={**data, "url": item.url}).json()
        files = {"source": (item.upload_name, item.read(), item.content_type)}
        return self._request("POST", f"{page}/photos", token=token, data=data, files=files).json()
