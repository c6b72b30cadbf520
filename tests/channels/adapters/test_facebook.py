"""Facebook Page adapter against the fake Graph API."""

from __future__ import annotations

import json

import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
)
from socialhub.channels.adapters.facebook import FacebookAdapter
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest

REDIRECT = "https://socialhub.example/oauth/facebook/callback"


@pytest.fixture
def adapter(facebook_server, http_client):
    return FacebookAdapter(
        base_url=facebook_server.url,
        client=http_client,
        client_id=facebook_server.client_id,
        client_secret=facebook_server.client_secret,
    )


@pytest.fixture
def account(facebook_server):
    return AccountCredentials(
        access_token=facebook_server.issue_page_token(),
        refresh_token=facebook_server.issue_user_token(),
        account_id=facebook_server.page_id,
    )


def test_text_post_goes_to_the_page_feed_with_a_link(adapter, account, facebook_server):
    result = adapter.publish(account, PublishRequest(text="We open at 8", options={"link": "https://bakery.example"}, idempotency_key="fb1"))

    request = facebook_server.received("POST", "/feed")[0]
    assert request.form == {"message": "We open at 8", "link": "https://bakery.example"}
    assert request.bearer == account.access_token
    assert result.platform_post_id == facebook_server.posts[0]["id"]
    assert result.url == f"https://www.facebook.com/{result.platform_post_id}"


def test_single_photo_is_uploaded_as_bytes_and_the_feed_post_id_returned(adapter, account, facebook_server):
    picture = MediaItem("image/jpeg", data=b"\xff\xd8photo", alt_text="Croissants", filename="c.jpg")

    result = adapter.publish(account, PublishRequest(text="Morning batch", media=[picture], idempotency_key="fb2"))

    upload = facebook_server.received("POST", "/photos")[0].multipart
    assert upload["source"].data == b"\xff\xd8photo" and upload["source"].filename == "c.jpg"
    assert upload["message"].text == "Morning batch" and upload["alt_text_custom"].text == "Croissants"
    assert result.platform_post_id == facebook_server.posts[0]["id"]


def test_several_photos_are_uploaded_unpublished_and_attached_to_one_post(adapter, account, facebook_server):
    pictures = [MediaItem("image/jpeg", data=b"1"), MediaItem("image/png", data=b"2")]

    adapter.publish(account, PublishRequest(text="Two cakes", media=pictures, idempotency_key="fb3"))

    uploads = [r.multipart["published"].text for r in facebook_server.received("POST", "/photos")]
    assert uploads == ["false", "false"]
    feed = facebook_server.received("POST", "/feed")[0].form
    attached = [json.loads(feed[f"attached_media[{i}]"])["media_fbid"] for i in range(2)]
    assert attached == list(facebook_server.photos) and len(facebook_server.posts) == 1


def test_first_comment_is_posted_on_the_post(adapter, account, facebook_server):
    result = adapter.publish(account, PublishRequest(text="post", first_comment="menu in the comments", idempotency_key="fb4"))

    assert facebook_server.comments[0]["post_id"] == result.platform_post_id
    assert result.first_comment_id == facebook_server.comments[0]["id"]


def test_posting_with_a_user_token_instead_of_a_page_token_is_auth_error(adapter, facebook_server):
    wrong = AccountCredentials(access_token=facebook_server.issue_user_token(), account_id=facebook_server.page_id)

    with pytest.raises(AuthError, match="pages_manage_posts"):
        adapter.publish(wrong, PublishRequest(text="x", idempotency_key="fb5"))


def test_refresh_renews_the_user_token_and_takes_a_new_page_token(adapter, account, facebook_server):
    tokens = adapter.refresh_token(account)

    assert tokens.access_token in facebook_server.page_tokens and tokens.access_token != account.access_token
    assert tokens.refresh_token in facebook_server.user_tokens and tokens.refresh_token != account.refresh_token
    assert facebook_server.received("GET", "/oauth/access_token")[0].query["grant_type"] == ["fb_exchange_token"]


def test_refresh_with_an_invalidated_user_token_means_reconnect(adapter, facebook_server):
    dead = AccountCredentials(access_token="page", refresh_token="invalidated", account_id=facebook_server.page_id)

    with pytest.raises(AuthError, match="changed their password"):
        adapter.refresh_token(dead)


def test_code_exchange_then_list_pages(adapter, facebook_server):
    tokens = adapter.exchange_code(code=facebook_server.issue_code(REDIRECT), redirect_uri=REDIRECT)

    pages = adapter.list_pages(tokens.access_token)

    assert pages[0]["id"] == facebook_server.page_id and pages[0]["access_token"] in facebook_server.page_tokens


def test_timeout_after_posting_is_unknown_outcome_then_found(adapter, account, facebook_server):
    post = PublishRequest(text="is it there?", idempotency_key="fb6")
    facebook_server.fail_next("timeout", path="/feed", method="POST")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.platform_post_id == facebook_server.posts[0]["id"]
    assert found.url == facebook_server.posts[0]["permalink_url"]


def test_throttling_and_server_errors(adapter, account, facebook_server):
    facebook_server.fail_next("rate_limit", retry_after=300)
    with pytest.raises(RateLimitError) as limited:
        adapter.publish(account, PublishRequest(text="x", idempotency_key="fb7"))
    assert limited.value.retry_after_seconds == 300

    facebook_server.fail_next("server_error")
    with pytest.raises(PlatformError) as failed:
        adapter.publish(account, PublishRequest(text="x", idempotency_key="fb8"))
    assert failed.value.retryable

    assert facebook_server.posts == []


def test_delete_removes_the_post(adapter, account, facebook_server):
    result = adapter.publish(account, PublishRequest(text="bye", idempotency_key="fb9"))

    adapter.delete(account, result.platform_post_id)

    assert facebook_server.posts == []


def test_no_request_carries_the_page_token_in_its_url(adapter, account, facebook_server):
    result = adapter.publish(account, PublishRequest(text="tokens stay out of URLs", first_comment="c", idempotency_key="fb-url"))
    adapter.find_existing(account, PublishRequest(text="tokens stay out of URLs", idempotency_key="fb-url"))
    adapter.delete(account, result.platform_post_id)

    authed = [r for r in facebook_server.requests if "oauth/" not in r.path]
    assert authed and all(r.bearer == account.access_token for r in authed)
    assert not [r.path for r in facebook_server.requests if "access_token" in r.query]
