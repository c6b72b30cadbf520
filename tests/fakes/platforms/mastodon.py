"""A fake Mastodon instance: the REST endpoints the adapter uses, with Mastodon's answers.

Implements POST /api/v1/apps, POST /oauth/token, GET /api/v1/accounts/verify_credentials,
GET /api/v2/instance, POST /api/v2/media (200 for images, 202 + processing for videos),
GET /api/v1/media/:id (206 while processing), POST /api/v1/statuses (honours
`Idempotency-Key`: a repeat returns the first status), DELETE /api/v1/statuses/:id and
GET /api/v1/accounts/:id/statuses. Statuses are rendered to HTML the way Mastodon does (links
split into invisible/ellipsis spans, remote mentions shortened). Errors are `{"error": ...}`;
rate limits are 429 with X-RateLimit-* headers (reset as an ISO time); a 500 is an HTML page.
"""

from __future__ import annotations

import html
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import regex

from tests.fakes.platforms.server import FakePlatformServer, Failure, RecordedRequest, Reply

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")
_MENTION = re.compile(r"(?<![\w/])@(\w+)(?:@([\w.\-]+\w))?")


class FakeMastodonServer(FakePlatformServer):
    platform = "mastodon"

    def __init__(self, *, max_characters: int = 500, video_processing_polls: int = 2) -> None:
        self.max_characters = max_characters
        self.video_processing_polls = video_processing_polls
        self.account = {"id": "109000000000000001", "username": "alice", "acct": "alice", "display_name": "Alice"}
        self.apps: dict[str, dict[str, Any]] = {}
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: set[str] = set()
        self.statuses: list[dict[str, Any]] = []
        self.idempotency: dict[tuple[str, str], str] = {}
        self.media: dict[str, dict[str, Any]] = {}
        super().__init__()

    # -- helpers for tests --------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def issue_code(self, client_id: str, redirect_uri: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri}
        return code

    # -- protocol -----------------------------------------------------------------------------

    def routes(self) -> None:
        self.add_route("POST", r"/api/v1/apps", self.create_app, auth=False)
        self.add_route("POST", r"/oauth/token", self.token, auth=False)
        self.add_route("GET", r"/api/v2/instance", self.instance, auth=False)
        self.add_route("GET", r"/api/v1/accounts/verify_credentials", self.verify_credentials)
        self.add_route("POST", r"/api/v2/media", self.upload_media)
        self.add_route("GET", r"/api/v1/media/(?P<media_id>\w+)", self.get_media)
        self.add_route("POST", r"/api/v1/statuses", self.create_status)
        self.add_route("DELETE", r"/api/v1/statuses/(?P<status_id>\w+)", self.delete_status)
        self.add_route("GET", r"/api/v1/accounts/(?P<account_id>\w+)/statuses", self.account_statuses)

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        if request.bearer not in self.tokens:
            return Reply(401, {"error": "The access token is invalid"})
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        if kind == "rate_limit":
            reset = (datetime.now(UTC) + timedelta(seconds=failure.retry_after)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            headers = {"X-RateLimit-Limit": "300", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
            return Reply(429, {"error": "Too many requests"}, headers)
        if kind == "unauthorized":
            return Reply(401, {"error": "The access token is invalid"})
        page = "<!DOCTYPE html><html><body><h1>We're sorry, but something went wrong on our end.</h1></body></html>"
        return Reply(500, page, content_type="text/html; charset=utf-8")

    def not_found(self, request: RecordedRequest) -> Reply:
        return Reply(404, {"error": "Record not found"})

    def params(self, request: RecordedRequest) -> dict[str, Any]:
        if request.content_type.startswith("application/json"):
            return request.json
        return request.form

    def create_app(self, request: RecordedRequest) -> Reply:
        params = self.params(request)
        if not params.get("client_name") or not params.get("redirect_uris"):
            return Reply(422, {"error": "Validation failed: Application name can't be blank, Redirect URI must be an absolute URI."})
        client_id, secret = secrets.token_urlsafe(12), secrets.token_urlsafe(16)
        app = {
            "id": str(self.next_id()),
            "name": params["client_name"],
            "website": params.get("website"),
            "scopes": params.get("scopes", "read").split(),
            "redirect_uri": params["redirect_uris"],
            "redirect_uris": params["redirect_uris"].split(),
            "client_id": client_id,
            "client_secret": secret,
            "vapid_key": "BCk-QqERU0q-CfYZjcuB6lnyyOYfJ2AifKqfeGIm7Z-HiTU5T9eTG5GxVA0_OH5mMlI4UkkDTpaZwozy0TzdZ2M=",
        }
        self.apps[client_id] = app
        return Reply(200, app)

    def token(self, request: RecordedRequest) -> Reply:
        form = self.params(request)
        app = self.apps.get(form.get("client_id", ""))
        if app is None or app["client_secret"] != form.get("client_secret"):
            return Reply(401, {"error": "invalid_client", "error_description": "Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method."})
        grant = self.codes.pop(form.get("code", ""), None) if form.get("grant_type") == "authorization_code" else None
        if grant is None or grant["redirect_uri"] != form.get("redirect_uri"):
            return Reply(400, {"error": "invalid_grant", "error_description": "The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client."})
        return Reply(200, {"access_token": self.issue_token(), "token_type": "Bearer", "scope": form.get("scope", "read"), "created_at": int(datetime.now(UTC).timestamp())})

    def instance(self, request: RecordedRequest) -> Reply:
        return Reply(200, {
            "domain": "fake.social",
            "title": "Fake Social",
            "configuration": {
                "urls": {"streaming": "wss://fake.social"},
                "accounts": {"max_featured_tags": 10},
                "statuses": {"max_characters": self.max_characters, "max_media_attachments": 4, "characters_reserved_per_url": 23},
                "media_attachments": {
                    "supported_mime_types": ["image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/quicktime"],
                    "description_limit": 1500,
                    "image_size_limit": 16777216,
                    "image_matrix_limit": 33177600,
                    "video_size_limit": 103809024,
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                },
            },
        })

    def verify_credentials(self, request: RecordedRequest) -> Reply:
        return Reply(200, {**self.account, "source": {"privacy": "public"}})

    def upload_media(self, request: RecordedRequest) -> Reply:
        parts = request.multipart
        upload = parts.get("file")
        if upload is None:
            return Reply(422, {"error": "Validation failed: File can't be blank"})
        media_id = str(110_000 + self.next_id())
        kind = "video" if (upload.content_type or "").startswith("video/") else "image"
        item = {
            "id": media_id,
            "type": kind,
            "url": None,
            "preview_url": None,
            "description": parts["description"].text if "description" in parts else None,
            "meta": {},
            "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
            "_polls_left": self.video_processing_polls if kind == "video" else 0,
            "_bytes": upload.data,
        }
        self.media[media_id] = item
        if item["_polls_left"]:
            return Reply(202, self._public(item))
        item["url"] = f"{self.url}/system/media_attachments/{media_id}.{kind}"
        return Reply(200, self._public(item))

    def get_media(self, request: RecordedRequest, media_id: str) -> Reply:
        item = self.media.get(media_id)
        if item is None:
            return self.not_found(request)
        if item["_polls_left"] > 0:
            item["_polls_left"] -= 1
            return Reply(206, self._public(item))
        item["url"] = f"{self.url}/system/media_attachments/{media_id}"
        return Reply(200, self._public(item))

    def _public(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if not k.startswith("_")}

    def create_status(self, request: RecordedRequest) -> Reply:
        params = self.params(request)
        key = request.headers.get("idempotency-key")
        if key and (request.bearer, key) in self.idempotency:
            existing = next(s for s in self.statuses if s["id"] == self.idempotency[(request.bearer, key)])
            return Reply(200, existing)
        text = params.get("status", "")
        media_ids = params.get("media_ids") or []
        if not text and not media_ids:
            return Reply(422, {"error": "Validation failed: Text can't be blank"})
        if self._length(text) > self.max_characters:
            return Reply(422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"})
        attachments = []
        for media_id in media_ids:
            item = self.media.get(str(media_id))
            if item is None:
                return Reply(422, {"error": "Validation failed: Media attachments are invalid"})
            if item["url"] is None:
                return Reply(422, {"error": "Cannot attach files that have not finished processing. Try again in a moment!"})
            attachments.append(self._public(item))
        reply_to = params.get("in_reply_to_id")
        if reply_to and not any(s["id"] == reply_to for s in self.statuses):
            return Reply(404, {"error": "Record not found"})
        visibility = params.get("visibility", "public")
        if visibility not in ("public", "unlisted", "private", "direct"):
            return Reply(422, {"error": "Validation failed: Visibility is not included in the list"})
        status_id = str(111_000_000 + self.next_id())
        status = {
            "id": status_id,
            "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": self.account["id"] if reply_to else None,
            "sensitive": False,
            "spoiler_text": "",
            "visibility": visibility,
            "language": params.get("language", "en"),
            "uri": f"https://fake.social/users/alice/statuses/{status_id}",
            "url": f"https://fake.social/@alice/{status_id}",
            "content": render(text),
            "reblog": None,
            "account": self.account,
            "media_attachments": attachments,
            "mentions": [],
            "tags": [],
        }
        self.statuses.append(status)
        if key:
            self.idempotency[(request.bearer, key)] = status_id
        return Reply(200, status)

    def _length(self, text: str) -> int:
        text = _URL.sub("x" * 23, text)
        text = _MENTION.sub(lambda m: "@" + m.group(1), text)
        return len(regex.findall(r"\X", text))

    def delete_status(self, request: RecordedRequest, status_id: str) -> Reply:
        for status in self.statuses:
            if status["id"] == status_id:
                self.statuses.remove(status)
                return Reply(200, {**status, "text": "(source)"})
        return self.not_found(request)

    def account_statuses(self, request: RecordedRequest, account_id: str) -> Reply:
        if account_id != self.account["id"]:
            return self.not_found(request)
        limit = int(request.arg("limit", "20"))
        return Reply(200, list(reversed(self.statuses))[:limit])


def render(text: str) -> str:
    """Mastodon's HTML for a status text."""

    def link(match: re.Match[str]) -> str:
        url = match.group(0)
        scheme, _, rest = url.partition("://")
        shown, hidden = rest[:30], rest[30:]
        ellipsis = "ellipsis" if hidden else ""
        return (
            f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener noreferrer">'
            f'<span class="invisible">{scheme}://</span><span class="{ellipsis}">{html.escape(shown)}</span>'
            f'<span class="invisible">{html.escape(hidden)}</span></a>'
        )

    def mention(match: re.Match[str]) -> str:
        return f'<span class="h-card"><a href="https://{match.group(2) or "fake.social"}/@{match.group(1)}" class="u-url mention">@<span>{match.group(1)}</span></a></span>'

    paragraphs = []
    for paragraph in re.split(r"\n{2,}", text):
        pieces, position = [], 0
        for match in _URL.finditer(paragraph):
            pieces.append(_MENTION.sub(mention, html.escape(paragraph[position : match.start()], quote=False)))
            pieces.append(link(match))
            position = match.end()
        pieces.append(_MENTION.sub(mention, html.escape(paragraph[position:], quote=False)))
        paragraphs.append("<p>" + "".join(pieces).replace("\n", "<br />") + "</p>")
    return "".join(paragraphs)
