"""Instagram adapter against the fake Instagram API."""

from __future__ import annotations

import pytest

from socialhub.channels.adapters.exceptions import (
    AuthError,
    MediaRejectedError,
    NotSupported,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.instagram import InstagramAdapter
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest

REDIRECT = "https://socialhub.example/oauth/instagram/callback"


def photo(name: str = "p.jpg", **kwargs) -> MediaItem:
    return MediaItem("image/jpeg", data=b"jpg", key=name, width=1080, height=1080, **kwargs)


@pytest.fixture
def adapter(instagram_server, http_client):
    return InstagramAdapter(
        base_url=instagram_server.url,
        oauth_base_url=instagram_server.url,
        client=http_client,
        client_id=instagram_server.client_id,
        client_secret=instagram_server.client_secret,
        media_url_for=lambda item: f"https://media.socialhub.example/{item.key}",
        poll_interval=0.01,
        poll_timeout=2,
    )


@pytest.fixture
def account(instagram_server):
    return AccountCredentials(access_token=instagram_server.issue_token("IGL"), account_id=instagram_server.user_id)


def test_single_image_container_is_polled_then_published_with_caption_and_alt_text(adapter, account, instagram_server):
    result = adapter.publish(account, PublishRequest(text="Fresh bread #bakery", media=[photo(alt_text="Loaves")], idempotency_key="ig1"))

    create_request = instagram_server.received("POST", r"/media\Z")[0]
    create = create_request.form
    assert create == {"image_url": "https://media.socialhub.example/p.jpg", "alt_text": "Loaves", "caption": "Fresh bread #bakery"}
    assert create_request.bearer == account.access_token
    container_id = instagram_server.received("POST", "/media_publish")[0].form["creation_id"]
    status_reads = instagram_server.received("GET", container_id)
    assert [r.query["fields"] for r in status_reads] == [["status_code,status"]] * 2  # IN_PROGRESS, then FINISHED
    assert instagram_server.media[0]["caption"] == "Fresh bread #bakery"
    assert result.platform_post_id == instagram_server.media[0]["id"] and result.url == instagram_server.media[0]["permalink"]


def test_carousel_mixes_images_and_videos(adapter, account, instagram_server):
    media = [photo("a.jpg"), MediaItem("video/mp4", data=b"v", key="b.mp4", duration_seconds=10)]

    adapter.publish(account, PublishRequest(text="album", media=media, idempotency_key="ig2"))

    creates = [r.form for r in instagram_server.received("POST", r"/media\Z")]
    assert creates[0]["is_carousel_item"] == "true" and "caption" not in creates[0]
    assert creates[1]["media_type"] == "VIDEO" and creates[1]["video_url"].endswith("b.mp4")
    assert creates[2]["media_type"] == "CAROUSEL" and creates[2]["caption"] == "album"
    assert instagram_server.media[0]["media_type"] == "CAROUSEL_ALBUM"


def test_single_video_is_published_as_a_reel(adapter, account, instagram_server):
    adapter.publish(account, PublishRequest(text="reel", media=[MediaItem("video/mp4", data=b"v", key="r.mp4", duration_seconds=20)], idempotency_key="ig3"))

    create = instagram_server.received("POST", r"/media\Z")[0].form
    assert create["media_type"] == "REELS" and create["video_url"].endswith("r.mp4")


def test_first_comment_goes_to_the_comments_edge(adapter, account, instagram_server):
    result = adapter.publish(account, PublishRequest(text="post", media=[photo()], first_comment="#more #tags", idempotency_key="ig4"))

    assert instagram_server.comments == [{"id": result.first_comment_id, "media_id": result.platform_post_id, "text": "#more #tags"}]


def test_media_download_failure_2207052_is_media_rejected_with_a_clear_message(adapter, account, instagram_server):
    unreachable = MediaItem("image/jpeg", data=b"x", url="https://intranet.example/unreachable.jpg")

    with pytest.raises(MediaRejectedError) as failure:
        adapter.publish(account, PublishRequest(text="x", media=[unreachable], idempotency_key="ig5"))

    assert failure.value.code == 2207052 and not failure.value.retryable
    assert failure.value.message.startswith("The media could not be downloaded from its URL")


def test_video_that_fails_processing_names_the_reason(adapter, account, instagram_server):
    broken = MediaItem("video/mp4", data=b"x", url="https://media.socialhub.example/broken.mp4")

    with pytest.raises(MediaRejectedError, match="video format is not supported"):
        adapter.publish(account, PublishRequest(text="x", media=[broken], idempotency_key="ig6"))


def test_daily_publishing_limit_is_rate_limit(adapter, account, instagram_server):
    instagram_server.publishing_limit = 0

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="x", media=[photo()], idempotency_key="ig7"))

    assert failure.value.code == 2207042


@pytest.mark.parametrize(
    ("post", "problem"),
    [
        (PublishRequest(text="no picture", idempotency_key="v1"), "need at least one image"),
        (PublishRequest(text="png", media=[MediaItem("image/png", data=b"x")], idempotency_key="v2"), "does not accept image/png"),
        (PublishRequest(text="wide", media=[MediaItem("image/jpeg", data=b"x", width=3000, height=1000)], idempotency_key="v3"), "wider"),
        (PublishRequest(text=" ".join(f"#t{i}" for i in range(31)), media=[photo()], idempotency_key="v4"), "30 hashtags"),
    ],
)
def test_posts_instagram_cannot_take_are_refused_before_sending(adapter, account, instagram_server, post, problem):
    with pytest.raises(ValidationError, match=problem):
        adapter.publish(account, post)

    assert instagram_server.requests == []


def test_timeout_on_media_publish_is_unknown_outcome_then_found(adapter, account, instagram_server):
    post = PublishRequest(text="did it publish?", media=[photo()], idempotency_key="ig8")
    instagram_server.fail_next("timeout", path="/media_publish")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.platform_post_id == instagram_server.media[0]["id"]


def test_expired_token_is_auth_error(adapter, account, instagram_server):
    instagram_server.expired_tokens.add(account.access_token)

    with pytest.raises(AuthError):
        adapter.publish(account, PublishRequest(text="x", media=[photo()], idempotency_key="ig9"))


def test_unauthorized_and_server_errors_map_like_every_platform(adapter, account, instagram_server):
    instagram_server.fail_next("unauthorized")
    with pytest.raises(AuthError):
        adapter.publish(account, PublishRequest(text="x", media=[photo()], idempotency_key="ig10"))

    instagram_server.fail_next("server_error")
    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="x", media=[photo()], idempotency_key="ig11"))
    assert failure.value.retryable


def test_code_exchange_reads_the_data_wrapped_token_then_makes_it_long_lived(adapter, instagram_server):
    tokens = adapter.exchange_code(code=instagram_server.issue_code(REDIRECT), redirect_uri=REDIRECT)

    assert tokens.access_token.startswith("IGL") and tokens.account_id == instagram_server.user_id
    assert instagram_server.received("GET", "/access_token")[0].query["grant_type"] == ["ig_exchange_token"]


def test_refresh_uses_ig_refresh_token(adapter, account, instagram_server):
    tokens = adapter.refresh_token(account)

    assert instagram_server.received("GET", "/refresh_access_token")[0].query["grant_type"] == ["ig_refresh_token"]
    assert tokens.access_token in instagram_server.tokens


def test_delete_is_not_supported_by_instagram(adapter, account):
    with pytest.raises(NotSupported):
        adapter.delete(account, "123")


def test_no_request_carries_the_token_in_its_url(adapter, account, instagram_server):
    adapter.publish(account, PublishRequest(text="tokens stay out of URLs", media=[photo()], idempotency_key="ig-url"))
    adapter.find_existing(account, PublishRequest(text="tokens stay out of URLs", media=[photo()], idempotency_key="ig-url"))
    adapter.refresh_token(account)

    assert instagram_server.requests and all(r.bearer == account.access_token for r in instagram_server.requests)
    assert not [r.path for r in instagram_server.requests if "access_token" in r.query or "access_token" in r.form]
