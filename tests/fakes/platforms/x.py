"""A fake X API v2: the endpoints the adapter uses, with X's answers.

Implements POST /2/oauth2/token (authorization_code with PKCE S256 check, refresh_token with
rotation), GET /2/users/me, POST /2/media/upload (one-shot), the chunked
/2/media/upload/initialize, /{id}/append, /{id}/finalize and GET /2/media/upload?command=STATUS,
POST /2/media/metadata, POST /2/tweets (refusing duplicate text with X's 403), DELETE
/2/tweets/:id and GET /2/users/:id/tweets. Stored text looks like X's: links rewritten to t.co,
the media link appended, `&<>` escaped. Errors are problem+json (`title`, `detail`, `type`,
`status`); rate limits are 429 with x-rate-limit-* headers (reset as an epoch).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from datetime import datetime, UTC
from typing import Any

from tests.fakes.platforms.server import FakePlatformServer, Failure, RecordedRequest, Reply

_URL = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)]")


def _problem(status: int, title: str, detail: str, kind: str = "about:blank") -> Reply:
    return Reply(status, {"title": title, "detail": detail, "type": kind, "status": status})


class FakeXServer(FakePlatformServer):
    platform = "x"

    def __init__(self, *, client_id: str = "x-client-id", client_secret: str | None = None, video_processing_polls: int = 1) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.video_processing_polls = video_processing_polls
        self.fail_video_processing = False
        self.user = {"id": "2244994945", "name": "Alice", "username": "alice"}
        self.codes: dict[str, dict[str, str]] = {}
        self.tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.media: dict[str, dict[str, Any]] = {}
        self.tweets: list[dict[str, Any]] = []
        super().__init__()

    # -- helpers for tests --------------------------------------------------------------------

    def issue_token(self) -> str:
        token = secrets.token_urlsafe(16)
        self.tokens.add(token)
        return token

    def issue_code(self, redirect_uri: str, code_challenge: str) -> str:
        code = secrets.token_urlsafe(8)
        self.codes[code] = {"redirect_uri": redirect_uri, "challenge": code_challenge}
        return code

    def issue_refresh_token(self) -> str:
        token = secrets.token_urlsafe(16)
        self.refresh_tokens.add(token)
        return token

    # -- protocol -----------------------------------------------------------------------------

    def routes(self) -> None:
        self.add_route("POST", r"/2/oauth2/token", self.token, auth=False)
        self.add_route("GET", r"/2/users/me", self.me)
        self.add_route("POST", r"/2/media/upload", self.upload)
        self.add_route("POST", r"/2/media/upload/initialize", self.initialize)
        self.add_route("POST", r"/2/media/upload/(?P<media_id>\d+)/append", self.append)
        self.add_route("POST", r"/2/media/upload/(?P<media_id>\d+)/finalize", self.finalize)
        self.add_route("GET", r"/2/media/upload", self.status)
        self.add_route("POST", r"/2/media/metadata", self.metadata)
        self.add_route("POST", r"/2/tweets", self.create_tweet)
        self.add_route("DELETE", r"/2/tweets/(?P<tweet_id>\d+)", self.delete_tweet)
        self.add_route("GET", r"/2/users/(?P<user_id>\d+)/tweets", self.user_tweets)

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        if request.bearer not in self.tokens:
            return _problem(401, "Unauthorized", "Unauthorized")
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        if kind == "rate_limit":
            reply = _problem(429, "Too Many Requests", "Too Many Requests")
            reply.headers = {
                "x-rate-limit-limit": "100",
                "x-rate-limit-remaining": "0",
                "x-rate-limit-reset": str(int(time.time()) + failure.retry_after),
            }
            return reply
        if kind == "unauthorized":
            return _problem(401, "Unauthorized", "Unauthorized")
        return _problem(503, "Service Unavailable", "Service Unavailable")

    def not_found(self, request: RecordedRequest) -> Reply:
        return Reply(404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]})

    def token(self, request: RecordedRequest) -> Reply:
        form = request.form
        invalid = Reply(400, {"error": "invalid_request", "error_description": "Value passed for the token was invalid."})
        if form.get("client_id") != self.client_id:
            return Reply(401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"})
        if self.client_secret is not None:
            expected = "Basic " + base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
            if request.headers.get("authorization") != expected:
                return Reply(401, {"error": "unauthorized_client", "error_description": "Missing valid authorization header"})
        if form.get("grant_type") == "authorization_code":
            grant = self.codes.pop(form.get("code", ""), None)
            verifier = form.get("code_verifier", "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if grant is None or grant["challenge"] != challenge or grant["redirect_uri"] != form.get("redirect_uri"):
                return Reply(400, {"error": "invalid_request", "error_description": "Value passed for the authorization code was invalid."})
        elif form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return invalid
            self.refresh_tokens.discard(form["refresh_token"])  # X rotates refresh tokens
        else:
            return invalid
        return Reply(200, {
            "token_type": "bearer",
            "expires_in": 7200,
            "access_token": self.issue_token(),
            "scope": "tweet.write users.read tweet.read offline.access media.write",
            "refresh_token": self.issue_refresh_token(),
        })

    def me(self, request: RecordedRequest) -> Reply:
        return Reply(200, {"data": self.user})

    def _new_media(self, kind: str, size: int, category: str) -> dict[str, Any]:
        media_id = str(1_880_000_000_000_000_000 + self.next_id())
        prefix = {"tweet_image": "3", "tweet_gif": "16", "tweet_video": "7"}.get(category, "3")
        item = {"id": media_id, "media_key": f"{prefix}_{media_id}", "size": size, "kind": kind, "category": category,
                "ready": kind == "image", "chunks": {}, "polls_left": self.video_processing_polls, "alt_text": None}
        self.media[media_id] = item
        return item

    def upload(self, request: RecordedRequest) -> Reply:
        parts = request.multipart
        if "media" not in parts:
            return Reply(400, {"errors": [{"message": "media is required"}], "title": "Invalid Request",
                               "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"})
        category = parts["media_category"].text if "media_category" in parts else "tweet_image"
        item = self._new_media("image", len(parts["media"].data), category)
        media_type = parts["media_type"].text if "media_type" in parts else "image/jpeg"
        return Reply(200, {"data": {"id": item["id"], "media_key": item["media_key"], "size": item["size"],
                                    "expires_after_secs": 86400, "image": {"image_type": media_type, "w": 640, "h": 480}}})

    def initialize(self, request: RecordedRequest) -> Reply:
        body = request.json
        item = self._new_media("video" if body["media_category"] == "tweet_video" else "gif", body["total_bytes"], body["media_category"])
        return Reply(200, {"data": {"id": item["id"], "media_key": item["media_key"], "expires_after_secs": 86400}})

    def append(self, request: RecordedRequest, media_id: str) -> Reply:
        parts = request.multipart
        self.media[media_id]["chunks"][int(parts["segment_index"].text)] = parts["media"].data
        return Reply(200, {"data": {"expires_at": int(time.time()) + 86400}})

    def finalize(self, request: RecordedRequest, media_id: str) -> Reply:
        item = self.media[media_id]
        received = sum(len(c) for c in item["chunks"].values())
        if received != item["size"]:
            return Reply(400, {"errors": [{"message": f"File size mismatch: expected {item['size']}, got {received}"}],
                               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"})
        return Reply(200, {"data": {"id": media_id, "media_key": item["media_key"], "size": item["size"], "expires_after_secs": 86400,
                                    "processing_info": {"state": "pending", "check_after_secs": 1}}})

    def status(self, request: RecordedRequest) -> Reply:
        item = self.media[request.arg("media_id")]
        if item["polls_left"] > 0:
            item["polls_left"] -= 1
            info = {"state": "in_progress", "check_after_secs": 1, "progress_percent": 50}
        elif self.fail_video_processing:
            info = {"state": "failed", "progress_percent": 100, "error": {"code": 1, "name": "InvalidMedia", "message": "Unsupported video format"}}
        else:
            item["ready"] = True
            info = {"state": "succeeded", "progress_percent": 100}
        return Reply(200, {"data": {"id": item["id"], "media_key": item["media_key"], "processing_info": info}})

    def metadata(self, request: RecordedRequest) -> Reply:
        body = request.json
        item = self.media[body["id"]]
        item["alt_text"] = body["metadata"]["alt_text"]["text"]
        return Reply(200, {"data": {"id": item["id"], "associated_metadata": body["metadata"]}})

    def create_tweet(self, request: RecordedRequest) -> Reply:
        body = request.json
        text = body.get("text", "")
        media_ids = (body.get("media") or {}).get("media_ids", [])
        if any(t["_source"] == text for t in self.tweets):
            return _problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.")
        for media_id in media_ids:
            if media_id not in self.media or not self.media[media_id]["ready"]:
                return Reply(400, {"errors": [{"message": "Your media IDs are invalid.", "parameters": {"media.media_ids": media_ids}}],
                                   "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                                   "type": "https://api.twitter.com/2/problems/invalid-request"})
        reply_to = (body.get("reply") or {}).get("in_reply_to_tweet_id")
        if reply_to and not any(t["id"] == reply_to for t in self.tweets):
            return Reply(400, {"errors": [{"message": "The `reply.in_reply_to_tweet_id` query parameter value [%s] is not a valid Tweet." % reply_to}],
                               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"})
        tweet_id = str(1_890_000_000_000_000_000 + self.next_id())
        shown = _URL.sub(lambda m: "https://t.co/" + secrets.token_urlsafe(7)[:10], text)
        shown = html.escape(shown, quote=False)
        if media_ids:
            shown += " https://t.co/" + secrets.token_urlsafe(7)[:10]
        tweet = {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id], "_source": text, "_media": media_ids,
                 "created_at": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")}
        if reply_to:
            tweet["referenced_tweets"] = [{"type": "replied_to", "id": reply_to}]
        self.tweets.append(tweet)
        return Reply(201, {"data": {"id": tweet_id, "text": shown, "edit_history_tweet_ids": [tweet_id]}})

    def delete_tweet(self, request: RecordedRequest, tweet_id: str) -> Reply:
        self.tweets = [t for t in self.tweets if t["id"] != tweet_id]
        return Reply(200, {"data": {"deleted": True}})

    def user_tweets(self, request: RecordedRequest, user_id: str) -> Reply:
        max_results = int(request.arg("max_results", "10"))
        if not 5 <= max_results <= 100:
            return Reply(400, {"errors": [{"message": "The `max_results` query parameter value is not between 5 and 100"}],
                               "title": "Invalid Request", "detail": "One or more parameters to your request was invalid.",
                               "type": "https://api.twitter.com/2/problems/invalid-request"})
        fields = set((request.arg("tweet.fields") or "").split(","))
        data = []
        for tweet in reversed(self.tweets[-max_results:]):
            item = {"id": tweet["id"], "text": tweet["text"], "edit_history_tweet_ids": tweet["edit_history_tweet_ids"]}
            if "created_at" in fields and "created_at" in tweet:
                item["created_at"] = tweet["created_at"]
            if "referenced_tweets" in fields and "referenced_tweets" in tweet:
                item["referenced_tweets"] = tweet["referenced_tweets"]
            data.append(item)
        if not data:
            return Reply(200, {"meta": {"result_count": 0}})
        return Reply(200, {"data": data, "meta": {"result_count": len(data), "newest_id": data[0]["id"], "oldest_id": data[-1]["id"]}})
