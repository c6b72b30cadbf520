"""Bluesky, through the AT Protocol's XRPC API on the account's PDS.

Idempotency: every post record is created with a record key (`rkey`) derived from the post's
scheduled time and idempotency key (`tid_for`), so a second attempt targets the same record. The PDS refuses
to create a record whose key exists (today with a bare 500, see bluesky-social/atproto#3718;
newer PDS versions with an explicit error), so on any failed create the adapter reads that
record back and, if it is there, reports it as published instead of failing. A thread resumes
the same way: parts already created are found, missing ones are created.

Rich text: links, mentions and hashtags become facets whose ranges are UTF-8 *byte* offsets.
Mentions are resolved to DIDs with com.atproto.identity.resolveHandle; a handle that does not
resolve is left as plain text.

Record keys are TIDs (atproto.com/specs/tid: a 64-bit integer, top bit 0, 53 bits of
microseconds since 1970, 10 bits of clock id, 13 characters of base32-sortable): the time is the
post's scheduled second plus an offset within that second, and the clock id, both from a hash of
the idempotency key (30 bits, so posts due in the same second on one account do not collide);
thread part `i` is `i` microseconds after the first, so a thread's records list in order.

The PDS a login answer names (its DID document) is where every later request goes: it is
checked with one request there (getSession) before the login counts, so an address the egress
client refuses fails the login instead of being stored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Callable

import httpx

from socialhub.channels.adapters.base import MB, PlatformAdapter, PlatformLimits
from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.http import ApiClient, response_json, retry_after_seconds
from socialhub.channels.adapters.oauth import jwt_expiry
from socialhub.channels.adapters.text import clean_url, count_bluesky, find_urls, graphemes
from socialhub.channels.adapters.types import (
    AccountCredentials,
    MediaItem,
    OAuthTokens,
    PublishRequest,
    PublishResult,
)

DEFAULT_PDS = "https://bsky.social"
WEB_URL = "https://bsky.app"
POST_COLLECTION = "app.bsky.feed.post"

_AUTH_ERRORS = frozenset({"ExpiredToken", "InvalidToken", "AuthenticationRequired", "AuthMissing"})
_MEDIA_ERRORS = frozenset({"BlobTooLarge", "InvalidMimeType"})
_NOT_FOUND_ERRORS = frozenset({"RecordNotFound"})

# TIDs: 13 characters of base32-sortable; 53 bits of microseconds since 1970, then 10 bits of clock id.
_S32 = "234567abcdefghijklmnopqrstuvwxyz"
_TID_SPREAD_US = 1_000_000  # posts due in the same second are spread over it by their key
# Record keys of posts sent before TIDs followed the scheduled time (hashed into 2023-2024):
# `find_existing` still looks for them, so a post sent then and unconfirmed is not sent again.
_LEGACY_EPOCH_US = int(datetime(2023, 1, 1, tzinfo=UTC).timestamp() * 1_000_000)
_LEGACY_WINDOW_US = 1 << 45
_LEGACY_KEYS_UNTIL = datetime(2027, 1, 1, tzinfo=UTC)  # no post due later was sent with them: drop then

_MENTION = re.compile(r"(?:^|(?<=[\s(]))@([a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9\-]*[a-zA-Z0-9])?)+)")
_HASHTAG = re.compile(r"(?:^|(?<=\s))[#\uff03]([^\s#\uff03]+)")
_MAX_TAG_GRAPHEMES = 64


def tid(timestamp_us: int, clock_id: int) -> str:
    """The TID of a time (microseconds since 1970) and a clock id (0-1023)."""
    value = ((timestamp_us & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(_S32[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def _key_number(key: str) -> int:
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big")


def tid_for(key: str, scheduled_at: datetime | None, index: int = 0) -> str:
    """The record key of part `index` of the post with idempotency key `key`: the same on every
    attempt, increasing with `index`, and near the post's scheduled time.

    The time is `scheduled_at`'s second plus an offset in that second, the clock id the low 10
    bits of the same hash of `key`. Without a scheduled time (callers that have none) the time
    is the hash's alone, as before: still the same on every attempt.
    """
    number = _key_number(key)
    if scheduled_at is None:
        return tid(_LEGACY_EPOCH_US + (number >> 10) % _LEGACY_WINDOW_US + index, number)
    second = int(scheduled_at.timestamp() // 1)
    return tid(second * 1_000_000 + (number >> 10) % _TID_SPREAD_US + index, number)


def _legacy_tid(key: str) -> str:
    """The record key posts got before `tid_for` (one hash of each part's own key)."""
    number = _key_number(key)
    return tid(_LEGACY_EPOCH_US + (number >> 10) % _LEGACY_WINDOW_US, number)


@dataclass(frozen=True)
class AtUri:
    repo: str
    collection: str
    rkey: str

    @classmethod
    def parse(cls, uri: str) -> AtUri:
        match = re.fullmatch(r"at://([^/]+)/([^/]+)/([^/]+)", uri)
        if not match:
            raise ValidationError(f"not an AT URI: {uri!r}", platform="bluesky")
        return cls(*match.groups())

    def __str__(self) -> str:
        return f"at://{self.repo}/{self.collection}/{self.rkey}"


@dataclass(frozen=True)
class _Ref:
    uri: str
    cid: str
    existed: bool = False

    def strong(self) -> dict[str, str]:
        return {"uri": self.uri, "cid": self.cid}


def _error_name(response: httpx.Response) -> str | None:
    body = response_json(response)
    return body.get("error") if isinstance(body, dict) and isinstance(body.get("error"), str) else None


def _error_message(response: httpx.Response) -> str | None:
    body = response_json(response)
    if not isinstance(body, dict):
        return None
    return body.get("message") or body.get("error")


def _classify(response: httpx.Response, message: str) -> PlatformError | None:
    name = _error_name(response)
    if name in _AUTH_ERRORS:  # the PDS answers an expired token with a 400 ExpiredToken
        return AuthError(message, code=name)
    if name == "RateLimitExceeded" or response.status_code == 429:
        return RateLimitError(message, retry_after_seconds(response.headers), code=name)
    if name in _MEDIA_ERRORS:
        return MediaRejectedError(f"Bluesky refused the media: {message}", code=name)
    return None


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def detect_facets(text: str, resolve_handle: Callable[[str], str | None]) -> list[dict[str, Any]]:
    """Link, mention and hashtag facets of `text`, with UTF-8 byte ranges.

    `resolve_handle` returns the DID for a handle, or None to leave the mention as plain text.
    """
    facets: list[dict[str, Any]] = []

    def add(start: int, end: int, feature: dict[str, Any]) -> None:
        facets.append({
            "index": {"byteStart": _byte_offset(text, start), "byteEnd": _byte_offset(text, end)},
            "features": [feature],
        })

    for url in find_urls(text, bare_domains=True):
        add(url.start, url.end, {"$type": "app.bsky.richtext.facet#link", "uri": url.href})
    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".")
        did = resolve_handle(handle)
        if did:
            add(match.start(), match.start() + 1 + len(handle), {"$type": "app.bsky.richtext.facet#mention", "did": did})
    for match in _HASHTAG.finditer(text):
        tag = match.group(1)
        while tag and unicodedata.category(tag[-1]).startswith("P"):
            tag = tag[:-1]
        if not tag or tag.isdigit() or len(graphemes(tag)) > _MAX_TAG_GRAPHEMES:
            continue
        start = match.start(1) - 1
        add(start, match.start(1) + len(tag), {"$type": "app.bsky.richtext.facet#tag", "tag": tag})
    facets.sort(key=lambda f: f["index"]["byteStart"])
    return facets


class BlueskyAdapter(PlatformAdapter):
    """Bluesky accounts on any PDS (`AccountCredentials.base_url`, default bsky.social).

    Credentials: `access_token`/`refresh_token` are the session's accessJwt/refreshJwt,
    `account_id` the DID. If `extra["app_password"]` is set, a refresh whose refresh token has
    expired logs in again with it.
    """

    # -- metadata -----------------------------------------------------------------------------

    name = "bluesky"
    display_name = "Bluesky"
    counts_graphemes = True
    platform_idempotency = True

    _LIMITS = PlatformLimits(
        max_text_length=300,
        max_media_count=4,
        image_types=frozenset({"image/jpeg", "image/png", "image/webp", "image/gif"}),
        video_types=frozenset({"video/mp4"}),
        max_image_bytes=1_000_000,
        max_video_bytes=100 * MB,
        max_video_duration_seconds=180,
        max_alt_text_length=2000,
        supports_threads=True,
        supports_first_comment=True,
        extra={"max_text_bytes": 3000},
    )

    def __init__(
        self,
        *,
        base_url: str = DEFAULT_PDS,
        client: httpx.Client | None = None,
        timeout: httpx.Timeout | float | None = None,
        web_url: str = WEB_URL,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.web_url = web_url.rstrip("/")
        self._http = ApiClient(
            platform=self.name,
            base_url=self.base_url,
            client=client,
            timeout=timeout,
            extract_message=_error_message,
            extract_code=_error_name,
            classify=_classify,
        )

    @property
    def limits(self) -> PlatformLimits:
        return self._LIMITS

    def count_text(self, text: str) -> int:
        return count_bluesky(text)

    def validate(self, post: PublishRequest) -> list[str]:
        problems = super().validate(post)
        for part in post.parts:
            if len(part.text.encode("utf-8")) > self._LIMITS.extra["max_text_bytes"]:
                problems.append("text is longer than Bluesky's 3000 bytes")
        return problems

    def _request(
        self,
        method: str,
        nsid: str,
        *,
        account: AccountCredentials | None = None,
        token: str | None = None,
        base_url: str | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """Every XRPC call: at the account's PDS, with its access token unless `token` is given."""
        headers = dict(headers or {})
        bearer = token if token is not None else (account.access_token if account else None)
        if bearer:
            headers["Authorization"] = f"Bearer {bearer}"
        base = base_url or (account.base_url if account and account.base_url else None) or self.base_url
        return self._http.request(method, f"/xrpc/{nsid}", base_url=base, headers=headers, **kwargs)

    # -- auth ---------------------------------------------------------------------------------

    def create_session(self, identifier: str, password: str, *, base_url: str | None = None) -> OAuthTokens:
        """Log in with a handle (or email) and an app password."""
        body = self._request(
            "POST",
            "com.atproto.server.createSession",
            base_url=base_url,
            json={"identifier": identifier, "password": password},
        ).json()
        return self._tokens(body, base_url)

    def refresh_token(self, account: AccountCredentials) -> OAuthTokens:
        try:
            if not account.refresh_token:
                raise AuthError("no refresh token stored for this Bluesky account", platform=self.name)
            body = self._request("POST", "com.atproto.server.refreshSession", account=account, token=account.refresh_token).json()
        except AuthError:
            password = account.extra.get("app_password")
            identifier = account.handle or account.account_id
            if not password or not identifier:
                raise
            return self.create_session(identifier, password, base_url=account.base_url)
        return self._tokens(body, account.base_url)

    def _tokens(self, body: dict[str, Any], base_url: str | None) -> OAuthTokens:
        """The session in a login or refresh answer; a PDS it names (other than the server asked)
        is checked with getSession there first, through the egress client like every request."""
        pds = base_url
        for service in (body.get("didDoc") or {}).get("service", []) or []:
            if service.get("id", "").endswith("#atproto_pds") and service.get("serviceEndpoint"):
                pds = clean_url(service["serviceEndpoint"])
                if pds is None:
                    raise PlatformError("the login answer names a PDS that is not a web address", False,
                                        platform=self.name)
        tokens = OAuthTokens(
            access_token=body["accessJwt"],
            refresh_token=body.get("refreshJwt"),
            expires_at=jwt_expiry(body["accessJwt"]),
            account_id=body.get("did"),
            handle=body.get("handle"),
            base_url=pds,
        )
        if pds and pds.rstrip("/") != (base_url or self.base_url).rstrip("/"):
            self._request("GET", "com.atproto.server.getSession", token=tokens.access_token, base_url=pds)
        return tokens

    def resolve_handle(self, account: AccountCredentials, handle: str) -> str | None:
        """The DID of `handle`, or None when it does not resolve."""
        try:
            body = self._request("GET", "com.atproto.identity.resolveHandle", account=account, params={"handle": handle}).json()
        except PlatformError as exc:
            if exc.retryable or isinstance(exc, AuthError):
                raise
            return None
        return body.get("did")

    # -- publishing ---------------------------------------------------------------------------

    def publish(self, account: AccountCredentials, post: PublishRequest) -> PublishResult:
        self.check(post)
        did = self._did(account)
        root: _Ref | None = None
        parent: _Ref | None = None
        reply_root: dict[str, str] | None = None
        if post.reply_to:
            reply_root, parent_ref = self._reply_refs(account, post.reply_to)
            parent = _Ref(parent_ref["uri"], parent_ref["cid"])
        created: list[_Ref] = []
        try:
            for index, part in enumerate(post.parts):
                ref = self._create_post(
                    account,
                    did,
                    rkey=tid_for(post.idempotency_key, post.scheduled_at, index),
                    text=part.text,
                    media=part.media,
                    language=post.language,
                    reply=self._reply(reply_root or (root.strong() if root else None), parent),
                )
                created.append(ref)
                root = root or ref
                parent = ref
        except PlatformError as exc:
            if created and exc.partial is None:
                exc.partial = self._result(did, created, complete=False)
            raise
        assert root is not None
        comment_id, warnings = None, []
        if post.first_comment:
            try:
                comment = self._create_post(
                    account,
                    did,
                    rkey=self._comment_key(post),
                    text=post.first_comment,
                    media=(),
                    language=post.language,
                    reply=self._reply(reply_root or root.strong(), created[0]),
                )
                comment_id = comment.uri
            except PlatformError as exc:
                warnings.append(f"the first comment was not posted: {exc.message}")
        return self._result(did, created, first_comment_id=comment_id, warnings=tuple(warnings))

    def delete(self, account: AccountCredentials, platform_post_id: str) -> None:
        uri = AtUri.parse(platform_post_id)
        self._request(
            "POST",
            "com.atproto.repo.deleteRecord",
            account=account,
            json={"repo": self._did(account), "collection": uri.collection, "rkey": uri.rkey},
        )

    def find_existing(self, account: AccountCredentials, post: PublishRequest, *, since: datetime | None = None) -> PublishResult | None:  # noqa: ARG002 (record keys, not time)
        did = self._did(account)
        parts = range(len(post.parts))
        keys = [tid_for(post.idempotency_key, post.scheduled_at, index) for index in parts]
        comment_key = self._comment_key(post)
        found = self._records(account, did, keys)
        legacy = [_legacy_tid(post.part_key(index)) for index in parts]
        may_be_legacy = post.scheduled_at is None or post.scheduled_at < _LEGACY_KEYS_UNTIL
        if not found and may_be_legacy and legacy != keys:  # sent before keys followed the time?
            found = self._records(account, did, legacy)
            comment_key = _legacy_tid(f"{post.idempotency_key}#comment")
        if not found:
            return None
        complete = len(found) == len(post.parts)
        comment_id = None
        if complete and post.first_comment:
            comment = self.get_record(account, did, comment_key)
            comment_id = comment["uri"] if comment else None
        return self._result(did, found, complete=complete, first_comment_id=comment_id)

    def _records(self, account: AccountCredentials, did: str, keys: list[str]) -> list[_Ref]:
        """The records with these keys, in order, up to the first missing one."""
        found: list[_Ref] = []
        for key in keys:
            record = self.get_record(account, did, key)
            if record is None:
                break
            found.append(_Ref(record["uri"], record["cid"], existed=True))
        return found

    @staticmethod
    def _comment_key(post: PublishRequest) -> str:
        """The first comment's record key: right after the thread's last part."""
        return tid_for(post.idempotency_key, post.scheduled_at, len(post.parts))

    def get_record(self, account: AccountCredentials, repo: str, rkey: str, collection: str = POST_COLLECTION) -> dict[str, Any] | None:
        """The record (`uri`, `cid`, `value`), or None when it does not exist."""
        try:
            return self._request(
                "GET",
                "com.atproto.repo.getRecord",
                account=account,
                params={"repo": repo, "collection": collection, "rkey": rkey},
            ).json()
        except PlatformError as exc:
            not_found = exc.code in _NOT_FOUND_ERRORS or "could not locate record" in exc.message.lower()
            if not_found and not exc.retryable:
                return None
            raise

    def _create_post(
        self,
        account: AccountCredentials,
        did: str,
        *,
        rkey: str,
        text: str,
        media: tuple[MediaItem, ...],
        language: str | None,
        reply: dict[str, Any] | None,
    ) -> _Ref:
        record: dict[str, Any] = {"$type": POST_COLLECTION, "text": text, "createdAt": _now_iso()}
        facets = detect_facets(text, lambda handle: self.resolve_handle(account, handle))
        if facets:
            record["facets"] = facets
        if language:
            record["langs"] = [language]
        if reply:
            record["reply"] = reply
        if media:
            record["embed"] = self._embed(account, media)
        try:
            body = self._request(
                "POST",
                "com.atproto.repo.createRecord",
                account=account,
                json={"repo": did, "collection": POST_COLLECTION, "rkey": rkey, "record": record},
            ).json()
        except (AuthError, RateLimitError, UnknownOutcomeError, MediaRejectedError):
            raise
        except PlatformError:
            # A record with this key may already exist from an earlier attempt: then it is ours.
            existing = self.get_record(account, did, rkey)
            if existing is None:
                raise
            return _Ref(existing["uri"], existing["cid"], existed=True)
        return _Ref(body["uri"], body["cid"])

    def _reply(self, root: dict[str, str] | None, parent: _Ref | None) -> dict[str, Any] | None:
        if root is None or parent is None:
            return None
        return {"root": root, "parent": parent.strong()}

    def _reply_refs(self, account: AccountCredentials, uri: str) -> tuple[dict[str, str], dict[str, str]]:
        """(root, parent) strong refs for replying to the post at `uri`."""
        at = AtUri.parse(uri)
        record = self.get_record(account, at.repo, at.rkey, at.collection)
        if record is None:
            raise PlatformError(f"the post to reply to does not exist: {uri}", False, platform=self.name)
        parent = {"uri": record["uri"], "cid": record["cid"]}
        root = (record.get("value") or {}).get("reply", {}).get("root") or parent
        return root, parent

    def _result(
        self,
        did: str,
        refs: list[_Ref],
        *,
        complete: bool = True,
        first_comment_id: str | None = None,
        warnings: tuple[str, ...] = (),
    ) -> PublishResult:
        first = refs[0]
        return PublishResult(
            platform_post_id=first.uri,
            url=f"{self.web_url}/profile/{did}/post/{AtUri.parse(first.uri).rkey}",
            thread_post_ids=tuple(r.uri for r in refs),
            first_comment_id=first_comment_id,
            already_existed=first.existed,
            complete=complete,
            warnings=warnings,
            extra={"cid": first.cid, "cids": [r.cid for r in refs]},
        )

    def _did(self, account: AccountCredentials) -> str:
        if not account.account_id:
            raise AuthError("the Bluesky account has no DID stored; reconnect it", platform=self.name)
        return account.account_id

    # -- media --------------------------------------------------------------------------------

    def upload_blob(self, account: AccountCredentials, item: MediaItem) -> dict[str, Any]:
        """Upload one file; returns the blob reference to put in a record."""
        body = self._request(
            "POST",
            "com.atproto.repo.uploadBlob",
            account=account,
            content=item.read(),
            headers={"Content-Type": item.content_type},
        ).json()
        return body["blob"]

    def _embed(self, account: AccountCredentials, media: tuple[MediaItem, ...]) -> dict[str, Any]:
        def aspect(item: MediaItem) -> dict[str, Any]:
            return {"aspectRatio": {"width": item.width, "height": item.height}} if item.width and item.height else {}

        if media[0].kind == "video":
            item = media[0]
            return {"$type": "app.bsky.embed.video", "video": self.upload_blob(account, item), "alt": item.alt_text, **aspect(item)}
        images = [{"alt": item.alt_text, "image": self.upload_blob(account, item), **aspect(item)} for item in media]
        return {"$type": "app.bsky.embed.images", "images": images}
