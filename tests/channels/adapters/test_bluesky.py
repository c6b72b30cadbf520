"""Bluesky adapter against the fake PDS."""

from __future__ import annotations

import re
import time
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from socialhub.channels.adapters.bluesky import _legacy_tid, BlueskyAdapter, tid_for
from socialhub.channels.adapters.exceptions import (
    AuthError,
    PlatformError,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.channels.adapters.types import AccountCredentials, MediaItem, PublishRequest, ThreadPart


@pytest.fixture
def adapter(bluesky_server, http_client):
    return BlueskyAdapter(base_url=bluesky_server.url, client=http_client)


@pytest.fixture
def account(adapter):
    return adapter.create_session("alice.test", "app-pass-1234").to_credentials()


def facet_texts(text: str, record: dict) -> dict[str, str]:
    data = text.encode("utf-8")
    return {
        facet["features"][0]["$type"].split("#")[1]: data[facet["index"]["byteStart"] : facet["index"]["byteEnd"]].decode("utf-8")
        for facet in record.get("facets", [])
    }


def test_login_returns_session_with_did_handle_and_expiry(adapter):
    tokens = adapter.create_session("alice.test", "app-pass-1234")

    assert tokens.account_id == "did:plc:alice"
    assert tokens.handle == "alice.test"
    assert tokens.refresh_token and tokens.access_token != tokens.refresh_token
    assert tokens.expires_at is not None and tokens.expires_at.timestamp() > time.time() + 3600


def test_login_with_wrong_password_is_auth_error(adapter):
    with pytest.raises(AuthError, match="Invalid identifier or password"):
        adapter.create_session("alice.test", "wrong")


def test_facets_use_utf8_byte_offsets_for_links_mentions_and_tags(adapter, account, bluesky_server):
    text = "✨ Grüße @bob.test — read https://example.com/über?a=1. #Früh #2024 ok"

    result = adapter.publish(account, PublishRequest(text=text, idempotency_key="post-1"))

    record = bluesky_server.posts()[0]["value"]
    assert record["text"] == text
    assert facet_texts(text, record) == {"mention": "@bob.test", "link": "https://example.com/über?a=1", "tag": "#Früh"}
    features = {f["features"][0]["$type"]: f["features"][0] for f in record["facets"]}
    assert features["app.bsky.richtext.facet#mention"]["did"] == "did:plc:bob"
    assert features["app.bsky.richtext.facet#tag"]["tag"] == "Früh"
    assert result.platform_post_id == bluesky_server.posts()[0]["uri"]
    assert result.url.startswith("https://bsky.app/profile/did:plc:alice/post/")


def test_mention_of_unknown_handle_stays_plain_text(adapter, account, bluesky_server):
    adapter.publish(account, PublishRequest(text="hello @nobody.test", idempotency_key="post-2"))

    assert "facets" not in bluesky_server.posts()[0]["value"]


def test_images_are_uploaded_as_blobs_with_alt_text_and_aspect_ratio(adapter, account, bluesky_server):
    photo = MediaItem("image/png", data=b"\x89PNG fake bytes", alt_text="A red bicycle", width=1200, height=800)
    second = MediaItem("image/jpeg", loader=lambda: b"\xff\xd8 jpeg bytes", alt_text="A blue door")

    adapter.publish(account, PublishRequest(text="two pictures", media=[photo, second], idempotency_key="post-3"))

    embed = bluesky_server.posts()[0]["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.images"
    assert [i["alt"] for i in embed["images"]] == ["A red bicycle", "A blue door"]
    assert embed["images"][0]["aspectRatio"] == {"width": 1200, "height": 800}
    assert "aspectRatio" not in embed["images"][1]
    uploaded = [bluesky_server.blobs[i["image"]["ref"]["$link"]] for i in embed["images"]]
    assert uploaded == [("image/png", b"\x89PNG fake bytes"), ("image/jpeg", b"\xff\xd8 jpeg bytes")]


def test_video_is_embedded_with_the_video_embed(adapter, account, bluesky_server):
    clip = MediaItem("video/mp4", data=b"\x00\x00\x00\x18ftypmp42", alt_text="A cat", width=1080, height=1920, duration_seconds=12)

    adapter.publish(account, PublishRequest(text="clip", media=[clip], idempotency_key="post-video"))

    embed = bluesky_server.posts()[0]["value"]["embed"]
    assert embed["$type"] == "app.bsky.embed.video"
    assert embed["alt"] == "A cat"
    assert embed["aspectRatio"] == {"width": 1080, "height": 1920}


def test_thread_parts_reply_to_the_root_and_the_previous_part(adapter, account, bluesky_server):
    post = PublishRequest(text="1/3 start", thread=[ThreadPart("2/3 middle"), ThreadPart("3/3 end")], first_comment="links below", idempotency_key="thread-1")

    result = adapter.publish(account, post)

    records = {r["uri"]: r for r in bluesky_server.posts()}
    first, second, third = (records[uri] for uri in result.thread_post_ids)
    assert "reply" not in first["value"]
    assert second["value"]["reply"] == {"root": {"uri": first["uri"], "cid": first["cid"]}, "parent": {"uri": first["uri"], "cid": first["cid"]}}
    assert third["value"]["reply"]["root"]["uri"] == first["uri"]
    assert third["value"]["reply"]["parent"]["uri"] == second["uri"]
    comment = records[result.first_comment_id]
    assert comment["value"]["text"] == "links below"
    assert comment["value"]["reply"]["parent"]["uri"] == first["uri"]
    assert len(records) == 4


def test_reply_to_an_existing_post_keeps_its_thread_root(adapter, account, bluesky_server):
    root = adapter.publish(account, PublishRequest(text="root", idempotency_key="r-1"))
    child = adapter.publish(account, PublishRequest(text="child", reply_to=root.platform_post_id, idempotency_key="r-2"))

    reply = adapter.publish(account, PublishRequest(text="grandchild", reply_to=child.platform_post_id, idempotency_key="r-3"))

    record = next(r for r in bluesky_server.posts() if r["uri"] == reply.platform_post_id)["value"]
    assert record["reply"]["root"]["uri"] == root.platform_post_id
    assert record["reply"]["parent"]["uri"] == child.platform_post_id


S32 = "234567abcdefghijklmnopqrstuvwxyz"
SCHEDULED = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def decode_tid(key: str) -> tuple[int, int]:
    """(microseconds since 1970, clock id) of a TID, per atproto.com/specs/tid."""
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", key), key
    value = 0
    for char in key:
        value = value * 32 + S32.index(char)
    assert value >> 63 == 0, "the top bit is 0"
    return value >> 10, value & 0x3FF


def rkey(uri: str) -> str:
    return uri.rsplit("/", 1)[1]


def test_record_keys_are_tids_of_the_scheduled_time_in_thread_order(adapter, account, bluesky_server):
    post = PublishRequest(text="1/3", thread=[ThreadPart("2/3"), ThreadPart("3/3")], first_comment="more below",
                          idempotency_key="sh-thread-time", scheduled_at=SCHEDULED)

    result = adapter.publish(account, post)

    keys = [rkey(uri) for uri in result.thread_post_ids] + [rkey(result.first_comment_id)]
    assert keys == sorted(keys) and len(set(keys)) == 4, "parts (then the comment) sort in thread order"
    decoded = [decode_tid(key) for key in keys]
    start = int(SCHEDULED.timestamp()) * 1_000_000
    assert all(start <= us < start + 1_000_000 + 4 for us, _ in decoded), "within the scheduled second"
    assert [us for us, _ in decoded] == [decoded[0][0] + i for i in range(4)]
    assert len({clock for _, clock in decoded}) == 1, "one clock id, from the idempotency key"
    listed = sorted(bluesky_server.posts(), key=lambda r: rkey(r["uri"]))
    assert [r["value"]["text"] for r in listed] == ["1/3", "2/3", "3/3", "more below"]


def test_record_keys_are_the_same_on_every_attempt_and_differ_between_posts():
    assert tid_for("sh-a", SCHEDULED) == tid_for("sh-a", SCHEDULED.replace(microsecond=0))
    assert tid_for("sh-a", SCHEDULED, 1) > tid_for("sh-a", SCHEDULED)
    later = datetime(2026, 3, 1, 9, 0, 1, tzinfo=UTC)
    assert tid_for("sh-z", later) > tid_for("sh-a", SCHEDULED), "posts a second apart sort by time"
    same_second = {tid_for(f"sh-{n}", SCHEDULED) for n in range(5000)}
    assert len(same_second) == 5000, "posts due at the same moment get distinct keys"
    assert tid_for("sh-a", None) == tid_for("sh-a", None), "without a time, still one key per post"


def test_a_post_retried_after_an_unknown_outcome_keeps_its_record_key(adapter, account, bluesky_server):
    post = PublishRequest(text="again?", idempotency_key="sh-retry", scheduled_at=SCHEDULED)
    bluesky_server.fail_next("timeout", path="createRecord")
    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    again = adapter.publish(account, post)

    assert again.already_existed and rkey(again.platform_post_id) == tid_for("sh-retry", SCHEDULED)
    assert len(bluesky_server.posts()) == 1


def test_a_post_sent_with_an_old_style_record_key_is_still_found(adapter, account, bluesky_server):
    post = PublishRequest(text="sent last year", idempotency_key="sh-old", scheduled_at=SCHEDULED)
    old_key = _legacy_tid("sh-old")
    uri = f"at://did:plc:alice/app.bsky.feed.post/{old_key}"
    bluesky_server.records[("did:plc:alice", "app.bsky.feed.post", old_key)] = {"uri": uri, "cid": "bafyold", "value": {"text": post.text}}

    found = adapter.find_existing(account, post)

    assert found is not None and found.platform_post_id == uri and found.complete


@pytest.mark.parametrize("duplicate_answer", ["internal_error", "explicit"])
def test_publishing_the_same_key_twice_creates_one_record(adapter, account, bluesky_server, duplicate_answer):
    bluesky_server.duplicate_answer = duplicate_answer
    post = PublishRequest(text="only once", idempotency_key="target-7")

    first = adapter.publish(account, post)
    second = adapter.publish(account, post)

    assert len(bluesky_server.posts()) == 1
    assert second.platform_post_id == first.platform_post_id
    assert second.already_existed and not first.already_existed
    assert first.platform_post_id.endswith("/" + tid_for("target-7", None))


def test_timeout_after_the_record_was_created_is_unknown_outcome_then_found(adapter, account, bluesky_server):
    post = PublishRequest(text="did it go out?", idempotency_key="target-8")
    bluesky_server.fail_next("timeout", path="createRecord")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    found = adapter.find_existing(account, post)
    assert found is not None and found.already_existed and found.complete
    assert found.platform_post_id == bluesky_server.posts()[0]["uri"]
    assert len(bluesky_server.posts()) == 1


def test_find_existing_is_none_when_the_request_never_took_effect(adapter, account, bluesky_server):
    post = PublishRequest(text="lost on the way", idempotency_key="target-9")
    bluesky_server.fail_next("hang", path="createRecord")

    with pytest.raises(UnknownOutcomeError):
        adapter.publish(account, post)

    assert adapter.find_existing(account, post) is None
    assert bluesky_server.posts() == []


def test_thread_failing_part_way_reports_partial_and_resumes_without_duplicates(adapter, account, bluesky_server):
    post = PublishRequest(text="part one", thread=[ThreadPart("part two"), ThreadPart("part three")], idempotency_key="target-10")
    bluesky_server.fail_next("server_error", path="createRecord", after=1, times=2)

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, post)
    assert failure.value.retryable
    assert failure.value.partial is not None and len(failure.value.partial.thread_post_ids) == 1
    assert adapter.find_existing(account, post).complete is False

    result = adapter.publish(account, post)

    assert [r["value"]["text"] for r in bluesky_server.posts()] == ["part one", "part two", "part three"]
    assert result.thread_post_ids[0] == failure.value.partial.platform_post_id


def test_rate_limit_is_rate_limit_error_with_wait_from_ratelimit_reset(adapter, account, bluesky_server):
    bluesky_server.fail_next("rate_limit", path="createRecord", retry_after=30)

    with pytest.raises(RateLimitError) as failure:
        adapter.publish(account, PublishRequest(text="slow down", idempotency_key="rl"))

    assert 25 <= failure.value.retry_after_seconds <= 31
    assert failure.value.retryable


def test_expired_access_token_is_auth_error(adapter, account, bluesky_server):
    bluesky_server.expired_tokens.add(account.access_token)

    with pytest.raises(AuthError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="exp"))

    assert failure.value.code == "ExpiredToken"
    assert failure.value.status_code == 400


def test_unauthorized_is_auth_error(adapter, account, bluesky_server):
    bluesky_server.fail_next("unauthorized", path="uploadBlob")

    with pytest.raises(AuthError):
        adapter.publish(account, PublishRequest(text="hi", media=[MediaItem("image/png", data=b"x")], idempotency_key="401"))


def test_server_error_is_retryable_and_creates_nothing(adapter, account, bluesky_server):
    bluesky_server.fail_next("server_error", path="createRecord")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="500"))

    assert failure.value.retryable
    assert not isinstance(failure.value, (AuthError, UnknownOutcomeError))
    assert bluesky_server.posts() == []


def test_connection_refused_is_retryable(closed_port_url, http_client):
    adapter = BlueskyAdapter(base_url=closed_port_url, client=http_client)
    account = AccountCredentials(access_token="t", account_id="did:plc:alice")

    with pytest.raises(PlatformError) as failure:
        adapter.publish(account, PublishRequest(text="hi", idempotency_key="conn"))

    assert failure.value.retryable and not isinstance(failure.value, UnknownOutcomeError)


def test_refresh_session_rotates_both_tokens(adapter, account, bluesky_server):
    tokens = adapter.refresh_token(account)

    assert tokens.access_token != account.access_token
    assert tokens.refresh_token != account.refresh_token
    refreshed = account.with_tokens(tokens)
    adapter.publish(refreshed, PublishRequest(text="with the new token", idempotency_key="after-refresh"))
    assert len(bluesky_server.posts()) == 1


def test_dead_refresh_token_logs_in_again_with_the_app_password(adapter, account, bluesky_server):
    bluesky_server.expired_tokens.add(account.refresh_token)
    with_password = replace(account, extra={"app_password": "app-pass-1234"})

    tokens = adapter.refresh_token(with_password)

    assert tokens.account_id == "did:plc:alice"
    assert bluesky_server.received("POST", "createSession")[-1].json["identifier"] == "alice.test"


def test_dead_refresh_token_without_password_means_reconnect(adapter, account, bluesky_server):
    bluesky_server.expired_tokens.add(account.refresh_token)

    with pytest.raises(AuthError):
        adapter.refresh_token(account)


def test_delete_removes_the_record(adapter, account, bluesky_server):
    result = adapter.publish(account, PublishRequest(text="oops", idempotency_key="del"))

    adapter.delete(account, result.platform_post_id)

    assert bluesky_server.posts() == []


def test_too_long_text_is_rejected_before_anything_is_sent(adapter, account, bluesky_server):
    before = len(bluesky_server.requests)

    with pytest.raises(ValidationError, match="300"):
        adapter.publish(account, PublishRequest(text="a" * 301, idempotency_key="long"))

    assert len(bluesky_server.requests) == before
