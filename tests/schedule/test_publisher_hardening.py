"""The publisher when things go wrong around it: a platform answer the database refuses, results
that cannot be written, and liveness locks whose connections are cut (a PostgreSQL restart)."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import text

from socialhub.channels.adapters import PublishResult
from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.schedule.publisher import claims, engine, recording, sending
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    due_post,
    fast_publishing,
    hub_account,
    status_of,
    targets_of,
)


# ---- a poisoned answer ------------------------------------------------------------------------

def _claimed_jobs(worker: str, n: int):
    with session_scope() as s:
        jobs = claims.load_jobs(s, claims.claim_due_targets(s, worker=worker, limit=n))
    return sorted(jobs, key=lambda j: j.target_id)


def _made(job, **kw):
    return sending.Outcome(job=job, started_at=utcnow(), duration_ms=5, **kw)


def test_platform_text_is_cleaned_before_it_is_stored_and_the_batch_goes_through(session, crew):
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"batch {i}") for i in range(5)]
    worker = "writer-1#11"
    jobs = _claimed_jobs(worker, 5)
    assert len(jobs) == 5
    outcomes = [
        sending.attempt(jobs[0]),  # really published on the hub
        _made(jobs[1], status="retrying", attempt="retry", error="Upstream said \x00\x01 no\ud800"),
        sending.attempt(jobs[2]),
        _made(jobs[3], status="retrying", attempt="retry", error="E" * 3_000_000),  # a huge error page
        sending.attempt(jobs[4]),
    ]
    with session_scope() as s:
        written = recording.apply_outcomes(s, outcomes, worker=worker)
    assert written == sorted(j.target_id for j in jobs)
    targets = [targets_of(session, p)[0] for p in posts]
    assert [t.status for t in targets] == ["published", "retrying", "published", "retrying", "published"]
    assert targets[1].last_error == "Upstream said  no" and targets[1].attempts == 1
    assert targets[3].last_error == "E" * 2000
    assert all(t.claimed_by is None for t in targets)
    assert [status_of(session, p) for p in posts] == ["published", "publishing", "published", "publishing", "published"]
    errors = session.execute(text("SELECT error FROM publish_attempts ORDER BY target_id")).scalars().all()
    assert "\x00" not in "".join(errors) and max(len(e) for e in errors) <= 2000


def unchecked_result(platform_post_id: str) -> PublishResult:
    """A result as an adapter that cleans nothing would return it (the publisher trusts no adapter)."""
    result = PublishResult(platform_post_id="1")
    object.__setattr__(result, "platform_post_id", platform_post_id)
    return result


def test_an_answer_the_database_refuses_fails_only_its_own_target(session, crew, monkeypatch):
    """Should anything still get past the cleaning, the batch is split until the one bad outcome
    is found: it is recorded failed ("could not be stored"), everything else as usual."""
    monkeypatch.setattr(recording, "clean_outcome", lambda outcome: outcome)  # a gap in the cleaning
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"split {i}") for i in range(7)]
    worker = "writer-2#12"
    jobs = _claimed_jobs(worker, 7)
    outcomes = [sending.attempt(job) for job in jobs]
    outcomes[2] = _made(jobs[2], status="retrying", attempt="retry", error="bad \x00 byte")
    outcomes[5] = _made(jobs[5], status="published", attempt="published", result=unchecked_result("9" * 5000))
    with session_scope() as s:
        written = recording.apply_outcomes(s, outcomes, worker=worker)
    assert written == sorted(j.target_id for j in jobs)
    targets = [targets_of(session, p)[0] for p in posts]
    assert [t.status for t in targets] == ["published", "published", "failed", "published", "published", "failed", "published"]
    for bad in (targets[2], targets[5]):
        assert recording.UNSTORABLE in bad.last_error and bad.needs_check and bad.platform_post_id is None
        assert bad.claimed_by is None
    assert [status_of(session, p) for i, p in enumerate(posts) if i not in (2, 5)] == ["published"] * 5
    assert session.execute(text("SELECT count(*) FROM social_posts")).scalar() == 7


def test_claims_are_renewed_while_results_cannot_be_written(session, crew, monkeypatch):
    monkeypatch.setenv("PUBLISH_CLAIM_SECONDS", "2")  # renewed every ~0.7 s
    monkeypatch.setenv("PUBLISH_PREFETCH_SECONDS", "0")  # a first claim lasts 2 s
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], "cannot be recorded yet")

    def broken(*args, **kwargs):
        raise RuntimeError("the database refuses this batch")

    monkeypatch.setattr(engine, "apply_outcomes", broken)
    running = engine.Engine(worker="renewing")
    try:
        running.tick(budget=0.5)
        time.sleep(3.5)  # longer than a claim lasts
        [target] = targets_of(session, post)
        assert target.status == "publishing" and target.claimed_by == running.worker
        assert target.claimed_until > utcnow(), "the claim was renewed although its result could not be written"
    finally:
        monkeypatch.setattr(engine, "apply_outcomes", recording.apply_outcomes)
        running.stop()
    assert status_of(session, post) == "published"
    assert session.execute(text("SELECT count(*) FROM social_posts")).scalar() == 1


# ---- the liveness lock ------------------------------------------------------------------------

GRACE = getattr(engine, "DEAD_GRACE_SECONDS", 3.0)

def _liveness_pid(running: engine.Engine) -> int:
    return running._liveness.info.backend_pid


def _terminate(pids: list[int]) -> None:
    with session_scope() as s:
        for pid in pids:
            s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    time.sleep(0.3)


def test_an_engine_whose_lock_connection_was_cut_takes_its_lock_again(session, crew):
    hub = hub_account(session, crew)
    running = engine.Engine(worker="cut")
    running.start()
    try:
        old = _liveness_pid(running)
        due_post(session, crew, [hub], "claimed by the engine", seconds_ago=-3600)
        with session_scope() as s:
            s.execute(text("UPDATE post_targets SET status = 'publishing', claimed_by = :w, "
                           "claimed_until = now() + interval '1 hour'"), {"w": running.worker})
        _terminate([old])  # an idle-connection kill
        with session_scope() as s:
            assert claims.dead_workers(s, me="someone-else") == [running.worker], "its lock is gone for now"
        time.sleep(engine.DEAD_CHECK_SECONDS)
        running.tick(budget=0.2)
        assert _liveness_pid(running) != old
        with session_scope() as s:
            assert claims.dead_workers(s, me="someone-else") == [], "the lock is held again"
    finally:
        running.stop()


def test_after_every_lock_is_lost_at_once_no_engine_takes_another_s_claims(session, crew):
    """A PostgreSQL restart drops every liveness lock at once: an engine that gets its lock back
    first must not take the claims of engines that have not reconnected yet."""
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"held by A {i}") for i in range(3)]
    a, b = engine.Engine(worker="engine-a"), engine.Engine(worker="engine-b")
    a.start()
    b.start()
    try:
        with session_scope() as s:
            s.execute(text("UPDATE post_targets SET status = 'publishing', claimed_by = :w, "
                           "claimed_until = now() + interval '1 hour'"), {"w": a.worker})
        _terminate([_liveness_pid(a), _liveness_pid(b)])
        # B notices first and reconnects; A is slow (its tick has not come yet).
        deadline = time.monotonic() + GRACE * 0.6
        while time.monotonic() < deadline:
            b.tick(budget=0.2)
        held_by = {t.claimed_by for p in posts for t in targets_of(session, p)}
        assert held_by == {a.worker}, "B took A's claims while A was reconnecting"
        # A comes back; B, watching for longer than the grace period, still leaves A's claims alone.
        time.sleep(engine.DEAD_CHECK_SECONDS)
        a.tick(budget=0.2)
        deadline = time.monotonic() + GRACE + 1
        while time.monotonic() < deadline:
            b.tick(budget=0.2)
        assert {t.claimed_by for p in posts for t in targets_of(session, p)} == {a.worker}
        assert session.execute(text("SELECT count(*) FROM social_posts")).scalar() == 0
    finally:
        b.stop()
        a.stop()


def test_a_really_dead_engine_s_claims_are_taken_after_the_grace_period(session, crew):
    hub = hub_account(session, crew)
    posts = [due_post(session, crew, [hub], f"orphan {i}") for i in range(3)]
    gone = engine.Engine(worker="gone")
    gone.start()
    with session_scope() as s:
        s.execute(text("UPDATE post_targets SET status = 'publishing', claimed_by = :w, "
                       "claimed_until = now() + interval '1 hour'"), {"w": gone.worker})
    gone._liveness.close()  # it died: its lock is gone for good
    gone._liveness = None
    survivor = engine.Engine(worker="survivor")
    try:
        started = time.monotonic()
        while time.monotonic() - started < GRACE + 5:
            survivor.tick(budget=0.3)
            if all(status_of(session, p) == "published" for p in posts):
                break
        assert time.monotonic() - started >= GRACE * 0.9
    finally:
        survivor.stop()
    assert all(status_of(session, p) == "published" for p in posts)
    assert session.execute(text("SELECT count(*) FROM social_posts")).scalar() == 3
    assert not [t for p in posts for t in targets_of(session, p) if t.claimed_until and t.claimed_until > utcnow() + timedelta(minutes=5)]


def test_the_publisher_asks_for_the_scheduled_time_so_record_keys_follow_it(session, crew):
    """Bluesky's record keys (TIDs) come from the scheduled time: the request must carry it."""
    account = hub_account(session, crew)
    post = due_post(session, crew, [account], seconds_ago=30)
    (job,) = _claimed_jobs("tid-check", 1)
    (target,) = targets_of(session, post)
    session.refresh(target)
    assert job.request is not None and job.request.scheduled_at == target.scheduled_at
