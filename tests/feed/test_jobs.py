"""Feed jobs in the scheduler: concurrent refreshers share the work without overlap, and the
jobs run for real in a scheduler process."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta

from sqlalchemy import text, update
from sqlmodel import select

from scheduler.jobs import JOBS
from socialhub.feed import jobs as feed_jobs
from socialhub.core.config import ROOT
from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.feed.models import Digest, FeedSettings, FeedSource
from socialhub.feed import refresh, sources
from tests.feed.support import ada, feed_server, rss  # noqa: F401

SOURCES = 24


def follow_many(user_id: int, server, *, delay: float = 0.0) -> list[str]:
    paths = [f"/feed/{n}" for n in range(SOURCES)]
    for n, path in enumerate(paths):
        server.feed(path, rss([(f"Story {n} about rivers", f"https://s{n}.example/1", f"River {n} flooded.")],
                              title=f"Feed {n}"), delay=delay)
    opml = ("<opml version='2.0'><body>" + "".join(
        f"<outline type='rss' text='Feed {n}' xmlUrl='{server.url(path)}'/>" for n, path in enumerate(paths))
        + "</body></opml>").encode()
    with session_scope() as session:
        assert sources.import_opml(session, user_id=user_id, data=opml).added == SOURCES
    return paths


def test_two_refreshers_running_at_once_never_fetch_the_same_source_twice(ada, feed_server):
    paths = follow_many(ada.id, feed_server, delay=0.05)
    reports: list[refresh.RefreshReport] = []
    start = threading.Barrier(2)

    def refresher():
        start.wait()
        reports.append(refresh.refresh_due_sources(batch=5, time_budget_s=30, workers=0))

    threads = [threading.Thread(target=refresher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert [feed_server.count(path) for path in paths] == [1] * SOURCES
    assert sum(r.sources for r in reports) == SOURCES and all(r.sources for r in reports)
    with session_scope() as session:
        followed = session.exec(select(FeedSource)).all()
    assert all(s.claimed_until is None and s.last_success_at is not None for s in followed)


def test_a_claimed_source_is_left_alone_until_its_claim_expires(ada, feed_server):
    follow_many(ada.id, feed_server)
    with session_scope() as session:
        first = refresh.claim_sources(session, limit=SOURCES)
    with session_scope() as session:
        assert refresh.claim_sources(session, limit=SOURCES) == []
        later = utcnow() + refresh.CLAIM_LEASE + timedelta(seconds=1)
        assert len(refresh.claim_sources(session, limit=SOURCES, now=later)) == len(first) == SOURCES


def test_the_feed_jobs_are_shared_jobs_that_run_every_minute():
    for name in ("refresh_feeds", "build_digests"):
        func, trigger, store = JOBS[name]
        assert store == "shared" and trigger["trigger"] == "interval" and trigger["minutes"] == 1
        assert func.__module__ == "socialhub.feed.jobs"


def test_the_jobs_fetch_due_sources_and_build_due_digests(ada, feed_server):
    follow_many(ada.id, feed_server)
    feed_jobs.refresh_feeds()
    with session_scope() as session:
        assert session.execute(text("SELECT count(*) FROM feed_item_sources")).scalar_one() == SOURCES
        session.execute(update(FeedSettings).values(next_digest_at=utcnow() - timedelta(seconds=1)))
    feed_jobs.build_digests()
    with session_scope() as session:
        digest = session.exec(select(Digest)).one()
    assert digest.status == "delivered"


def test_a_scheduler_process_runs_the_refresh_job(ada, feed_server, database_url):
    paths = follow_many(ada.id, feed_server)
    result = subprocess.run([sys.executable, "-m", "scheduler", "--once", "--only", "refresh_feeds"], cwd=ROOT,
                            env=dict(os.environ, DATABASE_URL=database_url), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert all(feed_server.count(path) == 1 for path in paths)
