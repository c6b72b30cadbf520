"""A fake Threads API (graph.threads.net): containers, status, publish, replies, tokens.

Implements POST /{user-id}/threads (TEXT, IMAGE, VIDEO, CAROUSEL with `is_carousel_item`
children, `reply_to_id`), GET /{container-id}?fields=status,error_message, POST
/{user-id}/threads_publish, GET /{media-id}?fields=permalink, GET /{user-id}/threads,
DELETE /{media-id}, POST /oauth/access_token, GET /access_token (th_exchange_token) and GET
/refresh_access_token (th_refresh_token). See `graph.py` for errors and media behaviour.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from tests.fakes.platforms.graph import VERSION, FakeGraphServer, download_failed, graph_error
from tests.fakes.platforms.server import RecordedRequest, Reply


class FakeThreadsServer(FakeGraphServer):
    platform = "threads"

    def __init__(self, *, client_id: str = "th-app", client_secret: str = "th-secret") -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.user_id = "17841401234567890"
        self.username = "alice"
        self.codes: dict[str, str] = {}
        self.posts: list[dict[str, Any]] = []
        super().__init__()

    def issue_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = redirect_uri
        return code

    def routes(self) -> None:
        self.add_route("POST", r"/oauth/access_token", self.oauth_access_token, auth=False)
        self.add_route("GET", r"/access_token", self.exchange_token)
        self.add_route("GET", r"/refresh_access_token", self.refresh_access_token)
        self.add_route("POST", VERSION + r"/(?P<user>\d+)/threads", self.create_container)
        self.add_route("POST", VERSION + r"/(?P<user>\d+)/threads_publish", self.publish)
        self.add_route("GET", VERSION + r"/(?P<user>\d+)/threads", self.list_threads)
        self.add_route("GET", VERSION + r"/(?P<object_id>\d+)", self.get_object)
        self.add_route("DELETE", VERSION + r"/(?P<object_id>\d+)", self.delete_object)

    def create_container(self, request: RecordedRequest, user: str) -> Reply:
        if user != self.user_id:
            return self.not_found(request)
        fields = {k: v for k, v in request.form.items() if k != "access_token"}
        media_type = fields.get("media_type")
        if media_type not in ("TEXT", "IMAGE", "VIDEO", "CAROUSEL"):
            return graph_error(400, "Param media_type must be one of {TEXT, IMAGE, VIDEO, CAROUSEL}", 100)
        if media_type == "TEXT" and not fields.get("text"):
            return graph_error(400, "The parameter text is required for TEXT posts", 100)
        if media_type == "IMAGE" and "unreachable" in fields.get("image_url", ""):
            return download_failed(fields["image_url"])
        if len(fields.get("text", "")) > 500:
            return graph_error(400, "Param text must be at most 500 characters long.", 100)
        if media_type == "CAROUSEL":
            children = [c for c in fields.get("children", "").split(",") if c]
            if not 2 <= len(children) <= 20:
                return graph_error(400, "Carousels need between 2 and 20 children", 100)
            for child in children:
                item = self.containers.get(child)
                if item is None or item["fields"].get("is_carousel_item") != "true" or item["status"] != "FINISHED":
                    return graph_error(400, f"Invalid carousel child {child}", 100)
        reply_to = fields.get("reply_to_id")
        if reply_to and not any(p["id"] == reply_to for p in self.posts):
            return graph_error(400, "The reply_to_id is not a valid Threads media id", 100)
        container = self.new_container(user, fields)
        return Reply(200, {"id": container["id"]})

    def publish(self, request: RecordedRequest, user: str) -> Reply:
        container = self.containers.get(request.arg("creation_id") or "")
        if container is None:
            return graph_error(400, "Media Not Found", 24, subcode=4279009, error_user_title="Media Not Found")
        if container["status"] == "PUBLISHED":
            return graph_error(400, "The media has already been published", 24, subcode=4279023)
        if container["status"] != "FINISHED":
            return graph_error(400, "The media is not ready for publishing, please wait for a moment", 24, subcode=4279009)
        container["status"] = "PUBLISHED"
        media_id = self.new_id()
        code = secrets.token_urlsafe(8)
        self.posts.append({
            "id": media_id,
            "text": container["fields"].get("text", ""),
            "media_type": container["media_type"] if container["media_type"] != "TEXT" else "TEXT_POST",
            "permalink": f"https://www.threads.net/@{self.username}/post/{code}",
            "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "reply_to": container["fields"].get("reply_to_id"),
            "children": container["fields"].get("children"),
        })
        return Reply(200, {"id": media_id})

    def list_threads(self, request: RecordedRequest, user: str) -> Reply:
        limit = int(request.arg("limit", "25"))
        fields = (request.arg("fields") or "id").split(",")
        top_level = [p for p in reversed(self.posts) if not p["reply_to"]][:limit]
        return Reply(200, {"data": [{f: p[f] for f in fields if f in p} for p in top_level], "paging": {"cursors": {"before": "b", "after": "a"}}})

    def get_object(self, request: RecordedRequest, object_id: str) -> Reply:
        fields = (request.arg("fields") or "id").split(",")
        container = self.containers.get(object_id)
        if container is not None:
            status = self.advance(container)
            body: dict[str, Any] = {"id": object_id, "status": status}
            if status == "ERROR" and "error_message" in fields:
                body["error_message"] = "FAILED_PROCESSING_VIDEO"
            return Reply(200, body)
        post = next((p for p in self.posts if p["id"] == object_id), None)
        if post is None:
            return self.not_found(request)
        return Reply(200, {"id": object_id, **{f: post[f] for f in fields if f in post}})

    def delete_object(self, request: RecordedRequest, object_id: str) -> Reply:
        before = len(self.posts)
        self.posts = [p for p in self.posts if p["id"] != object_id]
        if len(self.posts) == before:
            return self.not_found(request)
        return Reply(200, {"success": True, "deleted_id": object_id})

    def oauth_access_token(self, request: RecordedRequest) -> Reply:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return graph_error(400, "Error validating client secret.", 1)
        if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
            return graph_error(400, "Invalid verification code format.", 100, subcode=36008)
        return Reply(200, {"access_token": self.issue_token("THQ"), "user_id": int(self.user_id)})

    def exchange_token(self, request: RecordedRequest) -> Reply:
        if request.arg("grant_type") != "th_exchange_token" or request.arg("client_secret") != self.client_secret:
            return graph_error(400, "Error validating client secret.", 1)
        return Reply(200, {"access_token": self.issue_token("THL"), "token_type": "bearer", "expires_in": 5183944})

    def refresh_access_token(self, request: RecordedRequest) -> Reply:
        if request.arg("grant_type") != "th_refresh_token":
            return graph_error(400, "Unsupported grant_type", 100)
        return Reply(200, {"access_token": self.issue_token("THL"), "token_type": "bearer", "expires_in": 5183944})
