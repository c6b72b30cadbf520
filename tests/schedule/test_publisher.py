"""The publisher against the fake platforms: every failure path ends where it should, and no
post is ever published twice."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import PostActivity, PostTarget, PublishAttempt
from socialhub.schedule.hub.models import SocialPost
from socialhub.schedule.config import publishing_settings
from socialhub.schedule.publisher import claims, engine, recording, sending, sends
from tests.fakes.platforms.bluesky import FakeBlueskyServer
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.fakes.platforms.x import FakeXServer
from tests.schedule.support import (  # noqa: F401  (fixtures)
    bluesky_account,
    crew,
    due_post,
    fast_publishing,
    hub_account,
    mastodon_account,
    status_of,
    targets_of,
    x_account,
)


def test_due_hub_post_is_published_once_and_appears_on_the_profile(session, crew):
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], "First post on the hub")
    outcomes = engine.publish_due()
    assert [o.status for o in outcomes] == ["published"]
    [target] = targets_of(session, post)
    assert target.status == "published" and target.platform_post_id and target.url
    assert status_of(session, post) == "published"
    rows = session.exec(select(SocialPost).where(SocialPost.text == "First post on the hub")).all()
    assert len(rows) == 1
    assert engine.publish_due() == []  # nothing due any more


def test_stored_platform_post_id_is_never_sent_again(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account])
        [target] = targets_of(session, post)
        target.platform_post_id = "already-there"
        session.add(target)
        session.commit()
        engine.publish_due()
        assert server.received("POST", r"/api/v1/statuses") == []
    [target] = targets_of(session, post)
    assert target.status == "published" and target.platform_post_id == "already-there"


def test_rate_limit_waits_for_retry_after_and_holds_the_account(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account])
        server.fail_next("rate_limit", method="POST", path=r"/api/v1/statuses", retry_after=7)
        before = utcnow()
        engine.publish_due()
        [target] = targets_of(session, post)
        assert target.status == "retrying" and target.attempts == 1
        assert target.due_at >= before + timedelta(seconds=6.5), "never before Retry-After"
        session.refresh(account)
        assert account.rate_limited_until >= before + timedelta(seconds=6.5)
        assert engine.publish_due() == []  # not claimed again before its time
        # When the time comes it goes out.
        later = utcnow() + timedelta(seconds=10)
        outcomes = engine.publish_due(now=later)
        assert [o.status for o in outcomes] == ["published"]
        assert len(server.statuses) == 1
    assert status_of(session, post) == "published"


def test_401_forces_one_token_refresh_then_publishes(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
        old_token = session.get(PlatformAccount, account.id).access_token_ciphertext
        post = due_post(session, crew, [account])
        server.fail_next("unauthorized", method="POST", path=r"/2/tweets")
        outcomes = engine.publish_due()
        assert [o.status for o in outcomes] == ["published"]
        assert len(server.received("POST", r"/2/oauth2/token")) == 1, "exactly one refresh"
        assert len(server.tweets) == 1
    session.expire_all()
    stored = session.get(PlatformAccount, account.id)
    assert stored.access_token_ciphertext != old_token and stored.status == "ok"
    assert status_of(session, post) == "published"


def test_unrefreshable_account_needs_reconnect_pauses_posts_and_tells_the_owner(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
        first = due_post(session, crew, [account], "now")
        later = due_post(session, crew, [account], "tomorrow", seconds_ago=-86400)
        server.refresh_tokens.clear()  # the refresh token was revoked
        server.fail_next("unauthorized", method="POST", path=r"/2/tweets")
        outcomes = engine.publish_due()
        assert [o.status for o in outcomes] == ["paused"]
        assert server.tweets == []
    session.expire_all()
    assert session.get(PlatformAccount, account.id).status == "needs_reconnect"
    assert [t.status for t in targets_of(session, first)] == ["paused"]
    assert [t.status for t in targets_of(session, later)] == ["paused"], "scheduled posts are paused, not failed"
    assert status_of(session, first) == "paused" and status_of(session, later) == "paused"
    notes = session.exec(select(Notification).where(Notification.user_id == crew.owner.id, Notification.kind == "account_reconnect")).all()
    assert len(notes) == 1
    assert session.exec(select(Email).where(Email.to_address == crew.owner.email, Email.subject.contains("Reconnect"))).first()


def test_reconnecting_resumes_paused_posts(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
        post = due_post(session, crew, [account])
        server.refresh_tokens.clear()
        server.fail_next("unauthorized", method="POST", path=r"/2/tweets")
        engine.publish_due()
        assert status_of(session, post) == "paused"
        x_account(session, crew, server, monkeypatch)  # connect the same account again
        assert session.get(PlatformAccount, account.id).status == "ok"
        assert [o.status for o in engine.publish_due()] == ["published"]
        assert len(server.tweets) == 1
    assert status_of(session, post) == "published"


def test_server_errors_retry_five_times_then_fail_and_alert_in_app_and_by_email(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account], "Doomed post")
        server.fail_next("server_error", method="POST", path=r"/api/v1/statuses", times=10)
        engine.publish_due()  # retries are immediate in tests (PUBLISH_RETRY_BASE_SECONDS=0)
        assert len(server.received("POST", r"/api/v1/statuses")) == 5
        assert server.statuses == []
    [target] = targets_of(session, post)
    assert target.status == "failed" and target.attempts == 5
    assert "Gave up after 5 attempts" in target.last_error
    assert status_of(session, post) == "failed"
    attempts = session.exec(select(PublishAttempt).where(PublishAttempt.target_id == target.id)).all()
    assert [a.outcome for a in attempts] == ["retry"] * 5
    note = session.exec(select(Notification).where(Notification.user_id == crew.owner.id, Notification.kind == "post_failed")).one()
    assert "Doomed post" in note.title
    assert session.exec(select(Email).where(Email.to_address == crew.owner.email, Email.subject.contains("could not be published"))).one()


def test_backoff_grows_exponentially_with_jitter_and_respects_retry_after(monkeypatch):
    monkeypatch.setenv("PUBLISH_RETRY_BASE_SECONDS", "10")
    settings = publishing_settings()
    for n, ceiling in [(1, 10), (2, 20), (3, 40), (4, 80)]:
        delays = [recording.backoff_seconds(n, settings) for _ in range(50)]
        assert all(ceiling / 2 <= d <= ceiling for d in delays)
        assert len(set(delays)) > 1, "jittered"
    assert all(recording.backoff_seconds(1, settings, retry_after=120) >= 120 for _ in range(20))


def test_timeout_after_sending_is_unconfirmed_then_found_without_a_second_post(session, crew, monkeypatch):
    monkeypatch.setenv("PUBLISH_UNCONFIRMED_CHECK_SECONDS", "30")
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        post = due_post(session, crew, [account], "Did it go out?")
        server.fail_next("timeout", method="POST", path=r"createRecord")
        first = engine.publish_due()
        assert [o.status for o in first] == ["unconfirmed"]
        [target] = targets_of(session, post)
        assert target.status == "unconfirmed" and target.needs_check
        assert target.due_at > utcnow() + timedelta(seconds=25), "checked later, not hammered"
        assert len(server.posts()) == 1, "the platform did create it"
        creates_before = len(server.received("POST", r"createRecord"))
        second = engine.publish_due(now=utcnow() + timedelta(seconds=31))
        assert [o.attempt for o in second] == ["found"]
        assert len(server.received("POST", r"createRecord")) == creates_before, "checked, not sent again"
        assert len(server.posts()) == 1
    [target] = targets_of(session, post)
    assert target.status == "published" and not target.needs_check and target.platform_post_id.startswith("at://")


def test_unconfirmed_on_mastodon_is_checked_against_recent_statuses(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account], "Mastodon timeout")
        server.fail_next("timeout", method="POST", path=r"/api/v1/statuses")
        outcomes = engine.publish_due()
        assert [o.attempt for o in outcomes] == ["unconfirmed", "found"]
        assert len(server.statuses) == 1
        assert len(server.received("POST", r"/api/v1/statuses")) == 1
    assert status_of(session, post) == "published"


def test_a_crashed_claim_is_taken_again_and_checked_before_sending(session, crew):
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        post = due_post(session, crew, [account], "Crash in the middle")
        # A process claims the target, publishes it, and dies before writing the result.
        with session_scope() as s:
            jobs = claims.load_jobs(s, claims.claim_due_targets(s, worker="doomed", limit=10))
        sending.attempt(jobs[0])
        assert len(server.posts()) == 1
        assert engine.publish_due() == [], "a live claim is not taken"
        # Its claim expires: another process takes it, checks, and records it without resending.
        later = utcnow() + timedelta(seconds=publishing_settings().claim_seconds + 1)
        outcomes = engine.publish_due(now=later, worker="survivor")
        assert [o.attempt for o in outcomes] == ["found"]
        assert len(server.received("POST", r"createRecord")) == 1
        assert len(server.posts()) == 1
    [target] = targets_of(session, post)
    assert target.status == "published"
    # The dead process's late write is refused: the claim is no longer its own.
    with session_scope() as s:
        assert recording.apply_outcomes(s, [sending.attempt(jobs[0])], worker="doomed") == []


def test_two_workers_claiming_at_once_never_share_a_target(session, crew):
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"post {i}") for i in range(60)]
    taken_by: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claim(worker: str) -> None:
        barrier.wait()
        got = []
        while True:
            with session_scope() as s:
                batch = claims.claim_due_targets(s, worker=worker, limit=7)
            if not batch:
                break
            got += [c.target_id for c in batch]
        taken_by[worker] = got

    threads = [threading.Thread(target=claim, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [tid for got in taken_by.values() for tid in got]
    assert len(everything) == len(set(everything)) == len(posts)


def test_concurrent_publishers_publish_every_post_exactly_once(session, crew):
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        posts = [due_post(session, crew, [account], f"Race {i}") for i in range(30)]
        results: list = []
        threads = [threading.Thread(target=lambda w=w: results.extend(engine.publish_due(worker=w, limit=3))) for w in "abc"]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(o.job.target_id for o in results) == sorted(t.id for p in posts for t in targets_of(session, p))
        creates = server.received("POST", r"createRecord")
        assert len(creates) == 30 and len(server.posts()) == 30
        assert len({r.json["rkey"] for r in creates}) == 30


def test_partial_success_is_shown_as_partial_and_alerts(session, crew):
    hub = hub_account(session, crew)
    with FakeMastodonServer() as server:
        masto = mastodon_account(session, crew, server)
        post = due_post(session, crew, [hub, masto], "Half of it")
        server.fail_next("server_error", method="POST", path=r"/api/v1/statuses", times=10)
        engine.publish_due()
    statuses = {t.account_id: t.status for t in targets_of(session, post)}
    assert statuses == {hub.id: "published", masto.id: "failed"}
    assert status_of(session, post) == "partial"
    assert session.exec(select(Notification).where(Notification.kind == "post_partial")).first()


def test_validation_error_fails_at_once_without_retries(session, crew):
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        post = due_post(session, crew, [account], "x" * 400)  # over Bluesky's 300 graphemes
        engine.publish_due()
        assert server.received("POST", r"createRecord") == []
    [target] = targets_of(session, post)
    assert target.status == "failed" and target.attempts == 1 and "300" in target.last_error


def test_a_thread_that_failed_part_way_resumes_after_the_published_parts(session, crew):
    from socialhub.schedule import posts

    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account], "one")
        posts.set_variant(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                          platform="mastodon", text="one 1/3", thread_parts=["two 2/3", "three 3/3"])
        session.commit()
        server.fail_next("server_error", method="POST", path=r"/api/v1/statuses", after=1)
        engine.publish_due()
        texts = [s["content"] for s in server.statuses]
        assert len(server.statuses) == 3, texts
    [target] = targets_of(session, post)
    assert target.status == "published" and len(target.thread_post_ids) == 3


def test_targets_past_the_missed_window_are_not_claimed(session, crew):
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], "old", seconds_ago=3600)
    assert engine.publish_due() == []
    assert [t.status for t in targets_of(session, post)] == ["pending"]


def test_every_publish_is_announced_to_the_team_on_the_event_bus(session, crew, database_url):
    import psycopg

    from socialhub.core import db
    from socialhub.core import events

    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub])
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as listener:
        listener.execute(f"LISTEN {events.CHANNEL}")
        engine.publish_due()
        received = [events.parse(n.payload) for n in listener.notifies(timeout=2, stop_after=3)]
    posts_events = [e for e in received if e["kind"] == "posts"]
    assert posts_events and post.id in posts_events[0]["data"]["post_ids"]
    # Addressed to the team; the listener looks its members up.
    assert posts_events[0]["team_ids"] == [crew.team.id] and posts_events[0]["user_ids"] == []
    from socialhub.ui import realtime

    realtime._members.clear()
    assert realtime._team_members([crew.team.id]) == {crew.owner.id, crew.admin.id, crew.editor.id, crew.viewer.id}


def test_activity_log_records_each_attempt_in_words(session, crew):
    with FakeMastodonServer() as server:
        account = mastodon_account(session, crew, server)
        post = due_post(session, crew, [account])
        server.fail_next("server_error", method="POST", path=r"/api/v1/statuses", times=1)
        engine.publish_due()
    lines = session.exec(select(PostActivity.kind, PostActivity.message).where(PostActivity.post_id == post.id)
                         .order_by(PostActivity.id)).all()
    kinds = [k for k, _ in lines]
    assert "target_retrying" in kinds and "target_published" in kinds
    assert any("Attempt 1" in m for _, m in lines)


def test_engine_ticks_publish_due_posts_with_its_thread_pool(session, crew):
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"engine {i}") for i in range(25)]
    running = engine.Engine(worker="engine-test")
    try:
        running.tick(budget=1.0)
    finally:
        running.stop()
    assert all(status_of(session, p) == "published" for p in posts)
    assert session.execute(text("SELECT count(*) FROM social_posts")).scalar() == 25
    assert session.exec(select(PostTarget).where(PostTarget.claimed_by.is_not(None))).all() == []


def test_a_dead_process_s_claims_are_checked_only_where_it_had_started_sending(session, crew):
    with FakeBlueskyServer() as server:
        account = bluesky_account(session, crew, server)
        posts = [due_post(session, crew, [account], f"Prefetched {i}") for i in range(5)]
        dead = "dead-host-1#424242"  # a liveness key no live engine holds
        with session_scope() as s:
            jobs = claims.load_jobs(s, claims.claim_due_targets(s, worker=dead, limit=10, mark_sending=False))
        assert len(jobs) == 5
        with session_scope() as s:
            held, send_id = sends.mark_sending(s, worker=dead, target_ids=[jobs[0].target_id, jobs[1].target_id])
        assert held == {jobs[0].target_id, jobs[1].target_id} and send_id
        sending.attempt(jobs[0])  # sent; the process dies before writing the result (and before sending jobs[1])
        with session_scope() as s:
            assert claims.dead_workers(s, me="survivor") == [dead]
            taken = claims.claim_due_targets(s, worker="survivor", limit=10, dead_workers=[dead])
        checks = {c.target_id: c.needs_check for c in taken}
        assert checks == {j.target_id: j.target_id in held for j in jobs}, "only what it had started is checked"
        with session_scope() as s:
            outcomes = [sending.attempt(job) for job in claims.load_jobs(s, taken)]
            recording.apply_outcomes(s, outcomes, worker="survivor")
        assert sorted(o.attempt for o in outcomes) == ["found", "published", "published", "published", "published"]
        # the found one, the missing one, and the missing one under its pre-2027 key (bluesky._LEGACY_KEYS_UNTIL)
        assert len(server.received("GET", r"getRecord")) == 3
        assert len(server.posts()) == 5
    assert all(status_of(session, p) == "published" for p in posts)


def test_an_engine_is_alive_while_it_holds_its_lock_and_dead_the_moment_it_stops(session, crew):
    hub = hub_account(session, crew)
    due_post(session, crew, [hub], "in the future", seconds_ago=-3600)
    running = engine.Engine(worker="live-engine")
    running.start()
    with session_scope() as s:
        s.execute(text("UPDATE post_targets SET status = 'publishing', claimed_by = :w, claimed_until = now() + interval '1 hour'"),
                  {"w": running.worker})
    try:
        with session_scope() as s:
            assert claims.dead_workers(s, me="someone-else") == []
    finally:
        running.stop()
    with session_scope() as s:
        assert claims.dead_workers(s, me="someone-else") == [running.worker]
