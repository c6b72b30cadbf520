"""X adapter against the fake X API v2."""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest

from socialhub.channels.adapters import x as x_module
from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest, ThreadPart
from socialhub.channels.adapters.x import XAdapter

REDIRECT = "https://socialhub.example/oauth/x/callback"


@pytest.fixture
def adapter(x_server, http_client):
    return XAdapter(base_url=x_server.url, client_id=x_server.client_id, client=http_client, poll_interval=0.01, poll_timeout=2)


@pytest.fixture
def account(x_server):
    return AccountCredentials(
        access_token=x_server.issue_token(),
        refresh_token=x_server.issue_refresh_token(),
        account_id=x_server.user["id"],
        handle="alice",
    )


def test_authorization_url_uses_pkce_s256(adapter):
    start = adapter.start_authorization(redirect_uri=REDIRECT)

    query = parse_qs(urlsplit(start.url).query)
    assert start.url.startswith("https://x.com/i/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"]
    expected = base64.urlsafe_b64encode(hashlib.sha256(start.code_verifier.encode()).digest()).rstrip(b"=").decode()
    assert query["code_challenge"] == [expected]
    assert "offline.access" in query["scope"][0].split() and query["state"] == [start.state]


def test_code_exchange_checks_the_verifier_and_finds_the_user(adapter, x_server):
    start = adapter.start_authorization(redirect_uri=REDIRECT)
    challenge = parse_qs(urlsplit(start.url).query)["code_challenge"][0]
    code = x_server.issue_code(REDIRECT, challenge)

    tokens = adapter.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=start.code_verifier)

    assert tokens.account_id == x_server.user["id"] and tokens.handle == "alice"
    assert tokens.refresh_token in x_server.refresh_tokens
    assert tokens.expires_at is not None


def test_code_exchange_with_the_wrong_verifier_is_auth_error(adapter, x_server):
    code = x_server.issue_code(REDIRECT, "not-the-challenge")

    with pytest.raises(AuthError, match="authorization code was invalid"):
        adapter.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier="verifier")


def test_confidential_client_sends_basic_auth(x_server, http_client):
    x_server.client_secret = "s3cret"
    adapter = XAdapter(base_url=x_server.url, client_id=x_server.client_id, client_secret="s3cret", client=http_client)

    tokens = adapter.refresh_token(AccountCredentials(access_token="old", refresh_token=x_server.issue_refresh_token()))

    assert tokens.access_token in x_server.tokens


def test_refresh_rotates_the_refresh_token(adapter, account, x_server):
    tokens = adapter.refresh_token(account)

    assert tokens.refresh_token != account.refresh_token
    assert account.refresh_token not in x_server.refresh_tokens
    with pytest.raises(AuthError):
        adapter.refresh_token(account)  # the old refresh token is spent: reconnect


def test_publish_text(adapter, account, x_server):
    result = adapter.publish(account, PublishRequest(text="hello from SocialHub", idempotency_key="t1"))

    assert x_server.received("POST", "/2/tweets")[0].json == {"text": "hello from SocialHub"}
    assert result.platform_post_id == x_server.tweets[0]["id"]
    assert result.url == f"https://x.com/alice/status/{result.platform_post_id}"


def test_image_is_uploaded_in_one_request_and_gets_alt_text(adapter, account, x_server):
    photo = MediaItem("image/png", data=b"\x89PNG data", alt_text="A chart going up")

    adapter.publish(account, PublishRequest(text="chart", media=[photo], idempotency_key="t2"))

    upload = x_server.received("POST", r"/2/media/upload\Z")[0].multipart
    assert upload["media"].data == b"\x89PNG data"
    assert upload["media_category"].text == "tweet_image" and upload["media_type"].text == "image/png"
    media_id = next(iter(x_server.media))
    assert x_server.media[media_id]["alt_text"] == "A chart going up"
    assert x_server.received("POST", "/2/tweets")[0].json["media"] == {"media_ids": [media_id]}


def test_video_uses_chunked_upload_and_waits_for_processing(adapter, account, x_server, monkeypatch):
    monkeypatch.setattr(x_module, "CHUNK_SIZE", 4)
    clip = MediaItem("video/mp4", data=b"0123456789", duration_seconds=5)

    adapter.publish(account, PublishRequest(text="clip", media=[clip], idempotency_key="t3"))

    init = x_server.received("POST", "/initialize")[0].json
    assert init == {"media_type": "video/mp4", "total_bytes": 10, "media_category": "tweet_video"}
    segments = [r.multipart for r in x_server.received("POST", "/append")]
    assert [s["segment_index"].text for s in segments] == ["0", "1", "2"]
    assert b"".join(s["media"].data for s in segments) == b"0123456789"
    assert len(x_server.received("GET", "/2/media/upload")) == x_server.video_processing_polls + 1
    assert len(x_server.tweets) == 1


def test_video_processing_failure_is_media_rejected(adapter, account, x_server):
    x_server.fail_video_processing = True

    with pytest.raises(MediaRejectedError, match="Unsupported video format"):
        adapter.publish(account, PublishRequest(text="clip", media=[MediaItem("video/mp4", data=b"bad")], idempotency_key="t4"))

    assert x_server.tweets == []


def test_thread_replies_to_the_previous_post(adapter, account, x_server):
    result = adapter.publish(account, PublishRequest(text="1/2", thread=[ThreadPart("2/2")], first_comment="more", idempotency_key="t5"))

    first, second, comment = x_server.tweets
    assert "referenced_tweets" not in first
    assert second["referenced_tweets"] == [{"type": "replied_to", "id": first["id"]}]
    assert comment["referenced_tweets"] == [{"type": "replied_to", "id": first["id"]}]
    assert result.thread_post_ids == (first["id"], second["id"]) and result.first_comment_id == comment["id"]


def test_unknown_outcome_is_found_despite_tco_links_escaping_and_media_link(adapter, account, x_server):
    text = "Fish & chips <3 https://example.com/menu?day=friday"
    post = PublishRequest(text=text, media=[MediaItem("image/jpeg", data=b"jpg")], idempotency_key="t6")
    x_server.fail_next("timeout", path="/2/tweets")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    stored = x_server.tweets[0]["text"]
    assert "&amp;" in stored and "https://t.co/" in stored
    found = adapter.find_existing(account, post)
    assert found is not None and found.platform_post_id == x_server.tweets[0]["id"] and found.already_existed


def test_find_existing_is_none_when_nothing_was_posted(adapter, account, x_server):
    adapter.publish(account, PublishRequest(text="a different post", idempotency_key="t7"))

    assert adapter.find_existing(account, PublishRequest(text="never sent", idempotency_key="t8")) is None


def test_retry_that_x_refuses_as_duplicate_reports_the_existing_post(adapter, account, x_server):
    post = PublishRequest(text="only one copy please", idempotency_key="t9")
    x_server.fail_next("timeout", path="/2/tweets")
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    result = adapter.publish(account, post)

    assert len(x_server.tweets) == 1
    assert result.already_existed and result.platform_post_id == x_server.tweets[0]["id"]


def test_rate_limit_wait_comes_from_x_rate_limit_reset(adapter, account, x_server):
    x_server.fail_next("rate_limit", path="/2/tweets", retry_after=60)

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="rl"))

    assert 55 <= failure.value.retry_after_seconds <= 61
    assert failure.value.message == "Too Many Requests"


def test_unauthorized_is_auth_error(adapter, account, x_server):
    x_server.fail_next("unauthorized")

    with pytest.raises(AuthError):
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="401"))


def test_service_unavailable_is_retryable(adapter, account, x_server):
    x_server.fail_next("server_error")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="503"))

    assert failure.value.retryable and failure.value.status_code == 503


def test_invalid_request_message_comes_from_the_errors_list(adapter, account):
    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="reply", reply_to="1", idempotency_key="400"))

    assert "is not a valid Tweet" in failure.value.message
    assert not failure.value.retryable


def test_timeout_while_reading_is_retryable_not_unknown(adapter, account, x_server):
    x_server.fail_next("hang", method="GET")

    with pytest.raises(PlatformError) as failure:
        adapter.find_existing(account, PublishRequest(text="x", idempotency_key="read"))

    assert failure.value.retryable and not isinstance(failure.value, UnknownOutcomeError)


def test_followers_only_visibility_is_refused_before_sending(adapter, account, x_server):
    with pytest.raises(ValidationError, match="visibility"):
        adapter.publish(account, PublishRequest(text="secret", visibility="followers", idempotency_key="vis"))

    assert x_server.requests == []


def test_delete_removes_the_post(adapter, account, x_server):
    result = adapter.publish(account, PublishRequest(text="bye", idempotency_key="del"))

    adapter.delete(account, result.platform_post_id)

    assert x_server.tweets == []
