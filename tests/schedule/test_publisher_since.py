"""`find_existing` after an unknown outcome looks only at posts made since the first attempt:
a recurring post's earlier copy (same text by design) is not taken for this one, and a timeline
that may lag behind a recent attempt is asked again later instead of sending a second copy."""

from __future__ import annotations

from datetime import timedelta

import httpx

from socialhub.core.models import utcnow
from socialhub.schedule.publisher import engine, sending
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    due_post,
    fast_publishing,
    mastodon_account,
    status_of,
    targets_of,
)

TEXT = "This week's specials are on the board"


def last_weeks_copy(server: FakeMastodonServer, account) -> str:
    """The same text, published a week ago (a recurring post's earlier occurrence)."""
    response = httpx.post(f"{server.url}/api/v1/statuses", json={"status": TEXT},
                          headers={"Authorization": f"Bearer {server.issue_token()}"})
    response.raise_for_status()
    status = server.statuses[-1]
    status["created_at"] = (utcnow() - timedelta(days=7)).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return str(status["id"])


def test_last_weeks_identical_text_is_not_a_match_and_the_post_is_sent(session, crew, monkeypatch):
    monkeypatch.setattr(sending, "TIMELINE_LAG_SECONDS", 0)
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        old_id = last_weeks_copy(server, account)
        post = due_post(session, crew, [account], TEXT)
        server.fail_next("hang", method="POST", path=r"/api/v1/statuses")  # never reached the platform
        outcomes = engine.publish_due()
        assert [o.attempt for o in outcomes] == ["unconfirmed", "published"]
        assert len(server.statuses) == 2, "sent, not mistaken for last week's copy"
        assert server.received("GET", r"/api/v1/accounts/.*/statuses"), "it did check first"
    [target] = targets_of(session, post)
    assert target.status == "published" and target.platform_post_id != old_id
    assert target.platform_post_id == str(server.statuses[-1]["id"])


def test_a_post_created_after_the_first_attempt_is_found_and_not_sent_twice(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        old_id = last_weeks_copy(server, account)
        post = due_post(session, crew, [account], TEXT)
        server.fail_next("timeout", method="POST", path=r"/api/v1/statuses")  # created, answer lost
        outcomes = engine.publish_due()
        assert [o.attempt for o in outcomes] == ["unconfirmed", "found"]
        assert len(server.statuses) == 2 and len(server.received("POST", r"/api/v1/statuses")) == 2  # seed + one send
    [target] = targets_of(session, post)
    assert target.status == "published" and target.platform_post_id != old_id
    assert target.platform_post_id == str(server.statuses[-1]["id"])


def test_not_found_right_after_an_attempt_is_checked_again_later_not_sent(session, crew, monkeypatch):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account], TEXT)
        server.fail_next("hang", method="POST", path=r"/api/v1/statuses")
        outcomes = engine.publish_due()
        assert [o.attempt for o in outcomes] == ["unconfirmed", "retry"], "a lagging timeline is not trusted yet"
        assert len(server.received("POST", r"/api/v1/statuses")) == 1 and server.statuses == []
        [target] = targets_of(session, post)
        assert target.status == "retrying" and target.needs_check
        assert target.due_at > utcnow() + timedelta(seconds=40), "checked again once the timeline caught up"
        assert target.attempts == 1, "waiting for the timeline is not an attempt"
        # A minute later "not there" is trusted: it is sent once.
        later = utcnow() + timedelta(seconds=sending.TIMELINE_LAG_SECONDS + 5)
        monkeypatch.setattr(sending, "utcnow", lambda: later)
        outcomes = engine.publish_due(now=later)
        assert [o.attempt for o in outcomes] == ["published"]
        assert len(server.statuses) == 1
    assert status_of(session, post) == "published"
