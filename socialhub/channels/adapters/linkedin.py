"""LinkedIn, through the versioned REST API (`/rest/posts`, `/rest/images`).

Every call carries `LinkedIn-Version` (YYYYMM) and `X-Restli-Protocol-Version: 2.0.0`. Posts are
written in LinkedIn's "little text" format, where `\\ | { } @ [ ] ( ) < > # * _ ~` must be
escaped and a hashtag is `{hashtag|\\#|name}`. The author is a member (`urn:li:person:…`) or an
organization (`urn:li:organization:…`): `AccountCredentials.account_id`, or
`extra["author_urn"]` to post as an organization the member administers.

No idempotency key; LinkedIn itself refuses a second post with identical content ("Content is a
duplicate of urn:li:share:…", 422), which the adapter reports as the existing post.
`find_existing` lists the author's recent posts and matches the text.
"""

from __future__ import annotations

from datetime import datetime

import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlencode

import httpx

from socialhub.channels.adapters.base import match_thread, MB, parse_platform_time, PlatformAdapter, PlatformLimits, TimelineEntry
from socialhub.channels.adapters.exceptions import AuthError, MediaRejectedError, PlatformError
from socialhub.channels.adapters.http import ApiClient, response_json
from socialhub.channels.adapters.oauth import classify_token_error, oauth_error_message, tokens_from
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)

API_URL = "https://api.linkedin.com"
OAUTH_URL = "https://www.linkedin.com"
WEB_URL = "https://www.linkedin.com"
DEFAULT_VERSION = "202601"
DEFAULT_SCOPES = ("openid", "profile", "w_member_social")

_RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?:^|(?<=\s))#(\w+)")
_TEMPLATE_HASHTAG = re.compile(r"\{hashtag\|\\#\|([^}]*)\}")
_ESCAPED = re.compile(r"\\([\\|{}@\[\]()<>#*_~])")
_DUPLICATE = re.compile(r"duplicate of (urn:li:[a-zA-Z]+:\d+)")


def to_little_text(text: str) -> str:
    """`text` escaped for a LinkedIn commentary, hashtags kept as hashtags."""
    out: list[str] = []
    position = 0
    for match in _HASHTAG.finditer(text):
        out.append(_RESERVED.sub(r"\\\1", text[position : match.start()]))
        out.append("{hashtag|\\#|" + _RESERVED.sub(r"\\\1", match.group(1)) + "}")
        position = match.end()
    out.append(_RESERVED.sub(r"\\\1", text[position:]))
    return "".join(out)


def from_little_text(text: str) -> str:
    """The plain text a commentary shows."""
    return _ESCAPED.sub(r"\1", _TEMPLATE_HASHTAG.sub(lambda m: "#" + m.group(1), text))


def _error_message(response: httpx.Response) -> str | None:
    body = response_json(response)
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return body["message"]
    return oauth_error_message(response)


class LinkedInAdapter(PlatformAdapter):
    """LinkedIn members and the organizations they administer."""

    # -- metadata -----------------------------------------------------------------------------

    name = "linkedin"
    matches_by_text = True  # find_existing looks for the text in the account's timeline
    display_name = "LinkedIn"

    _LIMITS = PlatformLimits(
        max_text_length=3000,
        max_media_count=20,
        image_types=frozenset({"image/jpeg", "image/png", "image/gif"}),
        video_types=frozenset(),  # video upload (multi-part with etags) is not implemented yet
        max_image_bytes=36 * MB,
        max_alt_text_length=4086,
        supports_first_comment=True,
        visibilities=frozenset({"public", "followers"}),
    )

    def __init__(
        self,
        *,
        base_url: str = API_URL,
        oauth_base_url: str = OAUTH_URL,
        web_url: str = WEB_URL,
        client_id: str | None = None,
        client_secret: str | None = None,
        api_version: str = DEFAULT_VERSION,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        poll_interval: float = 1.0,
        poll_timeout: float = 60.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.oauth_base_url = oauth_base_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.api_version = api_version
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
        """Every call: bearer token plus the versioning headers LinkedIn requires on /rest."""
        headers = {"LinkedIn-Version": self.api_version, "X-Restli-Protocol-Version": "2.0.0", **(headers or {})}
        if account is not None:
            headers["Authorization"] = f"Bearer {account.access_token}"
        return self._http.request(method, path, base_url=base_url, headers=headers, **kwargs)

    # -- auth ---------------------------------------------------------------------------------

    def authorization_url(self, *, redirect_uri: str, state: str, scopes: tuple[str, ...] = DEFAULT_SCOPES) -> str:
        params = {
            "response_type": "code",
            "client_id": self.client_id or "",
            "redirect_uri": redirect_uri,
            "state": state,
            "scope": " ".join(scopes),
        }
        return f"{self.oauth_base_url}/oauth/v2/authorization?{urlencode(params)}"

    def exchange_code(self, *, code: str, redirect_uri: str) -> OAuthTokens:
        """Trade the callback's code, then read the member id from /v2/userinfo."""
        body = self._token_request({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri})
        tokens = tokens_from(body)
        info = self._request("GET", "/v2/userinfo", account=tokens.to_credentials()).json()
        return replace(tokens, account_id=f"urn:li:person:{info['sub']}", handle=info.get("name"))

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        """Only apps with programmatic refresh get refresh tokens; others must reconnect (60 days)."""
        if not account.refresh_token:
            raise AuthError("LinkedIn gave no refresh token for this account; reconnect it", platform=self.name)
        body = self._token_request({"grant_type": "refresh_token", "refresh_token": account.refresh_token})
        return tokens_from(body, previous_refresh_token=account.refresh_token)

    def _token_request(self, form: dict[str, str]) -> dict[str, Any]:
        form = {**form, "client_id": self.client_id or "", "client_secret": self.client_secret or ""}
        return self._request("POST", "/oauth/v2/accessToken", base_url=self.oauth_base_url, data=form).json()

    def list_organizations(self, account: AccountCredentials) -> list[str]:
        """URNs of the organizations this member administers."""
        body = self._request(
            "GET",
            "/rest/organizationAcls",
            account=account,
            params={"q": "roleAssignee", "role": "ADMINISTRATOR", "state": "APPROVED"},
        ).json()
        return [element["organization"] for element in body.get("elements", [])]

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        author = self._author(account)
        payload: dict[str, Any] = {
            "author": author,
            "commentary": to_little_text(post.text),
            "visibility": "CONNECTIONS" if post.visibility == "followers" else "PUBLIC",
            "distribution": {"feedDistribution": "MAIN_FEED", "targetEntities": [], "thirdPartyDistributionChannels": []},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        if post.media:
            images = [{"id": self.upload_image(account, author, item), "altText": item.alt_text} for item in post.media]
            payload["content"] = {"media": images[0]} if len(images) == 1 else {"multiImage": {"images": images}}
        existed = False
        try:
            response = self._request("POST", "/rest/posts", account=account, json=payload)
            post_urn = response.headers.get("x-restli-id") or (response_json(response) or {}).get("id")
        except PlatformError as exc:
            duplicate = _DUPLICATE.search(exc.message) if exc.status_code == 422 else None
            if not duplicate:
                raise
            post_urn, existed = duplicate.group(1), True
        if not post_urn:
            raise PlatformError("LinkedIn accepted the post but returned no id", False, platform=self.name)
        comment_id, warnings = None, []
        if post.first_comment and not existed:
            try:
                comment_id = self._comment(account, author, post_urn, post.first_comment)
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return PublishResult(
            platform_post_id=post_urn,
            url=self._url(post_urn),
            thread_post_ids=(post_urn,),
            first_comment_id=comment_id,
            already_existed=existed,
            warnings=tuple(warnings),
        )

    def _comment(self, account: AccountCredentials, author: str, post_urn: str, text: str) -> str | None:
        response = self._request(
            "POST",
            f"/rest/socialActions/{quote(post_urn, safe='')}/comments",
            account=account,
            json={"actor": author, "object": post_urn, "message": {"text": text}},
        )
        body = response_json(response) or {}
        return response.headers.get("x-restli-id") or body.get("commentUrn") or body.get("id")

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        self._request(
            "DELETE",
            f"/rest/posts/{quote(platform_post_id, safe='')}",
            account=account,
            headers={"X-RestLi-Method": "DELETE"},
        )

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:
        """Look through the author's 20 latest posts for this text."""
        body = self._request(
            "GET",
            "/rest/posts",
            account=account,
            params={"author": self._author(account), "q": "author", "count": 20, "sortBy": "LAST_MODIFIED"},
            headers={"X-RestLi-Method": "FINDER"},
        ).json()
        entries = [TimelineEntry(e["id"], from_little_text(e.get("commentary", "")),
                                 created_at=parse_platform_time(e.get("createdAt") or e.get("publishedAt")))
                   for e in body.get("elements", [])]
        chain = match_thread(entries, [post.text], since=since)
        if not chain:
            return None
        return PublishResult(platform_post_id=chain[0].id, url=self._url(chain[0].id), thread_post_ids=(chain[0].id,), already_existed=True)

    def _author(self, account: AccountCredentials) -> str:
        author = account.extra.get("author_urn") or account.account_id
        if not author or not author.startswith("urn:li:"):
            raise AuthError("the LinkedIn account has no member or organization URN; reconnect it", platform=self.name)
        return author

    def _url(self, urn: str) -> str:
        return f"{self.web_url}/feed/update/{urn}/"

    # -- media --------------------------------------------------------------------------------

    def upload_image(self, account: AccountCredentials, owner: str, item: MediaItem) -> str:
        """initializeUpload, PUT the bytes to the upload URL, wait until AVAILABLE; returns the image URN."""
        value = self._request(
            "POST",
            "/rest/images",
            account=account,
            params={"action": "initializeUpload"},
            json={"initializeUploadRequest": {"owner": owner}},
        ).json()["value"]
        self._request(
            "PUT", value["uploadUrl"], account=account, content=item.read(), headers={"Content-Type": item.content_type}
        )
        image_urn = value["image"]
        self._wait_until_available(account, image_urn)
        return image_urn

    def _wait_until_available(self, account: AccountCredentials, image_urn: str) -> None:
        deadline = time.monotonic() + self.poll_timeout
        while True:
            status = self._request("GET", f"/rest/images/{quote(image_urn, safe='')}", account=account).json().get("status")
            if status == "AVAILABLE":
                return
            if status == "PROCESSING_FAILED":
                raise MediaRejectedError("LinkedIn could not process the image", platform=self.name)
            if time.monotonic() > deadline:
                raise PlatformError(f"LinkedIn image {image_urn} is still {status}", True, platform=self.name)
            time.sleep(self.poll_interval)
