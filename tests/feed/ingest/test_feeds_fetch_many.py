"""Refreshing many feeds at once: per-host and global limits, errors in place, 304s."""

from __future__ import annotations

import asyncio

import pytest

from socialhub.feed.ingest import (
    FeedHTTPError,
    FeedTimeout,
    fetch_feed_async,
    fetch_many,
    FetchRequest,
    FetchResult,
    HostLimiter,
    NotAFeed,
)
from tests.fakes.feeds import ConcurrencyGauge, FeedServer, make_rss


def test_async_fetch_parses_and_then_gets_a_304(feed_server):
    feed_server.feed("/feed", make_rss(5), etag='"a"')

    async def scenario() -> tuple[FetchResult, FetchResult]:
        first = await fetch_feed_async(feed_server.url("/feed"))
        again = await fetch_feed_async(feed_server.url("/feed"), etag=first.etag)
        return first, again

    first, again = asyncio.run(scenario())

    assert len(first.feed.items) == 5
    assert again.not_modified
    assert feed_server.count("/feed") == 2


def test_async_fetch_follows_redirects_and_discovers_feeds_like_the_sync_one(feed_server):
    feed_server.redirect("/site", "/site/", status=301)
    feed_server.route("/site/", content_type="text/html", body=b"""<html><head>
<link rel="alternate" type="application/feed+json" href="feed.json"></head></html>""")
    feed_server.feed("/site/feed.json", b'{"version": "https://jsonfeed.org/version/1.1", '
                     b'"title": "J", "items": [{"id": "1", "content_text": "hi"}]}',
                     content_type="application/feed+json")

    result = asyncio.run(fetch_feed_async(feed_server.url("/site")))

    assert result.permanent_url == feed_server.url("/site/")
    assert result.discovered_url == feed_server.url("/site/feed.json")
    assert result.next_url == feed_server.url("/site/feed.json")
    assert result.feed.items[0].guid == "1"


def test_async_fetch_times_out(feed_server):
    feed_server.feed("/slow", make_rss(1), delay=1.5)

    with pytest.raises(FeedTimeout):
        asyncio.run(fetch_feed_async(feed_server.url("/slow"), timeout=0.3))


def test_async_fetch_times_out_on_a_dripping_body(feed_server):
    feed_server.feed("/drip", make_rss(20), drip=0.1, chunk_size=512)

    with pytest.raises(FeedTimeout):
        asyncio.run(fetch_feed_async(feed_server.url("/drip"), timeout=0.5))


def test_fetch_many_never_has_more_than_per_host_requests_in_flight_on_one_host(feed_server):
    for n in range(12):
        feed_server.feed(f"/feed/{n}", make_rss(3, title=f"Feed {n}"), delay=0.15)

    results = asyncio.run(
        fetch_many([feed_server.url(f"/feed/{n}") for n in range(12)], concurrency=50, per_host=3)
    )

    assert all(isinstance(r, FetchResult) for r in results)
    assert [r.feed.title for r in results] == [f"Feed {n}" for n in range(12)]
    assert feed_server.gauge.max_active == 3


def test_fetch_many_serves_different_hosts_in_parallel():
    gauge = ConcurrencyGauge()
    with FeedServer(gauge) as one, FeedServer(gauge) as two:
        for server in (one, two):
            for n in range(6):
                server.feed(f"/f{n}", make_rss(1), delay=0.15)
        urls = [server.url(f"/f{n}") for n in range(6) for server in (one, two)]

        results = asyncio.run(fetch_many(urls, per_host=2))

        assert all(isinstance(r, FetchResult) for r in results)
        assert one.gauge is two.gauge
        # Two hosts × two each: more than one host's share at once, never more than both.
        assert gauge.max_active == 4


def test_fetch_many_global_limit_caps_requests_across_all_hosts():
    gauge = ConcurrencyGauge()
    servers = [FeedServer(gauge).start() for _ in range(3)]
    try:
        urls = []
        for server in servers:
            for n in range(4):
                server.feed(f"/f{n}", make_rss(1), delay=0.1)
                urls.append(server.url(f"/f{n}"))

        results = asyncio.run(fetch_many(urls, concurrency=3, per_host=4))

        assert all(isinstance(r, FetchResult) for r in results)
        assert gauge.max_active == 3
    finally:
        for server in servers:
            server.close()


def test_fetch_many_returns_each_failure_in_its_place_and_finishes_the_rest(feed_server):
    feed_server.feed("/good", make_rss(2))
    feed_server.route("/broken", status=500, body=b"oops", content_type="text/plain")
    feed_server.route("/page", content_type="text/html", body=b"<html><body>hi</body></html>")

    results = asyncio.run(fetch_many(
        [feed_server.url("/broken"), feed_server.url("/good"), feed_server.url("/missing"),
         feed_server.url("/page")]
    ))

    broken, good, missing, page = results
    assert isinstance(broken, FeedHTTPError) and broken.status == 500
    assert isinstance(good, FetchResult) and len(good.feed.items) == 2
    assert isinstance(missing, FeedHTTPError) and missing.status == 404
    assert isinstance(page, NotAFeed)


def test_fetch_many_sends_each_feeds_validators_and_reports_not_modified(feed_server):
    feed_server.feed("/a", make_rss(1), etag='"a1"')
    feed_server.feed("/b", make_rss(1), last_modified="Tue, 05 Mar 2024 10:00:00 GMT")
    feed_server.feed("/c", make_rss(1), etag='"c2"')

    results = asyncio.run(fetch_many([
        FetchRequest(feed_server.url("/a"), etag='"a1"'),
        (feed_server.url("/b"), None, "Tue, 05 Mar 2024 10:00:00 GMT"),
        FetchRequest(feed_server.url("/c"), etag='"c1"'),
    ]))

    assert [r.not_modified for r in results] == [True, True, False]
    assert results[2].etag == '"c2"'


def test_host_limiter_counts_hosts_by_name_and_port():
    assert HostLimiter.host_key("https://Example.com/feed") == "example.com"
    assert HostLimiter.host_key("http://127.0.0.1:8080/a") == "127.0.0.1:8080"
    with pytest.raises(ValueError):
        HostLimiter(concurrency=0)
