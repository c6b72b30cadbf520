"""A fake LinkedIn API: OAuth on www.linkedin.com and the versioned REST API, on one server.

Implements POST /oauth/v2/accessToken (authorization_code, refresh_token), GET /v2/userinfo,
POST /rest/images?action=initializeUpload, PUT to the returned upload URL, GET /rest/images/{urn},
POST /rest/posts (201, id in the `x-restli-id` header; identical content again is refused with
LinkedIn's 422 "Content is a duplicate of urn:li:share:…"), the posts finder
GET /rest/posts?q=author, DELETE /rest/posts/{urn}, POST /rest/socialActions/{urn}/comments and
GET /rest/organizationAcls. /rest calls must carry `LinkedIn-Version` and
`X-Restli-Protocol-Version: 2.0.0`. Errors are `{"status", "serviceErrorCode", "code", "message"}`.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import unquote

from tests.fakes.platforms.server import FakePlatformServer, Failure, RecordedRequest, Reply


def _error(status: int, message: str, code: str | None = None, service_code: int | None = None) -> Reply:
    body: dict[str, Any] = {"status": status, "message": message}
    if code:
        body["code"] = code
    if service_code:
        body["serviceErrorCode"] = service_code
    return Reply(status, body)


class FakeLinkedInServer(FakePlatformServer):
    platform = "linkedin"

    def __init__(self, *, client_id: str = "li-client", client_secret: str = "li-secret", image_processing_polls: int = 1) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.image_processing_polls = image_processing_polls
        self.member_sub = "782bbtaQ"
        self.organizations = ["urn:li:organization:2414183"]
        self.codes: dict[str, str] = {}
        self.tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.images: dict[str, dict[str, Any]] = {}
        self.posts: dict[str, dict[str, Any]] = {}
        self.comments: list[dict[str, Any]] = []
        super().__init__()

    @property
    def member_urn(self) -> str:
        return f"urn:li:person:{self.member_sub}"

    # -- helpers for tests --------------------------------------------------------------------

    def issue_token(self) -> str:
        token = "AQV" + secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def issue_code(self, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = redirect_uri
        return code

    # -- protocol -----------------------------------------------------------------------------

    def routes(self) -> None:
        self.add_route("POST", r"/oauth/v2/accessToken", self.access_token, auth=False)
        self.add_route("GET", r"/v2/userinfo", self.userinfo)
        self.add_route("POST", r"/rest/images", self.initialize_upload)
        self.add_route("PUT", r"/dms-uploads/(?P<upload_id>\w+)", self.receive_upload)
        self.add_route("GET", r"/rest/images/(?P<urn>[^/]+)", self.get_image)
        self.add_route("POST", r"/rest/posts", self.create_post)
        self.add_route("GET", r"/rest/posts", self.find_posts)
        self.add_route("DELETE", r"/rest/posts/(?P<urn>[^/]+)", self.delete_post)
        self.add_route("POST", r"/rest/socialActions/(?P<urn>[^/]+)/comments", self.create_comment)
        self.add_route("GET", r"/rest/organizationAcls", self.organization_acls)

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        token = request.bearer
        if token in self.expired_tokens:
            return _error(401, "The token used in the request has expired", "EXPIRED_ACCESS_TOKEN", 65602)
        if token not in self.tokens:
            return _error(401, "Invalid access token", "INVALID_ACCESS_TOKEN", 65600)
        if request.path.startswith("/rest/"):
            if not request.headers.get("linkedin-version"):
                return _error(400, "A version must be present. Please specify a version by adding the LinkedIn-Version header.", "VERSION_MISSING")
            if request.headers.get("x-restli-protocol-version") != "2.0.0":
                return _error(400, "Rest.li protocol version 2.0.0 is required", "ILLEGAL_ARGUMENT")
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        if kind == "rate_limit":
            return _error(429, "Resource level throttle APPLICATION DAY limit for calls to this resource is reached.", "TOO_MANY_REQUESTS", 101)
        if kind == "unauthorized":
            return _error(401, "The token used in the request has been revoked by the user", "REVOKED_ACCESS_TOKEN", 65601)
        return _error(500, "Internal Server Error")

    def not_found(self, request: RecordedRequest) -> Reply:
        return _error(404, "No virtual resource found", "RESOURCE_NOT_FOUND")

    def access_token(self, request: RecordedRequest) -> Reply:
        form = request.form
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if form.get("grant_type") == "authorization_code":
            if self.codes.pop(form.get("code", ""), None) != form.get("redirect_uri"):
                return Reply(400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid, expired or revoked"})
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return Reply(400, {"error": "invalid_grant", "error_description": "The provided refresh token is invalid"})
        else:
            return Reply(400, {"error": "unsupported_grant_type", "error_description": "grant type not supported"})
        refresh = form.get("refresh_token") or secrets.token_urlsafe(16)
        self.refresh_tokens.add(refresh)
        return Reply(200, {"access_token": self.issue_token(), "expires_in": 5183999, "refresh_token": refresh,
                           "refresh_token_expires_in": 31535999, "scope": "openid,profile,w_member_social"})

    def userinfo(self, request: RecordedRequest) -> Reply:
        return Reply(200, {"sub": self.member_sub, "email_verified": True, "name": "Alice Example", "given_name": "Alice",
                           "family_name": "Example", "locale": {"country": "US", "language": "en"}})

    def initialize_upload(self, request: RecordedRequest) -> Reply:
        if request.arg("action") != "initializeUpload":
            return self.not_found(request)
        owner = request.json["initializeUploadRequest"]["owner"]
        upload_id = secrets.token_hex(6)
        urn = f"urn:li:image:C4E10AQ{upload_id}"
        self.images[urn] = {"owner": owner, "upload_id": upload_id, "status": "WAITING_UPLOAD", "polls_left": self.image_processing_polls, "bytes": None}
        return Reply(200, {"value": {"uploadUrlExpiresAt": int(time.time() * 1000) + 3_600_000,
                                     "uploadUrl": f"{self.url}/dms-uploads/{upload_id}", "image": urn}})

    def receive_upload(self, request: RecordedRequest, upload_id: str) -> Reply:
        for image in self.images.values():
            if image["upload_id"] == upload_id:
                image.update(bytes=request.body, status="PROCESSING")
                return Reply(201)
        return self.not_found(request)

    def get_image(self, request: RecordedRequest, urn: str) -> Reply:
        urn = unquote(urn)
        image = self.images.get(urn)
        if image is None:
            return self.not_found(request)
        if image["status"] == "PROCESSING":
            if image["polls_left"] > 0:
                image["polls_left"] -= 1
            else:
                image["status"] = "AVAILABLE"
        return Reply(200, {"id": urn, "owner": image["owner"], "status": image["status"]})

    def create_post(self, request: RecordedRequest) -> Reply:
        body = request.json
        author = body.get("author")
        if author not in (self.member_urn, *self.organizations):
            return _error(403, f"Not enough permissions to access: partnerApiPostsExternal.CREATE.{request.headers.get('linkedin-version')}", "ACCESS_DENIED", 100)
        for required in ("commentary", "visibility", "distribution", "lifecycleState"):
            if required not in body:
                return _error(422, f"/{required} :: field is required but not found and has no default value", service_code=100)
        content = body.get("content") or {}
        image_ids = ([content["media"]["id"]] if "media" in content else []) + [i["id"] for i in content.get("multiImage", {}).get("images", [])]
        for urn in image_ids:
            if self.images.get(urn, {}).get("status") != "AVAILABLE":
                return _error(422, f"Image {urn} is not available", service_code=100)
        for urn, post in self.posts.items():
            if post["author"] == author and post["commentary"] == body["commentary"]:
                reply = _error(422, f"Content is a duplicate of {urn}")
                reply.body["errorDetailType"] = "com.linkedin.common.error.BadRequest"
                return reply
        urn = f"urn:li:share:{7_100_000_000_000_000_000 + self.next_id()}"
        self.posts[urn] = {**body, "id": urn, "createdAt": int(time.time() * 1000)}
        return Reply(201, None, {"x-restli-id": urn, "x-linkedin-id": urn})

    def find_posts(self, request: RecordedRequest) -> Reply:
        if request.arg("q") != "author" or request.headers.get("x-restli-method", "").upper() != "FINDER":
            return _error(400, "Invalid finder", "ILLEGAL_ARGUMENT")
        author = request.arg("author")
        count = int(request.arg("count", "10"))
        elements = [p for p in reversed(self.posts.values()) if p["author"] == author][:count]
        return Reply(200, {"paging": {"start": 0, "count": count, "links": []}, "elements": elements})

    def delete_post(self, request: RecordedRequest, urn: str) -> Reply:
        if self.posts.pop(unquote(urn), None) is None:
            return self.not_found(request)
        return Reply(204)

    def create_comment(self, request: RecordedRequest, urn: str) -> Reply:
        urn = unquote(urn)
        if urn not in self.posts:
            return self.not_found(request)
        body = request.json
        comment_id = str(self.next_id())
        comment_urn = f"urn:li:comment:({urn},{comment_id})"
        self.comments.append({**body, "id": comment_id, "commentUrn": comment_urn})
        return Reply(201, {**body, "id": comment_id, "commentUrn": comment_urn}, {"x-restli-id": comment_urn})

    def organization_acls(self, request: RecordedRequest) -> Reply:
        elements = [{"roleAssignee": self.member_urn, "state": "APPROVED", "role": "ADMINISTRATOR", "organization": org} for org in self.organizations]
        return Reply(200, {"paging": {"count": 10, "start": 0}, "elements": elements})
