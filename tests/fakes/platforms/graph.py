"""What the Meta Graph API fakes share (Threads, Instagram, Facebook).

Tokens come as an `access_token` query or form field (or a bearer header). Errors are
`{"error": {"message", "type", "code", "error_subcode", "fbtrace_id", ...}}`: an expired token
is a 400 with code 190 / subcode 463, an unknown one a 400 with code 190, a throttle a 400
with code 4 and an `X-Business-Use-Case-Usage` header whose `estimated_time_to_regain_access`
(minutes) says when to come back, a server error a 500 with code 2 and `is_transient`.

Media containers (Threads, Instagram) take `processing_polls` status reads before they are
FINISHED. An image URL containing "unreachable" is refused at creation with subcode 2207052
(the media could not be downloaded); a video URL containing "broken" finishes in ERROR.
"""

from __future__ import annotations

import json
import math
import secrets
from typing import Any

from tests.fakes.platforms.server import FakePlatformServer, Failure, RecordedRequest, Reply

VERSION = r"/v\d+\.\d+"


def graph_error(status: int, message: str, code: int, *, subcode: int | None = None, kind: str = "OAuthException", **extra: Any) -> Reply:
    error: dict[str, Any] = {"message": message, "type": kind, "code": code, "fbtrace_id": "A" + secrets.token_hex(10)}
    if subcode is not None:
        error["error_subcode"] = subcode
    error.update(extra)
    return Reply(status, {"error": error})


def download_failed(url: str) -> Reply:
    return graph_error(
        400,
        "Only photo or video can be accepted as media type.",
        9004,
        subcode=2207052,
        is_transient=False,
        error_user_title="Media download has failed.",
        error_user_msg=f"The media could not be fetched from this uri: {url}",
    )


class FakeGraphServer(FakePlatformServer):
    """Token handling, errors and media containers common to the Meta fakes."""

    processing_polls = 1

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.expired_tokens: set[str] = set()
        self.containers: dict[str, dict[str, Any]] = {}
        super().__init__()

    def issue_token(self, prefix: str = "EAAG") -> str:
        token = prefix + secrets.token_urlsafe(20)
        self.tokens.add(token)
        return token

    def new_id(self) -> str:
        return str(17_840_000_000_000_000 + self.next_id())

    @staticmethod
    def token_of(request: RecordedRequest) -> str | None:
        return request.arg("access_token") or request.bearer

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        token = self.token_of(request)
        if token in self.expired_tokens:
            return graph_error(400, "Error validating access token: Session has expired on Friday, 20-Nov-26 10:00:00 PST. The current time is Saturday, 21-Nov-26 10:00:00 PST.", 190, subcode=463)
        if token not in self.tokens:
            return graph_error(400, "Invalid OAuth access token - Cannot parse access token", 190)
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        if kind == "rate_limit":
            reply = graph_error(400, "(#4) Application request limit reached", 4, is_transient=True)
            usage = {"17841400000000000": [{"type": self.platform, "call_count": 100, "total_cputime": 25, "total_time": 25,
                                            "estimated_time_to_regain_access": math.ceil(failure.retry_after / 60)}]}
            reply.headers = {"X-Business-Use-Case-Usage": json.dumps(usage), "X-App-Usage": json.dumps({"call_count": 100, "total_cputime": 25, "total_time": 25})}
            return reply
        if kind == "unauthorized":
            reply = graph_error(401, "Error validating access token: The user has not authorized application 1234567890.", 190, subcode=458)
            reply.headers = {"WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" "Error validating access token"'}
            return reply
        return graph_error(500, "An unexpected error has occurred. Please retry your request later.", 2, is_transient=True)

    def not_found(self, request: RecordedRequest) -> Reply:
        return graph_error(400, f"Unsupported {request.method.lower()} request. Object with ID does not exist, cannot be loaded due to missing permissions, or does not support this operation.", 100, subcode=33, kind="GraphMethodException")

    # -- containers ---------------------------------------------------------------------------

    def new_container(self, owner: str, fields: dict[str, str]) -> dict[str, Any]:
        container_id = self.new_id()
        media_type = fields.get("media_type") or ("IMAGE" if "image_url" in fields else "TEXT")
        video_url = fields.get("video_url", "")
        container = {
            "id": container_id,
            "owner": owner,
            "fields": fields,
            "media_type": media_type,
            "polls_left": 0 if media_type == "TEXT" else self.processing_polls,
            "broken": "broken" in video_url,
            "status": "IN_PROGRESS",
        }
        self.containers[container_id] = container
        return container

    def advance(self, container: dict[str, Any]) -> str:
        """The container's status after one more status read."""
        if container["status"] == "IN_PROGRESS":
            if container["polls_left"] > 0:
                container["polls_left"] -= 1
            else:
                container["status"] = "ERROR" if container["broken"] else "FINISHED"
        return container["status"]
