"""A fake Instagram API with Instagram Login (graph.instagram.com + api.instagram.com).

Implements POST /{ig-user-id}/media (image_url, REELS/VIDEO video_url, CAROUSEL children,
caption, alt_text), GET /{container-id}?fields=status_code,status, POST
/{ig-user-id}/media_publish (with the 25-posts-a-day limit, subcode 2207042, when
`publishing_limit` is reached), GET /{media-id}?fields=permalink, GET /{ig-user-id}/media,
POST /{media-id}/comments, POST /oauth/access_token (`{"data": [...]}` shape), GET
/access_token (ig_exchange_token) and GET /refresh_access_token (ig_refresh_token).
See `graph.py` for errors and media behaviour.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from tests.fakes.platforms.graph import VERSION, FakeGraphServer, download_failed, graph_error
from tests.fakes.platforms.server import RecordedRequest, Reply


class FakeInstagramServer(FakeGraphServer):
    platform = "instagram"

    def __init__(self, *, client_id: str = "ig-app", client_secret: str = "ig-secret", publishing_limit: int = 25) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.publishing_limit = publishing_limit
        self.user_id = "17841405822304914"
        self.username = "alice"
        self.codes: dict[str, str] = {}
        self.media: list[dict[str, Any]] = []
        self.comments: list[dict[str, Any]] = []
        super().__init__()

    def issue_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = redirect_uri
        return code

    def routes(self) -> None:
        self.add_route("POST", r"/oauth/access_token", self.oauth_access_token, auth=False)
        self.add_route("GET", r"/access_token", self.exchange_token)
        self.add_route("GET", r"/refresh_access_token", self.refresh_access_token)
        self.add_route("POST", VERSION + r"/(?P<user>\d+)/media", self.create_container)
        self.add_route("POST", VERSION + r"/(?P<user>\d+)/media_publish", self.publish)
        self.add_route("GET", VERSION + r"/(?P<user>\d+)/media", self.list_media)
        self.add_route("POST", VERSION + r"/(?P<media_id>\d+)/comments", self.comment)
        self.add_route("GET", VERSION + r"/(?P<object_id>\d+)", self.get_object)

    def create_container(self, request: RecordedRequest, user: str) -> Reply:
        if user != self.user_id:
            return self.not_found(request)
        fields = {k: v for k, v in request.form.items() if k != "access_token"}
        media_type = fields.get("media_type", "IMAGE")
        if media_type == "IMAGE" and not fields.get("image_url"):
            return graph_error(400, "The parameter image_url is required.", 100)
        if "unreachable" in fields.get("image_url", ""):
            return download_failed(fields["image_url"])
        if media_type in ("REELS", "VIDEO") and not fields.get("video_url"):
            return graph_error(400, "The parameter video_url is required.", 100)
        if len(fields.get("caption", "")) > 2200:
            return graph_error(400, "The caption is too long", 100, subcode=2207010, error_user_title="Caption too long")
        if media_type == "CAROUSEL":
            children = [c for c in fields.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 10:
                return graph_error(400, "Carousels need between 2 and 10 children", 100, subcode=2207028)
            for child in children:
                item = self.containers.get(child)
                if item is None or item["fields"].get("is_carousel_item") != "true":
                    return graph_error(400, f"Invalid carousel child {child}", 100, subcode=2207028)
        container = self.new_container(user, fields)
        return Reply(200, {"id": container["id"]})

    def publish(self, request: RecordedRequest, user: str) -> Reply:
        container = self.containers.get(request.arg("creation_id") or "")
        if container is None:
            return graph_error(400, "Media ID is not available", 9007, subcode=2207006, error_user_title="Media not found")
        if sum(1 for m in self.media if m["owner"] == user) >= self.publishing_limit:
            return graph_error(400, "Application request limit reached", 9, subcode=2207042, is_transient=False,
                               error_user_title="Maximum posts reached", error_user_msg="You have reached the maximum of 25 posted published per 24 hours.")
        if container["status"] != "FINISHED":
            return graph_error(400, "Media ID is not available", 9007, subcode=2207027, error_user_title="Media not ready",
                               error_user_msg="The media is not ready for publishing, please wait for a moment")
        container["status"] = "PUBLISHED"
        media_id = self.new_id()
        self.media.append({
            "id": media_id,
            "owner": user,
            "caption": container["fields"].get("caption", ""),
            "media_type": {"CAROUSEL": "CAROUSEL_ALBUM", "REELS": "VIDEO"}.get(container["media_type"], "IMAGE"),
            "permalink": f"https://www.instagram.com/p/{secrets.token_urlsafe(8)}/",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "children": container["fields"].get("children"),
        })
        return Reply(200, {"id": media_id})

    def list_media(self, request: RecordedRequest, user: str) -> Reply:
        limit = int(request.arg("limit", "25"))
        fields = (request.arg("fields") or "id").split(",")
        items = [m for m in reversed(self.media) if m["owner"] == user][:limit]
        return Reply(200, {"data": [{f: m[f] for f in fields if f in m} for m in items], "paging": {"cursors": {"before": "b", "after": "a"}}})

    def comment(self, request: RecordedRequest, media_id: str) -> Reply:
        if not any(m["id"] == media_id for m in self.media):
            return self.not_found(request)
        comment_id = self.new_id()
        self.comments.append({"id": comment_id, "media_id": media_id, "text": request.arg("message")})
        return Reply(200, {"id": comment_id})

    def get_object(self, request: RecordedRequest, object_id: str) -> Reply:
        fields = (request.arg("fields") or "id").split(",")
        container = self.containers.get(object_id)
        if container is not None:
            status = self.advance(container)
            body: dict[str, Any] = {"id": object_id}
            if "status_code" in fields:
                body["status_code"] = status
            if "status" in fields:
                body["status"] = "Error: Media upload has failed with error code 2207026" if status == "ERROR" else status.title()
            return Reply(200, body)
        media = next((m for m in self.media if m["id"] == object_id), None)
        if media is None:
            return self.not_found(request)
        return Reply(200, {"id": object_id, **{f: media[f] for f in fields if f in media}})

    def oauth_access_token(self, request: RecordedRequest) -> Reply:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(400, {"error_type": "OAuthException", "code": 400, "error_message": "Invalid client_secret"})
        if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
            return Reply(400, {"error_type": "OAuthException", "code": 400, "error_message": "Matching code was not found or was already used"})
        return Reply(200, {"data": [{"access_token": self.issue_token("IGQ"), "user_id": self.user_id,
                                     "permissions": "instagram_business_basic,instagram_business_content_publish"}]})

    def exchange_token(self, request: RecordedRequest) -> Reply:
        if request.arg("grant_type") != "ig_exchange_token" or request.arg("client_secret") != self.client_secret:
            return graph_error(400, "Error validating client secret.", 1)
        return Reply(200, {"access_token": self.issue_token("IGL"), "token_type": "bearer", "expires_in": 5183944})

    def refresh_access_token(self, request: RecordedRequest) -> Reply:
        if request.arg("grant_type") != "ig_refresh_token":
            return graph_error(400, "Unsupported grant_type", 100)
        return Reply(200, {"access_token": self.issue_token("IGL"), "token_type": "bearer", "expires_in": 5183944})
