"""Threads adapter against the fake Threads API."""

from __future__ import annotations

import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.threads import ThreadsAdapter
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest, ThreadPart

REDIRECT = "https://socialhub.example/oauth/threads/callback"


def public_url(item: MediaItem) -> str:
    return f"https://media.socialhub.example/{item.key}"


@pytest.fixture
def adapter(threads_server, http_client):
    return ThreadsAdapter(
        base_url=threads_server.url,
        client=http_client,
        client_id=threads_server.client_id,
        client_secret=threads_server.client_secret,
        media_url_for=public_url,
        poll_interval=0.01,
        poll_timeout=2,
    )


@pytest.fixture
def account(threads_server):
    return AccountCredentials(access_token=threads_server.issue_token("THL"), account_id=threads_server.user_id)


def test_text_post_is_a_text_container_published_after_it_finishes(adapter, account, threads_server):
    result = adapter.publish(account, PublishRequest(text="Hello Threads", idempotency_key="th1"))

    create_request = threads_server.received("POST", r"/threads\Z")[0]
    create = create_request.form
    assert create["media_type"] == "TEXT" and create["text"] == "Hello Threads"
    assert create_request.bearer == account.access_token and "access_token" not in create
    publish = threads_server.received("POST", "/threads_publish")[0].form
    assert publish["creation_id"] in threads_server.containers
    assert threads_server.received("GET", publish["creation_id"])[0].query["fields"] == ["status,error_message"]
    assert result.platform_post_id == threads_server.posts[0]["id"]
    assert result.url == threads_server.posts[0]["permalink"]


def test_image_is_given_by_public_url_with_alt_text_and_polled(adapter, account, threads_server):
    photo = MediaItem("image/jpeg", data=b"jpg", key="abc.jpg", alt_text="A lighthouse")

    adapter.publish(account, PublishRequest(text="view", media=[photo], idempotency_key="th2"))

    create = threads_server.received("POST", r"/threads\Z")[0].form
    assert create["media_type"] == "IMAGE"
    assert create["image_url"] == "https://media.socialhub.example/abc.jpg" and create["alt_text"] == "A lighthouse"
    container_id = threads_server.received("POST", "/threads_publish")[0].form["creation_id"]
    assert len(threads_server.received("GET", container_id)) == 2  # IN_PROGRESS, then FINISHED


def test_carousel_creates_item_containers_then_the_carousel(adapter, account, threads_server):
    media = [MediaItem("image/jpeg", data=b"1", key="1.jpg"), MediaItem("video/mp4", data=b"2", key="2.mp4")]

    adapter.publish(account, PublishRequest(text="two things", media=media, idempotency_key="th3"))

    creates = [r.form for r in threads_server.received("POST", r"/threads\Z")]
    assert [c["media_type"] for c in creates] == ["IMAGE", "VIDEO", "CAROUSEL"]
    assert all(c["is_carousel_item"] == "true" for c in creates[:2])
    carousel = threads_server.containers[threads_server.received("POST", "/threads_publish")[0].form["creation_id"]]
    assert carousel["fields"]["children"].split(",") == [c for c in threads_server.containers if c != carousel["id"]]
    assert carousel["fields"]["text"] == "two things"


def test_thread_parts_and_first_comment_are_replies(adapter, account, threads_server):
    result = adapter.publish(account, PublishRequest(text="one", thread=[ThreadPart("two")], first_comment="three", idempotency_key="th4"))

    first, second, comment = threads_server.posts
    assert first["reply_to"] is None and second["reply_to"] == first["id"] and comment["reply_to"] == first["id"]
    assert result.thread_post_ids == (first["id"], second["id"]) and result.first_comment_id == comment["id"]


def test_media_that_cannot_be_downloaded_is_rejected_with_a_clear_message(adapter, account, threads_server):
    photo = MediaItem("image/jpeg", data=b"x", url="https://private.example/unreachable.jpg")

    with pytest.raises(MediaRejectedError) as failure:
        adapter.publish(account, PublishRequest(text="x", media=[photo], idempotency_key="th5"))

    assert failure.value.code == 2207052
    assert "public https URL" in failure.value.message
    assert threads_server.posts == []


def test_container_that_ends_in_error_is_media_rejected_with_its_error_message(adapter, account, threads_server):
    clip = MediaItem("video/mp4", data=b"x", url="https://media.socialhub.example/broken.mp4")

    with pytest.raises(MediaRejectedError, match="FAILED_PROCESSING_VIDEO"):
        adapter.publish(account, PublishRequest(text="x", media=[clip], idempotency_key="th6"))

    assert threads_server.received("POST", "/threads_publish") == []


def test_media_without_a_public_url_is_refused(http_client, threads_server, account):
    adapter = ThreadsAdapter(base_url=threads_server.url, client=http_client, poll_interval=0.01)

    with pytest.raises(ValidationError, match="public URL"):
        adapter.publish(account, PublishRequest(text="x", media=[MediaItem("image/jpeg", data=b"x")], idempotency_key="th7"))


def test_request_level_media_url_for_wins(http_client, threads_server, account):
    adapter = ThreadsAdapter(base_url=threads_server.url, client=http_client, poll_interval=0.01)
    post = PublishRequest(text="x", media=[MediaItem("image/jpeg", data=b"x", key="k.jpg")], media_url_for=lambda m: f"https://cdn.example/{m.key}", idempotency_key="th8")

    adapter.publish(account, post)

    assert threads_server.received("POST", r"/threads\Z")[0].form["image_url"] == "https://cdn.example/k.jpg"


def test_expired_token_is_auth_error_even_though_graph_answers_400(adapter, account, threads_server):
    threads_server.expired_tokens.add(account.access_token)

    with pytest.raises(AuthError) as failure:
        adapter.publish(account, PublishRequest(text="x", idempotency_key="th9"))

    assert failure.value.status_code == 400 and failure.value.code == 190
    assert "Session has expired" in failure.value.message


def test_unauthorized_is_auth_error(adapter, account, threads_server):
    threads_server.fail_next("unauthorized")

    with pytest.raises(AuthError):
        adapter.publish(account, PublishRequest(text="x", idempotency_key="th10"))


def test_throttling_code_4_is_rate_limit_with_the_time_to_regain_access(adapter, account, threads_server):
    threads_server.fail_next("rate_limit", retry_after=120)

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="x", idempotency_key="th11"))

    assert failure.value.retry_after_seconds == 120 and failure.value.code == 4


def test_transient_server_error_is_retryable(adapter, account, threads_server):
    threads_server.fail_next("server_error")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="x", idempotency_key="th12"))

    assert failure.value.retryable and "retry your request later" in failure.value.message


def test_timeout_on_publish_is_unknown_outcome_then_found(adapter, account, threads_server):
    post = PublishRequest(text="published or not?", idempotency_key="th13")
    threads_server.fail_next("timeout", path="/threads_publish")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.platform_post_id == threads_server.posts[0]["id"]
    assert found.url == threads_server.posts[0]["permalink"]
    assert adapter.find_existing(account, PublishRequest(text="never", idempotency_key="th14")) is None


def test_code_exchange_then_long_lived_token(adapter, threads_server):
    tokens = adapter.exchange_code(code=threads_server.issue_code(REDIRECT), redirect_uri=REDIRECT)

    assert tokens.access_token.startswith("THL") and tokens.account_id == threads_server.user_id
    assert tokens.expires_at is not None
    assert threads_server.received("GET", "/access_token")[0].query["grant_type"] == ["th_exchange_token"]


def test_refresh_extends_the_long_lived_token(adapter, account, threads_server):
    tokens = adapter.refresh_token(account)

    request = threads_server.received("GET", "/refresh_access_token")[0]
    assert request.query["grant_type"] == ["th_refresh_token"] and request.bearer == account.access_token
    assert tokens.access_token in threads_server.tokens and tokens.expires_at is not None


def test_delete_removes_the_post(adapter, account, threads_server):
    result = adapter.publish(account, PublishRequest(text="bye", idempotency_key="th15"))

    adapter.delete(account, result.platform_post_id)

    assert threads_server.posts == []


def test_no_request_carries_the_token_in_its_url(adapter, account, threads_server):
    result = adapter.publish(account, PublishRequest(text="tokens stay out of URLs", idempotency_key="th-url"))
    adapter.find_existing(account, PublishRequest(text="tokens stay out of URLs", idempotency_key="th-url"))
    adapter.delete(account, result.platform_post_id)
    adapter.refresh_token(account)

    assert threads_server.requests and all(r.bearer == account.access_token for r in threads_server.requests)
    assert not [r.path for r in threads_server.requests if "access_token" in r.query or "access_token" in r.form]
