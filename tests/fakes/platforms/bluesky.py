"""A fake Bluesky PDS: the XRPC endpoints the adapter uses, with the PDS's answers.

Implements com.atproto.server.createSession / refreshSession, com.atproto.identity.resolveHandle,
com.atproto.repo.uploadBlob / createRecord / getRecord / deleteRecord. Errors are
`{"error": Name, "message": ...}`; an expired access token is a 400 `ExpiredToken` (as on the
real PDS), a missing one a 401 `AuthenticationRequired`; rate limits are 429 with `ratelimit-*`
headers (reset as an epoch). Creating a record whose rkey exists answers 500
InternalServerError, which is what the reference PDS does today (bluesky-social/atproto#3718);
set `duplicate_answer = "explicit"` for the 400 of newer versions.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from typing import Any

import regex

from tests.fakes.platforms.server import FakePlatformServer, Failure, RecordedRequest, Reply

_TID = re.compile(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}")


def _fake_jwt(subject: str, scope: str, lifetime: int, serial: int) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return ".".join([part({"alg": "ES256K", "typ": "JWT"}), part({"scope": scope, "sub": subject, "exp": int(time.time()) + lifetime, "jti": serial}), "c2ln"])


def _cid(data: bytes) -> str:
    return "bafyrei" + base64.b32encode(hashlib.sha256(data).digest()).decode().lower().rstrip("=")[:52]


class FakeBlueskyServer(FakePlatformServer):
    platform = "bluesky"

    def __init__(self) -> None:
        self.accounts = {"alice.test": {"did": "did:plc:alice", "password": "app-pass-1234"}}
        self.other_handles = {"bob.test": "did:plc:bob"}
        self.access_tokens: dict[str, str] = {}
        self.refresh_tokens: dict[str, str] = {}
        self.expired_tokens: set[str] = set()
        self.records: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.blobs: dict[str, tuple[str, bytes]] = {}
        self.duplicate_answer = "internal_error"
        self.pds_url: str | None = None  # the PDS a session's DID document names (None: no didDoc)
        super().__init__()

    # -- helpers for tests --------------------------------------------------------------------

    def issue_session(self, handle: str = "alice.test") -> dict[str, Any]:
        did = self.accounts[handle]["did"]
        serial = self.next_id()
        access = _fake_jwt(did, "com.atproto.access", 7200, serial)
        refresh = _fake_jwt(did, "com.atproto.refresh", 90 * 86400, serial)
        self.access_tokens[access] = did
        self.refresh_tokens[refresh] = did
        session = {"did": did, "handle": handle, "accessJwt": access, "refreshJwt": refresh, "active": True}
        if self.pds_url is not None:
            session["didDoc"] = {"id": did, "service": [
                {"id": "#atproto_pds", "type": "AtprotoPersonalDataServer", "serviceEndpoint": self.pds_url}]}
        return session

    def posts(self, did: str = "did:plc:alice") -> list[dict[str, Any]]:
        return [r for (repo, coll, _), r in self.records.items() if repo == did and coll == "app.bsky.feed.post"]

    # -- protocol -----------------------------------------------------------------------------

    def routes(self) -> None:
        x = "/xrpc/"
        self.add_route("POST", x + r"com\.atproto\.server\.createSession", self.create_session, auth=False)
        self.add_route("POST", x + r"com\.atproto\.server\.refreshSession", self.refresh_session, auth=False)
        self.add_route("GET", x + r"com\.atproto\.server\.getSession", self.get_session)
        self.add_route("GET", x + r"com\.atproto\.identity\.resolveHandle", self.resolve_handle, auth=False)
        self.add_route("POST", x + r"com\.atproto\.repo\.uploadBlob", self.upload_blob)
        self.add_route("POST", x + r"com\.atproto\.repo\.createRecord", self.create_record)
        self.add_route("GET", x + r"com\.atproto\.repo\.getRecord", self.get_record, auth=False)
        self.add_route("POST", x + r"com\.atproto\.repo\.deleteRecord", self.delete_record)

    def error(self, status: int, name: str, message: str) -> Reply:
        return Reply(status, {"error": name, "message": message})

    def authenticate(self, request: RecordedRequest) -> Reply | None:
        token = request.bearer
        if not token:
            return self.error(401, "AuthenticationRequired", "Authentication Required")
        if token in self.expired_tokens:
            return self.error(400, "ExpiredToken", "Token has expired")
        if token not in self.access_tokens:
            return self.error(400, "InvalidToken", "Token could not be verified")
        return None

    def failure_reply(self, kind: str, request: RecordedRequest, failure: Failure) -> Reply:
        if kind == "rate_limit":
            reset = int(time.time()) + failure.retry_after
            headers = {"ratelimit-limit": "5000", "ratelimit-remaining": "0", "ratelimit-reset": str(reset), "ratelimit-policy": "5000;w=3600"}
            return Reply(429, {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}, headers)
        if kind == "unauthorized":
            return self.error(401, "AuthenticationRequired", "Authentication Required")
        return self.error(500, "InternalServerError", "Internal Server Error")

    def not_found(self, request: RecordedRequest) -> Reply:
        return self.error(501, "MethodNotImplemented", "Method Not Implemented")

    def create_session(self, request: RecordedRequest) -> Reply:
        body = request.json
        account = self.accounts.get(body.get("identifier", ""))
        if account is None or account["password"] != body.get("password"):
            return self.error(401, "AuthenticationRequired", "Invalid identifier or password")
        return Reply(200, self.issue_session(body["identifier"]))

    def refresh_session(self, request: RecordedRequest) -> Reply:
        token = request.bearer or ""
        if token in self.expired_tokens:
            return self.error(400, "ExpiredToken", "Token has expired")
        did = self.refresh_tokens.pop(token, None)
        if did is None:
            return self.error(400, "InvalidToken", "Token could not be verified")
        handle = next(h for h, a in self.accounts.items() if a["did"] == did)
        return Reply(200, self.issue_session(handle))

    def get_session(self, request: RecordedRequest) -> Reply:
        did = self.access_tokens[request.bearer or ""]
        handle = next(h for h, a in self.accounts.items() if a["did"] == did)
        return Reply(200, {"did": did, "handle": handle, "active": True})

    def resolve_handle(self, request: RecordedRequest) -> Reply:
        handle = request.arg("handle", "")
        did = self.other_handles.get(handle) or self.accounts.get(handle, {}).get("did")
        if did is None:
            return self.error(400, "InvalidRequest", "Unable to resolve handle")
        return Reply(200, {"did": did})

    def upload_blob(self, request: RecordedRequest) -> Reply:
        cid = _cid(request.body)
        mime = request.content_type or "application/octet-stream"
        self.blobs[cid] = (mime, request.body)
        return Reply(200, {"blob": {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(request.body)}})

    def create_record(self, request: RecordedRequest) -> Reply:
        body = request.json
        did = self.access_tokens[request.bearer]
        if body.get("repo") not in (did, next(h for h, a in self.accounts.items() if a["did"] == did)):
            return self.error(400, "InvalidRequest", "Invalid repo")
        collection, rkey, record = body.get("collection"), body.get("rkey"), body.get("record") or {}
        if rkey is None:
            rkey = "3" + format(self.next_id(), "012d").translate(str.maketrans("0189", "abcd"))
        if not _TID.fullmatch(rkey):
            return self.error(400, "InvalidRequest", f"Invalid record key: {rkey}")
        problem = self._validate_post(record) if collection == "app.bsky.feed.post" else None
        if problem:
            return self.error(400, "InvalidRequest", f"Invalid app.bsky.feed.post record: {problem}")
        key = (did, collection, rkey)
        if key in self.records:
            if self.duplicate_answer == "explicit":
                return self.error(400, "InvalidRequest", "Record already exists")
            return self.error(500, "InternalServerError", "Internal Server Error")
        cid = _cid(json.dumps(record, sort_keys=True).encode())
        uri = f"at://{did}/{collection}/{rkey}"
        self.records[key] = {"uri": uri, "cid": cid, "value": record}
        return Reply(200, {"uri": uri, "cid": cid, "commit": {"cid": _cid(uri.encode()), "rev": rkey}, "validationStatus": "valid"})

    def _validate_post(self, record: dict[str, Any]) -> str | None:
        if record.get("$type") != "app.bsky.feed.post":
            return "Record/$type must be app.bsky.feed.post"
        text = record.get("text", "")
        if len(regex.findall(r"\X", text)) > 300:
            return "Record/text must not be longer than 300 graphemes"
        if "createdAt" not in record:
            return 'Record must have the property "createdAt"'
        size = len(text.encode("utf-8"))
        for facet in record.get("facets", []):
            index = facet["index"]
            if not 0 <= index["byteStart"] < index["byteEnd"] <= size:
                return "Record/facets index out of range"
        embed = record.get("embed") or {}
        blobs = [image["image"] for image in embed.get("images", [])] + ([embed["video"]] if "video" in embed else [])
        for blob in blobs:
            if blob.get("ref", {}).get("$link") not in self.blobs:
                return "Record/embed blob not found"
        reply = record.get("reply")
        if reply:
            for ref in (reply["root"], reply["parent"]):
                match = re.fullmatch(r"at://([^/]+)/([^/]+)/([^/]+)", ref["uri"])
                existing = self.records.get(match.groups()) if match else None
                if existing is None or existing["cid"] != ref["cid"]:
                    return "Record/reply refers to a missing record"
        return None

    def get_record(self, request: RecordedRequest) -> Reply:
        repo, collection, rkey = request.arg("repo"), request.arg("collection"), request.arg("rkey")
        did = self.accounts.get(repo, {}).get("did", repo)
        record = self.records.get((did, collection, rkey))
        if record is None:
            return self.error(400, "RecordNotFound", f"Could not locate record: at://{did}/{collection}/{rkey}")
        return Reply(200, record)

    def delete_record(self, request: RecordedRequest) -> Reply:
        body = request.json
        did = self.access_tokens[request.bearer]
        self.records.pop((did, body["collection"], body["rkey"]), None)
        return Reply(200, {"commit": {"cid": _cid(body["rkey"].encode()), "rev": body["rkey"]}})
