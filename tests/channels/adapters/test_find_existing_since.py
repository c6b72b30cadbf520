"""`find_existing(..., since=)`: posts created before the first attempt (minus clock skew) are
never taken for the post being checked, whatever their text."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from socialhub.channels.adapters.base import CLOCK_SKEW, match_thread, parse_platform_time, TimelineEntry
from socialhub.channels.adapters.facebook import FacebookAdapter
from socialhub.channels.adapters.types import AccountCredentials, PublishRequest
from socialhub.channels.adapters.x import XAdapter

UTC = timezone.utc
NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2026-12-02T12:00:00.000Z", NOW),
    ("2026-12-02T12:00:00+0000", NOW),
    ("2026-12-02T13:00:00+01:00", NOW),
    (int(NOW.timestamp() * 1000), NOW),  # LinkedIn: epoch milliseconds
    (None, None),
    ("yesterday", None),
])
def test_platform_times_are_read_in_every_format(value, expected):
    assert parse_platform_time(value) == expected


def test_match_thread_ignores_entries_older_than_since_minus_skew():
    entries = [
        TimelineEntry("new", "Specials", created_at=NOW - CLOCK_SKEW + timedelta(seconds=1)),  # platform clock a bit behind
        TimelineEntry("old", "Specials", created_at=NOW - timedelta(days=7)),
    ]
    assert [e.id for e in match_thread(entries, ["Specials"], since=NOW)] == ["new"]
    assert match_thread(entries[1:], ["Specials"], since=NOW) == []
    assert [e.id for e in match_thread(entries[1:], ["Specials"])] == ["old"], "no window without since"
    assert [e.id for e in match_thread([TimelineEntry("undated", "Specials")], ["Specials"], since=NOW)] == ["undated"]


def test_x_finds_only_tweets_made_since_the_first_attempt(x_server, http_client):
    adapter = XAdapter(base_url=x_server.url, client_id=x_server.client_id, client=http_client, poll_interval=0.01, poll_timeout=2)
    account = AccountCredentials(access_token=x_server.issue_token(), account_id=x_server.user["id"], handle="alice")
    post = PublishRequest(text="Weekly specials", idempotency_key="since-x")
    adapter.publish(account, post)
    x_server.tweets[-1]["created_at"] = (datetime.now(UTC) - timedelta(days=7)).isoformat().replace("+00:00", "Z")

    assert adapter.find_existing(account, post, since=datetime.now(UTC)) is None
    assert adapter.find_existing(account, post, since=datetime.now(UTC) - timedelta(days=8)) is not None
    assert "created_at" in x_server.received("GET", "/tweets")[-1].query["tweet.fields"][0]


def test_facebook_finds_only_page_posts_made_since_the_first_attempt(facebook_server, http_client):
    adapter = FacebookAdapter(base_url=facebook_server.url, client=http_client, client_id=facebook_server.client_id,
                              client_secret=facebook_server.client_secret)
    account = AccountCredentials(access_token=facebook_server.issue_page_token(), account_id=facebook_server.page_id)
    first_attempt = datetime.now(UTC)
    post = PublishRequest(text="Weekly specials", idempotency_key="since-fb")
    adapter.publish(account, post)

    assert adapter.find_existing(account, post, since=first_attempt) is not None
    facebook_server.posts[-1]["created_time"] = (first_attempt - timedelta(days=7)).strftime("%Y-%m-%dT%H:%M:%S+0000")
    assert adapter.find_existing(account, post, since=first_attempt) is None
