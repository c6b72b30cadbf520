"""A fake Facebook Graph API for Pages.

Implements POST /{page-id}/feed (message, link, attached_media[n]), POST /{page-id}/photos
(multipart `source` or `url`; published → `{"id", "post_id"}`, unpublished → `{"id"}`),
GET /{page-id}/feed, POST /{post-id}/comments, DELETE /{post-id}, GET /{page-id}?fields=access_token,
GET /me/accounts and GET /oauth/access_token (code exchange and fb_exchange_token). Posting
with a user token instead of a Page token fails with code 200 like the real API. See
`graph.py` for errors.
"""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime
from typing import Any

from tests.fakes.platforms.graph import VERSION, FakeGraphServer, graph_error
from tests.fakes.platforms.server import RecordedRequest, Reply


class FakeFacebookServer(FakeGraphServer):
    platform = "facebook"

    def __init__(self, *, client_id: str = "fb-app", client_secret: str = "fb-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.page_id = "104589123456789"
        self.page_tokens: set[str] = set()
        self.user_tokens: set[str] = set()
        self.codes: dict[str, str] = {}
        self.posts: list[dict[str, Any]] = []
        self.photos: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        super().__init__()

    def issue_page_token(self) -> str:
        token = self.issue_token("EAAPage")
        self.page_tokens.add(token)
        return token

    def issue_user_token(self) -> str:
        token = self.issue_token("EAAUser")
        self.user_tokens.add(token)
        return token

    def issue_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = redirect_uri
        return code

    def routes(self) -> None:
        self.add_route("GET", VERSION + r"/oauth/access_token", self.oauth_access_token, auth=False)
        self.add_route("GET", VERSION + r"/me/accounts", self.accounts)
        self.add_route("POST", VERSION + r"/(?P<page>\d+)/feed", self.create_post)
        self.add_route("GET", VERSION + r"/(?P<page>\d+)/feed", self.feed)
        self.add_route("POST", VERSION + r"/(?P<page>\d+)/photos", self.create_photo)
        self.add_route("POST", VERSION + r"/(?P<post_id>\d+_\d+)/comments", self.comment)
        self.add_route("DELETE", VERSION + r"/(?P<post_id>\d+_\d+)", self.delete_post)
        self.add_route("GET", VERSION + r"/(?P<page>\d+)", self.get_page)

    def _needs_page_token(self, request: RecordedRequest) -> Reply | None:
        if self.token_of(request) not in self.page_tokens:
            return graph_error(403, "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with sufficient administrative permission", 200)
        return None

    def _new_post(self, page: str, message: str, **extra: Any) -> dict[str, Any]:
        post_id = f"{page}_{self.next_id() + 122_000_000_000}"
        post = {"id": post_id, "message": message, "created_time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
                "permalink_url": f"https://www.facebook.com/{page}/posts/{post_id.split('_')[1]}", **extra}
        self.posts.append(post)
        return post

    def create_post(self, request: RecordedRequest, page: str) -> Reply:
        refusal = self._needs_page_token(request)
        if refusal:
            return refusal
        form = request.form
        attached = []
        for key in sorted(k for k in form if k.startswith("attached_media[")):
            fbid = json.loads(form[key])["media_fbid"]
            if fbid not in self.photos or self.photos[fbid]["published"]:
                return graph_error(400, f"(#100) param attached_media[0] has invalid media_fbid {fbid}", 100)
            attached.append(fbid)
        if not form.get("message") and not attached and not form.get("link"):
            return graph_error(400, "(#100) Missing message or attachment", 100)
        post = self._new_post(page, form.get("message", ""), attached=attached, link=form.get("link"))
        return Reply(200, {"id": post["id"]})

    def create_photo(self, request: RecordedRequest, page: str) -> Reply:
        refusal = self._needs_page_token(request)
        if refusal:
            return refusal
        form = request.form
        parts = request.multipart
        if "source" not in parts and not form.get("url"):
            return graph_error(400, "(#324) Requires upload file", 324)
        photo_id = str(self.next_id() + 900_000_000_000)
        published = form.get("published", "true") == "true"
        self.photos[photo_id] = {"published": published, "bytes": parts["source"].data if "source" in parts else None,
                                 "url": form.get("url"), "alt_text": form.get("alt_text_custom")}
        if not published:
            return Reply(200, {"id": photo_id})
        post = self._new_post(page, form.get("message", ""), attached=[photo_id])
        return Reply(200, {"id": photo_id, "post_id": post["id"]})

    def feed(self, request: RecordedRequest, page: str) -> Reply:
        limit = int(request.arg("limit", "25"))
        fields = (request.arg("fields") or "id").split(",")
        items = list(reversed(self.posts))[:limit]
        return Reply(200, {"data": [{f: p[f] for f in fields if f in p} for p in items], "paging": {"cursors": {"before": "b", "after": "a"}}})

    def comment(self, request: RecordedRequest, post_id: str) -> Reply:
        if not any(p["id"] == post_id for p in self.posts):
            return self.not_found(request)
        comment_id = f"{post_id.split('_')[1]}_{self.next_id()}"
        self.comments.append({"id": comment_id, "post_id": post_id, "message": request.arg("message")})
        return Reply(200, {"id": comment_id})

    def delete_post(self, request: RecordedRequest, post_id: str) -> Reply:
        before = len(self.posts)
        self.posts = [p for p in self.posts if p["id"] != post_id]
        if len(self.posts) == before:
            return self.not_found(request)
        return Reply(200, {"success": True})

    def get_page(self, request: RecordedRequest, page: str) -> Reply:
        if page != self.page_id:
            return self.not_found(request)
        fields = (request.arg("fields") or "id").split(",")
        body: dict[str, Any] = {"id": page}
        if "access_token" in fields:
            if self.token_of(request) not in self.user_tokens:
                return graph_error(400, "(#190) This method must be called with a User access token.", 190)
            body["access_token"] = self.issue_page_token()
        if "name" in fields:
            body["name"] = "Alice's Bakery"
        return Reply(200, body)

    def accounts(self, request: RecordedRequest) -> Reply:
        return Reply(200, {"data": [{"id": self.page_id, "name": "Alice's Bakery", "category": "Bakery",
                                     "access_token": self.issue_page_token(), "tasks": ["ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"]}]})

    def oauth_access_token(self, request: RecordedRequest) -> Reply:
        if request.arg("client_id") != self.client_id or request.arg("client_secret") != self.client_secret:
            return graph_error(400, "Error validating client secret.", 1)
        if request.arg("grant_type") == "fb_exchange_token":
            if request.arg("fb_exchange_token") not in self.user_tokens:
                return graph_error(400, "Error validating access token: The session has been invalidated because the user changed their password.", 190, subcode=460)
        elif self.codes.pop(request.arg("code") or "", None) != request.arg("redirect_uri"):
            return graph_error(400, "This authorization code has been used.", 100, subcode=36009)
        return Reply(200, {"access_token": self.issue_user_token(), "token_type": "bearer", "expires_in": 5183944})
