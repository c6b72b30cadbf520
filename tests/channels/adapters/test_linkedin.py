"""LinkedIn adapter against the fake LinkedIn API."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.linkedin import from_little_text, LinkedInAdapter, to_little_text
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest, ThreadPart

REDIRECT = "https://socialhub.example/oauth/linkedin/callback"


@pytest.fixture
def adapter(linkedin_server, http_client):
    return LinkedInAdapter(
        base_url=linkedin_server.url,
        oauth_base_url=linkedin_server.url,
        client_id=linkedin_server.client_id,
        client_secret=linkedin_server.client_secret,
        client=http_client,
        poll_interval=0.01,
        poll_timeout=2,
    )


@pytest.fixture
def account(linkedin_server):
    return AccountCredentials(access_token=linkedin_server.issue_token(), account_id=linkedin_server.member_urn)


def test_authorization_url_asks_for_posting_scope(adapter):
    url = adapter.authorization_url(redirect_uri=REDIRECT, state="st4te")

    query = parse_qs(urlsplit(url).query)
    assert urlsplit(url).path == "/oauth/v2/authorization"
    assert query["scope"] == ["openid profile w_member_social"] and query["state"] == ["st4te"]


def test_code_exchange_gives_tokens_and_the_member_urn(adapter, linkedin_server):
    tokens = adapter.exchange_code(code=linkedin_server.issue_code(REDIRECT), redirect_uri=REDIRECT)

    assert tokens.account_id == linkedin_server.member_urn
    assert tokens.refresh_token in linkedin_server.refresh_tokens
    assert tokens.expires_at is not None


def test_refresh_gives_a_new_access_token_and_keeps_the_refresh_token(adapter, linkedin_server):
    refresh = adapter.exchange_code(code=linkedin_server.issue_code(REDIRECT), redirect_uri=REDIRECT).refresh_token
    account = AccountCredentials(access_token="old", refresh_token=refresh, account_id=linkedin_server.member_urn)

    tokens = adapter.refresh_token(account)

    assert tokens.access_token in linkedin_server.tokens and tokens.refresh_token == refresh


def test_refresh_with_an_invalid_refresh_token_means_reconnect(adapter, linkedin_server):
    with pytest.raises(AuthError, match="invalid_grant"):
        adapter.refresh_token(AccountCredentials(access_token="old", refresh_token="bogus"))


def test_little_text_escapes_reserved_characters_and_keeps_hashtags():
    text = "Launch (beta) at 50% off_now! #Python *bold* @you\\me"

    escaped = to_little_text(text)

    assert escaped == r"Launch \(beta\) at 50% off\_now! {hashtag|\#|Python} \*bold\* \@you\\me"
    assert from_little_text(escaped) == text


def test_publish_sends_versioned_headers_and_reads_the_id_from_x_restli_id(adapter, account, linkedin_server):
    result = adapter.publish(account, PublishRequest(text="Hello (world) #news", idempotency_key="l1"))

    request = linkedin_server.received("POST", "/rest/posts")[0]
    assert request.headers["linkedin-version"] == adapter.api_version
    assert request.headers["x-restli-protocol-version"] == "2.0.0"
    assert request.json["author"] == linkedin_server.member_urn
    assert request.json["commentary"] == r"Hello \(world\) {hashtag|\#|news}"
    assert request.json["visibility"] == "PUBLIC" and request.json["lifecycleState"] == "PUBLISHED"
    assert request.json["distribution"]["feedDistribution"] == "MAIN_FEED"
    urn = next(iter(linkedin_server.posts))
    assert result.platform_post_id == urn and result.url == f"https://www.linkedin.com/feed/update/{urn}/"


def test_images_are_initialized_uploaded_and_attached_with_alt_text(adapter, account, linkedin_server):
    photos = [MediaItem("image/jpeg", data=b"one", alt_text="first"), MediaItem("image/png", data=b"two", alt_text="second")]

    adapter.publish(account, PublishRequest(text="album", media=photos, idempotency_key="l2"))

    inits = linkedin_server.received("POST", "/rest/images")
    assert [r.query["action"] for r in inits] == [["initializeUpload"], ["initializeUpload"]]
    assert inits[0].json == {"initializeUploadRequest": {"owner": linkedin_server.member_urn}}
    assert [img["bytes"] for img in linkedin_server.images.values()] == [b"one", b"two"]
    puts = linkedin_server.received("PUT")
    assert puts[0].headers["authorization"] == f"Bearer {account.access_token}"
    content = next(iter(linkedin_server.posts.values()))["content"]
    assert [i["altText"] for i in content["multiImage"]["images"]] == ["first", "second"]


def test_single_image_uses_the_media_content(adapter, account, linkedin_server):
    adapter.publish(account, PublishRequest(text="pic", media=[MediaItem("image/jpeg", data=b"x", alt_text="alt")], idempotency_key="l3"))

    content = next(iter(linkedin_server.posts.values()))["content"]
    assert content["media"]["id"].startswith("urn:li:image:") and content["media"]["altText"] == "alt"


def test_posting_as_an_organization_uses_its_urn(adapter, linkedin_server):
    organization = adapter.list_organizations(AccountCredentials(access_token=linkedin_server.issue_token()))[0]
    account = AccountCredentials(access_token=linkedin_server.issue_token(), account_id=linkedin_server.member_urn, extra={"author_urn": organization})

    adapter.publish(account, PublishRequest(text="company news", idempotency_key="l4"))

    assert next(iter(linkedin_server.posts.values()))["author"] == "urn:li:organization:2414183"


def test_first_comment_is_posted_under_the_post(adapter, account, linkedin_server):
    result = adapter.publish(account, PublishRequest(text="post", first_comment="link in comments", idempotency_key="l5"))

    comment = linkedin_server.comments[0]
    assert comment["object"] == result.platform_post_id and comment["message"] == {"text": "link in comments"}
    assert result.first_comment_id == comment["commentUrn"]


def test_duplicate_content_is_reported_as_the_existing_post(adapter, account, linkedin_server):
    post = PublishRequest(text="same words", idempotency_key="l6")
    first = adapter.publish(account, post)

    second = adapter.publish(account, post)

    assert len(linkedin_server.posts) == 1
    assert second.platform_post_id == first.platform_post_id and second.already_existed


def test_unknown_outcome_then_find_existing_finds_the_post(adapter, account, linkedin_server):
    post = PublishRequest(text="Did it (really) post? #q", idempotency_key="l7")
    linkedin_server.fail_next("timeout", path="/rest/posts", method="POST")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.platform_post_id == next(iter(linkedin_server.posts))
    finder = linkedin_server.received("GET", "/rest/posts")[0]
    assert finder.headers["x-restli-method"] == "FINDER" and finder.query["q"] == ["author"]


def test_rate_limit_without_retry_after_has_no_wait(adapter, account, linkedin_server):
    linkedin_server.fail_next("rate_limit")

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="rl"))

    assert failure.value.retry_after_seconds is None
    assert "throttle" in failure.value.message


def test_expired_token_is_auth_error(adapter, account, linkedin_server):
    linkedin_server.expired_tokens.add(account.access_token)

    with pytest.raises(AuthError, match="expired"):
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="401"))


def test_server_error_is_retryable(adapter, account, linkedin_server):
    linkedin_server.fail_next("server_error")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="500"))

    assert failure.value.retryable


def test_permission_error_keeps_linkedins_message(adapter, linkedin_server):
    stranger = AccountCredentials(access_token=linkedin_server.issue_token(), account_id="urn:li:organization:1")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(stranger, PublishRequest(text="hi", idempotency_key="403"))

    assert failure.value.message.startswith("Not enough permissions") and not failure.value.retryable


def test_threads_are_refused_before_sending(adapter, account, linkedin_server):
    with pytest.raises(ValidationError, match="does not support threads"):
        adapter.publish(account, PublishRequest(text="1", thread=[ThreadPart("2")], idempotency_key="th"))

    assert linkedin_server.requests == []


def test_delete_removes_the_post(adapter, account, linkedin_server):
    result = adapter.publish(account, PublishRequest(text="bye", idempotency_key="del"))

    adapter.delete(account, result.platform_post_id)

    assert linkedin_server.posts == {}
    assert linkedin_server.received("DELETE")[0].headers["x-restli-method"] == "DELETE"
