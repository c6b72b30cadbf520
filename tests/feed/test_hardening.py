"""Feed hardening: no fetch of internal addresses, slow servers hold up nobody, no transaction
open while fetching, slow rules turned off (and their owner told), rate limits."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import timedelta

import psycopg
import pytest
from sqlalchemy import func, text, update
from sqlmodel import select

from socialhub.core import db, ratelimit
from socialhub.core.db import session_scope
from socialhub.core.errors import RateLimited, ValidationError
from socialhub.core.models import utcnow
from socialhub.feed import refresh, rules, sources, stories
from socialhub.feed.ingest import FeedRefused, fetch_many
from socialhub.feed.models import FeedItem, FeedRule, FeedSource
from socialhub.identity.models import Notification
from tests.fakes.feeds import FeedServer
from tests.feed.support import STORIES, ada, bob, feed_server, rss  # noqa: F401

REFUSED = FeedRefused.MESSAGE


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def source_count() -> int:
    with session_scope() as session:
        return session.execute(select(func.count()).select_from(FeedSource)).scalar_one()


@pytest.fixture
def internal(monkeypatch):
    """Private networks refused, as in production; yields a server on 127.0.0.1 (internal)."""
    monkeypatch.delenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS")
    with FeedServer() as server:
        server.feed("/feed", rss(title="Internal"))
        yield server


@pytest.fixture
def public(monkeypatch, internal):
    """A server that the guard treats as public (127.0.0.2 only is allowed), next to `internal`."""
    monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "127.0.0.2/32")
    with FeedServer(host="127.0.0.2") as server:
        yield server


# ---- 1. no internal addresses ------------------------------------------------------------------

def test_an_internal_address_in_any_spelling_is_refused_and_the_port_cannot_be_probed(ada, internal):
    messages = set()
    for url in (f"http://2130706433:{internal.port}/feed", f"http://2130706433:{closed_port()}/feed",
                f"http://127.0.0.1:{internal.port}/feed", f"http://0x7f.1:{internal.port}/feed",
                f"http://[::ffff:127.0.0.1]:{internal.port}/feed", "http://169.254.169.254/latest/meta-data/"):
        with pytest.raises(ValidationError) as refused:
            sources.add_source(user_id=ada.id, url=url)
        messages.add(str(refused.value))
    assert messages == {REFUSED}  # an open port and a closed one look the same
    assert internal.count() == 0 and source_count() == 0


def test_a_feed_that_redirects_inside_is_refused(ada, internal, public):
    public.redirect("/metadata", "http://169.254.169.254/latest/meta-data/iam/", status=302)
    public.redirect("/moved", internal.url("/feed"), status=301)

    for path in ("/metadata", "/moved"):
        with pytest.raises(ValidationError, match=REFUSED):
            sources.add_source(user_id=ada.id, url=public.url(path))
    assert public.count() == 2 and internal.count() == 0 and source_count() == 0

    # The same during a refresh, for a source that was fine when it was added.
    public.feed("/feed", rss(title="Public"))
    source = sources.add_source(user_id=ada.id, url=public.url("/feed"))
    public.redirect("/feed", internal.url("/feed"), status=302)
    with session_scope() as session:
        session.execute(update(FeedSource).values(next_fetch_at=utcnow() - timedelta(seconds=1)))
    report = refresh.refresh_due_sources(time_budget_s=10)
    assert report.errors == {source.id: REFUSED} and internal.count() == 0
    outcomes = asyncio.run(fetch_many([public.url("/feed"), internal.url("/feed")]))
    assert [type(o) for o in outcomes] == [FeedRefused, FeedRefused]


def test_a_page_whose_feed_link_points_inside_is_refused(ada, internal, public):
    public.route("/", content_type="text/html", body=(
        f'<html><head><link rel="alternate" type="application/rss+xml" href="{internal.url("/feed")}">'
        "</head><body>Blog</body></html>").encode())

    with pytest.raises(ValidationError, match=REFUSED):
        sources.add_source(user_id=ada.id, url=public.url("/"))
    assert public.count("/") == 1 and internal.count() == 0 and source_count() == 0


# ---- 11. a slow server holds up nobody else ---------------------------------------------------

def test_a_server_dribbling_its_headers_times_out_and_the_healthy_feeds_are_stored_first(ada, feed_server):
    healthy = []
    for name in ("one", "two"):
        feed_server.feed(f"/{name}", rss(title=name.title(), site=f"https://{name}.example"))
        healthy.append(sources.add_source(user_id=ada.id, url=feed_server.url(f"/{name}")).id)
        feed_server.feed(f"/{name}", rss([(f"Fresh news from {name}", f"https://{name}.example/fresh", "New.")]
                                         + [(t, f"https://{name}.example/{n}", b) for n, (t, b) in enumerate(STORIES)],
                                         title=name.title(), site=f"https://{name}.example"))
    with FeedServer() as slow_server:
        slow_server.route("/slow", body=rss(), drip_headers=0.2)  # ~2,500 header bytes: 8 minutes
        with session_scope() as session:
            slow = FeedSource(user_id=ada.id, url=slow_server.url("/slow"), title="Slow", next_fetch_at=utcnow())
            session.add(slow)
            session.flush()
            slow_id = slow.id
            session.execute(update(FeedSource).values(next_fetch_at=utcnow() - timedelta(seconds=1)))

        outcome = {}
        started = time.monotonic()
        worker = threading.Thread(target=lambda: outcome.setdefault(
            "report", refresh.refresh_due_sources(time_budget_s=30, timeout=3)))
        worker.start()
        seen_while_slow_claimed = False
        while worker.is_alive():
            with session_scope() as session:
                fresh = session.execute(text("SELECT count(*) FROM feed_items WHERE title LIKE 'Fresh news%'")).scalar_one()
                slow_claimed = session.get(FeedSource, slow_id).claimed_until is not None
            if fresh == 2 and slow_claimed:
                seen_while_slow_claimed = True
                break
            time.sleep(0.05)
        worker.join(timeout=30)
        elapsed = time.monotonic() - started

    assert seen_while_slow_claimed, "the healthy feeds were stored only after the slow one gave up"
    report = outcome["report"]
    assert (report.sources, report.fetched, report.failed) == (3, 2, 1)
    assert "did not answer within 3 seconds" in report.errors[slow_id]
    assert elapsed < 10
    with session_scope() as session:
        after = session.get(FeedSource, slow_id)
        assert after.claimed_until is None and after.error_count == 1 and "did not answer" in after.last_error
        assert all(session.get(FeedSource, i).claimed_until is None for i in healthy)


# ---- 14. no transaction open while fetching ---------------------------------------------------

def idle_in_transaction(database_url: str) -> int:
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                            "AND state LIKE 'idle in transaction%'").fetchone()[0]


def while_fetching(server: FeedServer, path: str, requests_before: int, call, database_url: str) -> int:
    """Run `call` in a thread; once the (slow) server has the request, count open transactions."""
    failure = []
    worker = threading.Thread(target=lambda: failure.append(None) if call() is None else None)
    worker.start()
    deadline = time.monotonic() + 10
    while server.count(path) == requests_before and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    count = idle_in_transaction(database_url)
    worker.join(timeout=20)
    return count


def test_adding_and_refreshing_a_source_hold_no_transaction_open_while_fetching(ada, feed_server, database_url):
    feed_server.feed("/slowish", rss(), delay=1.5)

    assert while_fetching(feed_server, "/slowish", 0,
                          lambda: sources.add_source(user_id=ada.id, url=feed_server.url("/slowish")),
                          database_url) == 0
    with session_scope() as session:
        source_id = session.exec(select(FeedSource.id)).one()
    assert while_fetching(feed_server, "/slowish", 1,
                          lambda: sources.refresh_now(user_id=ada.id, source_ids=[source_id]), database_url) == 0
    assert feed_server.count("/slowish") == 2 and len(stories_of(ada.id)) == 5


def stories_of(user_id: int) -> list[str]:
    with session_scope() as session:
        return [s.title for s in stories.list_stories(session, user_id=user_id, limit=100).stories]


# ---- 15. a rule too slow for new stories is turned off, and its owner told --------------------

SLOW_PATTERN = r"^(.*)(.*)(.*)(.*)\4\3\2\1$"  # back-references: PostgreSQL's engine backtracks


def test_a_rule_too_slow_on_new_stories_is_turned_off_and_its_owner_is_told(ada, bob, feed_server):
    feed_server.feed("/feed", rss([("Short title", "https://r.example/1", "Body.")]))
    source_id = sources.add_source(user_id=ada.id, url=feed_server.url("/feed")).id
    with session_scope() as session:
        slow = rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern=SLOW_PATTERN)
        quick = rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern="casino")
    long_title = "abcdefgh " * 40 + "the end"
    feed_server.feed("/feed", rss([("Short title", "https://r.example/1", "Body."),
                                   (long_title, "https://r.example/2", "A long title."),
                                   ("Online casino bonus", "https://r.example/3", "Spam.")]))
    with session_scope() as session:
        session.execute(update(FeedSource).where(FeedSource.id == source_id)
                        .values(next_fetch_at=utcnow() - timedelta(seconds=1)))

    started = time.monotonic()
    report = refresh.refresh_due_sources(time_budget_s=10)

    assert time.monotonic() - started < 5 and report.entries_new == 2
    with session_scope() as session:
        assert session.get(FeedRule, slow.id).disabled_at is not None
        assert session.get(FeedRule, quick.id).disabled_at is None
        notes = session.exec(select(Notification).where(Notification.user_id == ada.id)).all()
        assert [n.title for n in notes] == ["A feed rule was turned off"]
        assert SLOW_PATTERN in notes[0].body
        assert session.exec(select(Notification).where(Notification.user_id == bob.id)).all() == []
    assert set(stories_of(ada.id)) == {"Short title", long_title.strip()}  # the quick rule still applies

    # Turned off, it is skipped from now on: the next refresh is quick and tells nobody again.
    feed_server.feed("/feed", rss([(long_title + " again", "https://r.example/4", "More.")]))
    with session_scope() as session:
        session.execute(update(FeedSource).values(next_fetch_at=utcnow() - timedelta(seconds=1)))
    refresh.refresh_due_sources(time_budget_s=10)
    with session_scope() as session:
        assert len(session.exec(select(Notification).where(Notification.user_id == ada.id)).all()) == 1


# ---- 20. rate limits ------------------------------------------------------------------------

def test_adding_sources_and_refreshing_are_rate_limited_per_reader(ada, bob, feed_server, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "feed_add_source=2/hour;feed_refresh=1/hour")
    ratelimit.reset()
    for n in range(3):
        feed_server.feed(f"/f{n}", rss(title=f"Feed {n}", site=f"https://f{n}.example"))
    sources.add_source(user_id=ada.id, url=feed_server.url("/f0"))
    sources.add_source(user_id=ada.id, url=feed_server.url("/f1"))
    with pytest.raises(RateLimited, match="Too many new feed sources"):
        sources.add_source(user_id=ada.id, url=feed_server.url("/f2"))
    with pytest.raises(RateLimited):
        with session_scope() as session:
            sources.import_opml(session, user_id=ada.id, data=b"<opml/>")
    assert feed_server.count("/f2") == 0
    sources.add_source(user_id=bob.id, url=feed_server.url("/f2"))  # someone else's count

    sources.refresh_now(user_id=ada.id)
    with pytest.raises(RateLimited, match="Too many refreshes"):
        sources.refresh_now(user_id=ada.id)
    with session_scope() as session:
        assert session.execute(select(func.count()).select_from(FeedItem)).scalar_one() == 15
