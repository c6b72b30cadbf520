"""Mastodon adapter against the fake instance."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlsplit

import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest, ThreadPart

REDIRECT = "https://socialhub.example/oauth/mastodon/callback"


@pytest.fixture
def adapter(mastodon_server, http_client):
    return MastodonAdapter(base_url=mastodon_server.url, client=http_client, poll_interval=0.01, poll_timeout=2)


@pytest.fixture
def account(mastodon_server):
    return AccountCredentials(access_token=mastodon_server.issue_token(), account_id=mastodon_server.account["id"], handle="alice", base_url=mastodon_server.url)


def test_connecting_registers_the_app_and_exchanges_the_code(adapter, mastodon_server):
    app = adapter.register_app(client_name="SocialHub", redirect_uri=REDIRECT, website="https://socialhub.example")
    start = adapter.start_authorization(redirect_uri=REDIRECT)
    query = parse_qs(urlsplit(start.url).query)
    assert urlsplit(start.url).path == "/oauth/authorize"
    assert query["client_id"] == [app.client_id] and query["scope"] == ["read write"] and query["state"] == [start.state]
    assert query["code_challenge_method"] == ["S256"]

    code = mastodon_server.issue_code(app.client_id, REDIRECT)
    tokens = adapter.exchange_code(code=code, redirect_uri=REDIRECT, code_verifier=start.code_verifier)

    assert tokens.access_token in mastodon_server.tokens
    assert tokens.account_id == mastodon_server.account["id"] and tokens.handle == "alice"
    assert mastodon_server.received("POST", "/api/v1/apps")[0].form["redirect_uris"] == REDIRECT


def test_exchanging_a_used_code_is_auth_error(adapter, mastodon_server):
    app = adapter.register_app(client_name="SocialHub", redirect_uri=REDIRECT)
    code = mastodon_server.issue_code(app.client_id, REDIRECT)
    adapter.exchange_code(code=code, redirect_uri=REDIRECT)

    with pytest.raises(AuthError, match="invalid_grant"):
        adapter.exchange_code(code=code, redirect_uri=REDIRECT)


def test_publish_sends_visibility_language_and_idempotency_key(adapter, account, mastodon_server):
    result = adapter.publish(account, PublishRequest(text="Hallo Welt", visibility="followers", language="de", idempotency_key="target-1"))

    request = mastodon_server.received("POST", "/api/v1/statuses")[0]
    assert request.headers["idempotency-key"] == "target-1"
    assert request.json == {"status": "Hallo Welt", "visibility": "private", "language": "de"}
    assert result.platform_post_id == mastodon_server.statuses[0]["id"]
    assert result.url == mastodon_server.statuses[0]["url"]


def test_same_idempotency_key_gives_one_status(adapter, account, mastodon_server):
    post = PublishRequest(text="exactly once", idempotency_key="target-2")

    first = adapter.publish(account, post)
    second = adapter.publish(account, post)

    assert len(mastodon_server.statuses) == 1
    assert first.platform_post_id == second.platform_post_id


def test_image_is_uploaded_with_its_description(adapter, account, mastodon_server):
    photo = MediaItem("image/jpeg", data=b"\xff\xd8jpeg", alt_text="Sunset over the harbour", filename="sunset.jpg")

    adapter.publish(account, PublishRequest(text="look", media=[photo], idempotency_key="img"))

    upload = mastodon_server.received("POST", "/api/v2/media")[0].multipart
    assert upload["file"].data == b"\xff\xd8jpeg" and upload["file"].filename == "sunset.jpg"
    assert upload["description"].text == "Sunset over the harbour"
    media_id = next(iter(mastodon_server.media))
    assert mastodon_server.received("POST", "/api/v1/statuses")[0].json["media_ids"] == [media_id]


def test_video_upload_waits_for_processing_before_posting(adapter, account, mastodon_server):
    clip = MediaItem("video/mp4", data=b"\x00\x00\x00\x18ftypmp42", duration_seconds=3)

    adapter.publish(account, PublishRequest(text="clip", media=[clip], idempotency_key="vid"))

    polls = mastodon_server.received("GET", "/api/v1/media/")
    assert len(polls) == mastodon_server.video_processing_polls + 1
    assert mastodon_server.statuses[0]["media_attachments"][0]["type"] == "video"


def test_thread_parts_reply_to_the_previous_status_each_with_its_own_key(adapter, account, mastodon_server):
    post = PublishRequest(text="1/2 first", thread=[ThreadPart("2/2 second")], first_comment="source: me", idempotency_key="thread")

    result = adapter.publish(account, post)

    first, second, comment = mastodon_server.statuses
    assert second["in_reply_to_id"] == first["id"]
    assert comment["in_reply_to_id"] == first["id"]
    keys = [r.headers["idempotency-key"] for r in mastodon_server.received("POST", "/api/v1/statuses")]
    assert keys == ["thread", "thread#1", "thread#comment"]
    assert result.thread_post_ids == (first["id"], second["id"]) and result.first_comment_id == comment["id"]


def test_timeout_after_the_status_was_created_is_unknown_outcome_then_found(adapter, account, mastodon_server):
    text = "New post: https://example.com/a/very/long/path/that/mastodon/shortens?x=1 cc @bob@other.example & friends"
    post = PublishRequest(text=text, idempotency_key="target-3")
    mastodon_server.fail_next("timeout", path="/api/v1/statuses")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.already_existed
    assert found.platform_post_id == mastodon_server.statuses[0]["id"]
    assert adapter.find_existing(account, PublishRequest(text="something else", idempotency_key="other")) is None


def test_retry_after_unknown_outcome_reuses_the_status_through_the_key(adapter, account, mastodon_server):
    post = PublishRequest(text="retried", idempotency_key="target-4")
    mastodon_server.fail_next("timeout", path="/api/v1/statuses")
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    adapter.publish(account, post)

    assert len(mastodon_server.statuses) == 1


def test_thread_failing_part_way_resumes_from_the_published_parts(adapter, account, mastodon_server):
    post = PublishRequest(text="one", thread=[ThreadPart("two"), ThreadPart("three")], idempotency_key="resume")
    mastodon_server.fail_next("server_error", path="/api/v1/statuses", after=1)

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, post)
    assert failure.value.retryable and failure.value.partial.thread_post_ids == (mastodon_server.statuses[0]["id"],)

    resumed = replace(post, published_part_ids=failure.value.partial.thread_post_ids)
    result = adapter.publish(account, resumed)

    assert [s["content"] for s in mastodon_server.statuses] == ["<p>one</p>", "<p>two</p>", "<p>three</p>"]
    assert mastodon_server.statuses[1]["in_reply_to_id"] == result.platform_post_id


def test_rate_limit_wait_comes_from_the_iso_reset_header(adapter, account, mastodon_server):
    mastodon_server.fail_next("rate_limit", retry_after=20)

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="rl"))

    assert 15 <= failure.value.retry_after_seconds <= 21


def test_invalid_token_is_auth_error_with_mastodons_message(adapter, mastodon_server):
    stranger = AccountCredentials(access_token="revoked", account_id="1", base_url=mastodon_server.url)

    with pytest.raises(AuthError, match="The access token is invalid"):
        adapter.publish(stranger, PublishRequest(text="hi", idempotency_key="401"))


def test_server_error_html_page_is_retryable_with_a_short_message(adapter, account, mastodon_server):
    mastodon_server.fail_next("server_error")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="500"))

    assert failure.value.retryable
    assert failure.value.message == "HTTP 500 Internal Server Error"


def test_instance_limit_comes_from_the_instance_and_is_enforced(mastodon_server, http_client, account):
    mastodon_server.max_characters = 1000
    limits = MastodonAdapter(base_url=mastodon_server.url, client=http_client).fetch_instance_limits()
    assert limits.max_text_length == 1000 and limits.max_media_count == 4
    assert limits.max_video_bytes == 103809024

    roomy = MastodonAdapter(base_url=mastodon_server.url, client=http_client, limits=limits)
    roomy.publish(account, PublishRequest(text="x" * 900, idempotency_key="long-ok"))
    with pytest.raises(ValidationError, match="1000"):
        roomy.publish(account, PublishRequest(text="x" * 1001, idempotency_key="long-bad"))


def test_instance_rejection_keeps_mastodons_message_and_is_not_retryable(mastodon_server, http_client, account):
    # the adapter believes in 1000 characters; the instance allows 500
    adapter = MastodonAdapter(base_url=mastodon_server.url, client=http_client, max_characters=1000)

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="y" * 600, idempotency_key="too-long"))

    assert failure.value.message == "Validation failed: Text character limit of 500 exceeded"
    assert not failure.value.retryable and failure.value.status_code == 422


def test_refresh_without_refresh_token_means_reconnect(adapter, account):
    with pytest.raises(AuthError, match="reconnect"):
        adapter.refresh_token(account)


def test_delete_removes_the_status(adapter, account, mastodon_server):
    result = adapter.publish(account, PublishRequest(text="bye", idempotency_key="del"))

    adapter.delete(account, result.platform_post_id)

    assert mastodon_server.statuses == []
