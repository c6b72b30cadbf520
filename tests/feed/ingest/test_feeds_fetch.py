"""`fetch_feed` against a real local web server that misbehaves in every way feeds do."""

from __future__ import annotations

import socket

import httpx
import pytest

from socialhub.feed.ingest import (
    FeedConnectionError,
    FeedError,
    FeedHTTPError,
    FeedTimeout,
    FeedTooLarge,
    FeedTooManyRedirects,
    fetch_feed,
    NotAFeed,
)
from tests.fakes.feeds import make_rss

LAST_MODIFIED = "Tue, 05 Mar 2024 10:00:00 GMT"


def test_first_fetch_returns_the_parsed_feed_and_its_validators(feed_server, sample):
    feed_server.feed("/feed.xml", sample("rss20.xml"), etag='"v1"', last_modified=LAST_MODIFIED)

    result = fetch_feed(feed_server.url("/feed.xml"))

    assert result.status == 200
    assert not result.not_modified
    assert result.etag == '"v1"'
    assert result.last_modified == LAST_MODIFIED
    assert result.feed is not None
    assert result.feed.title == "Example Tech Daily"
    assert len(result.feed.items) == 3
    assert result.next_url == feed_server.url("/feed.xml")
    request = feed_server.requests_for("/feed.xml")[0]
    assert "if-none-match" not in request.headers
    assert request.headers["user-agent"].startswith("SocialHub/")


def test_unchanged_feed_costs_one_small_request_and_is_not_modified(feed_server, sample):
    feed_server.feed("/feed.xml", sample("rss20.xml"), etag='"v1"', last_modified=LAST_MODIFIED)
    first = fetch_feed(feed_server.url("/feed.xml"))

    again = fetch_feed(feed_server.url("/feed.xml"), etag=first.etag,
                       last_modified=first.last_modified)

    assert again.not_modified
    assert again.status == 304
    assert again.feed is None
    assert again.content == b""
    assert (again.etag, again.last_modified) == ('"v1"', LAST_MODIFIED)
    assert feed_server.count("/feed.xml") == 2
    conditional = feed_server.requests_for("/feed.xml")[1].headers
    assert conditional["if-none-match"] == '"v1"'
    assert conditional["if-modified-since"] == LAST_MODIFIED


def test_last_modified_alone_is_enough_for_a_304(feed_server, sample):
    feed_server.feed("/feed.xml", sample("atom.xml"), content_type="application/atom+xml",
                     last_modified=LAST_MODIFIED)

    result = fetch_feed(feed_server.url("/feed.xml"), last_modified=LAST_MODIFIED)

    assert result.not_modified
    assert result.last_modified == LAST_MODIFIED


def test_changed_feed_with_an_old_etag_returns_the_new_content_and_etag(feed_server):
    feed_server.feed("/feed.xml", make_rss(3), etag='"v2"')

    result = fetch_feed(feed_server.url("/feed.xml"), etag='"v1"')

    assert not result.not_modified
    assert result.etag == '"v2"'
    assert len(result.feed.items) == 3


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_redirect_is_followed_and_reported_as_the_new_url(feed_server, status):
    feed_server.redirect("/old-feed", "/new-feed", status=status)
    feed_server.feed("/new-feed", make_rss(2))

    result = fetch_feed(feed_server.url("/old-feed"))

    assert result.url == feed_server.url("/old-feed")
    assert result.final_url == feed_server.url("/new-feed")
    assert result.permanent_url == feed_server.url("/new-feed")
    assert result.next_url == feed_server.url("/new-feed")
    assert [hop.status for hop in result.redirects] == [status]
    assert len(result.feed.items) == 2


@pytest.mark.parametrize("status", [302, 303, 307])
def test_temporary_redirect_is_followed_but_the_old_url_is_kept(feed_server, status):
    feed_server.redirect("/feed", "/today/feed.xml", status=status)
    feed_server.feed("/today/feed.xml", make_rss(2))

    result = fetch_feed(feed_server.url("/feed"))

    assert result.final_url == feed_server.url("/today/feed.xml")
    assert result.permanent_url is None
    assert result.next_url == feed_server.url("/feed")
    assert len(result.feed.items) == 2


def test_permanent_hop_after_a_temporary_one_is_not_remembered(feed_server):
    feed_server.redirect("/a", "/b", status=302)
    feed_server.redirect("/b", "/c", status=301)
    feed_server.feed("/c", make_rss(1))

    result = fetch_feed(feed_server.url("/a"))

    assert result.permanent_url is None
    assert result.final_url == feed_server.url("/c")


def test_permanent_hops_before_a_temporary_one_are_remembered_up_to_it(feed_server):
    feed_server.redirect("/a", "/b", status=301)
    feed_server.redirect("/b", "/c", status=308)
    feed_server.redirect("/c", "/d", status=307)
    feed_server.feed("/d", make_rss(1))

    result = fetch_feed(feed_server.url("/a"))

    assert result.permanent_url == feed_server.url("/c")
    assert [hop.permanent for hop in result.redirects] == [True, True, False]


def test_validators_are_sent_through_redirects_and_a_304_still_reports_the_move(feed_server):
    feed_server.redirect("/old", "/new", status=301)
    feed_server.feed("/new", make_rss(1), etag='"e"')

    result = fetch_feed(feed_server.url("/old"), etag='"e"')

    assert result.not_modified
    assert result.permanent_url == feed_server.url("/new")


def test_redirect_loop_is_a_clear_error(feed_server):
    feed_server.redirect("/ping", "/pong", status=302)
    feed_server.redirect("/pong", "/ping", status=302)

    with pytest.raises(FeedTooManyRedirects, match="loop"):
        fetch_feed(feed_server.url("/ping"))
    assert feed_server.count() == 2


def test_more_than_five_redirects_is_an_error(feed_server):
    for n in range(7):
        feed_server.redirect(f"/r{n}", f"/r{n + 1}", status=301)
    feed_server.feed("/r7", make_rss(1))

    with pytest.raises(FeedTooManyRedirects, match="more than 5"):
        fetch_feed(feed_server.url("/r0"))
    assert feed_server.count("/r7") == 0


def test_redirect_to_a_non_web_scheme_is_refused(feed_server):
    feed_server.redirect("/feed", "file:///etc/passwd", status=301)

    with pytest.raises(FeedError, match="not a web address"):
        fetch_feed(feed_server.url("/feed"))


def test_missing_feed_is_a_404_error_that_retrying_will_not_fix(feed_server):
    with pytest.raises(FeedHTTPError) as caught:
        fetch_feed(feed_server.url("/nowhere.xml"))

    assert caught.value.status == 404
    assert not caught.value.retryable
    assert str(caught.value) == (
        f"The server answered 404 Not Found for {feed_server.url('/nowhere.xml')}. "
        "Check the address: the feed may have moved."
    )


def test_gone_feed_says_the_publisher_removed_it(feed_server):
    feed_server.route("/feed", status=410, body=b"gone", content_type="text/plain")

    with pytest.raises(FeedHTTPError) as caught:
        fetch_feed(feed_server.url("/feed"))

    assert caught.value.gone
    assert "removed this feed" in str(caught.value)


def test_server_error_is_retryable(feed_server):
    feed_server.route("/feed", status=500, body=b"<h1>Oops</h1>", content_type="text/html")

    with pytest.raises(FeedHTTPError) as caught:
        fetch_feed(feed_server.url("/feed"))

    assert caught.value.status == 500
    assert caught.value.retryable
    assert "500 Internal Server Error" in str(caught.value)


def test_rate_limited_feed_reports_retry_after(feed_server):
    feed_server.route("/feed", status=429, body=b"slow down", content_type="text/plain",
                      headers={"Retry-After": "120"})

    with pytest.raises(FeedHTTPError) as caught:
        fetch_feed(feed_server.url("/feed"))

    assert caught.value.retryable
    assert caught.value.retry_after == 120


def test_server_that_does_not_answer_in_time_is_a_timeout(feed_server):
    feed_server.feed("/slow", make_rss(1), delay=1.5)

    with pytest.raises(FeedTimeout) as caught:
        fetch_feed(feed_server.url("/slow"), timeout=0.3)

    assert caught.value.retryable
    assert "did not answer within 0.3 seconds" in str(caught.value)


def test_body_dripping_in_slower_than_the_time_allowed_is_a_timeout(feed_server):
    # Each chunk arrives well inside the read timeout; the whole body does not.
    feed_server.feed("/drip", make_rss(20), drip=0.1, chunk_size=512)

    with pytest.raises(FeedTimeout):
        fetch_feed(feed_server.url("/drip"), timeout=0.5)


def test_oversized_body_without_a_length_is_cut_off_while_streaming(feed_server):
    feed_server.feed("/big", make_rss(3000), declare_length=False)

    with pytest.raises(FeedTooLarge) as caught:
        fetch_feed(feed_server.url("/big"), max_bytes=200_000)

    assert caught.value.limit == 200_000
    assert "larger than the 200 kB limit" in str(caught.value)


def test_declared_content_length_over_the_limit_is_refused_before_reading(feed_server):
    feed_server.feed("/big", make_rss(3000))

    with pytest.raises(FeedTooLarge):
        fetch_feed(feed_server.url("/big"), max_bytes=100_000)


def test_gzip_bomb_is_cut_off_at_the_decoded_size(feed_server):
    body = b'<?xml version="1.0"?><rss version="2.0"><channel><title>' + b" " * 20_000_000
    feed_server.feed("/bomb", body, gzip=True)

    with pytest.raises(FeedTooLarge):
        fetch_feed(feed_server.url("/bomb"), max_bytes=1_000_000)


def test_gzip_compressed_feed_is_decoded(feed_server):
    feed_server.feed("/feed", make_rss(30), gzip=True)

    result = fetch_feed(feed_server.url("/feed"))

    assert len(result.feed.items) == 30
    assert feed_server.requests_for("/feed")[0].headers["accept-encoding"].startswith("gzip")


def test_html_page_is_searched_for_its_feed_link_and_the_feed_is_fetched(feed_server, sample):
    feed_server.route("/blog/", content_type="text/html; charset=utf-8", body=b"""<!doctype html>
<html><head><title>My blog</title>
<link rel="stylesheet" href="/style.css">
<link rel="alternate" type="application/rss+xml" title="My blog" href="/blog/feed/">
<link rel="alternate" type="application/rss+xml" title="Comments" href="/blog/comments/feed/">
</head><body><h1>Posts</h1></body></html>""")
    feed_server.feed("/blog/feed/", sample("rss20.xml"), etag='"f1"')

    result = fetch_feed(feed_server.url("/blog/"))

    assert result.discovered_url == feed_server.url("/blog/feed/")
    assert result.final_url == feed_server.url("/blog/feed/")
    assert result.next_url == feed_server.url("/blog/feed/")
    assert result.etag == '"f1"'
    assert result.feed.title == "Example Tech Daily"
    assert feed_server.count("/blog/comments/feed/") == 0


def test_discovered_feed_that_moved_permanently_is_remembered_at_its_new_place(feed_server):
    feed_server.route("/", content_type="text/html", body=b"""<html><head>
<link rel="alternate" type="application/atom+xml" href="/atom.xml"></head></html>""")
    feed_server.redirect("/atom.xml", "/feeds/atom.xml", status=301)
    feed_server.feed("/feeds/atom.xml", make_rss(1))

    result = fetch_feed(feed_server.url("/"))

    assert result.discovered_url == feed_server.url("/atom.xml")
    assert result.permanent_url is None
    assert result.next_url == feed_server.url("/feeds/atom.xml")


def test_html_page_without_a_feed_link_is_not_a_feed(feed_server):
    feed_server.route("/about", content_type="text/html",
                      body=b"<!DOCTYPE html><html><head><title>About</title></head>"
                           b"<body><p>Hello</p></body></html>")

    with pytest.raises(NotAFeed, match="web page without a feed link"):
        fetch_feed(feed_server.url("/about"))
    assert feed_server.count() == 1


def test_discovery_is_tried_only_once(feed_server):
    feed_server.route("/a", content_type="text/html", body=b"""<html><head>
<link rel="alternate" type="application/rss+xml" href="/b"></head></html>""")
    feed_server.route("/b", content_type="text/html", body=b"""<html><head>
<link rel="alternate" type="application/rss+xml" href="/c"></head></html>""")
    feed_server.feed("/c", make_rss(1))

    with pytest.raises(NotAFeed, match="web page too"):
        fetch_feed(feed_server.url("/a"))
    assert feed_server.count("/c") == 0


def test_binary_file_is_not_a_feed(feed_server):
    feed_server.route("/feed.xml", content_type="application/octet-stream",
                      body=b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)

    with pytest.raises(NotAFeed, match="is a PNG image, not a feed"):
        fetch_feed(feed_server.url("/feed.xml"))


def test_windows_1252_feed_declared_as_utf8_over_http_is_read_correctly(feed_server):
    body = ('<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
            "<title>Caf\u00e9</title><item><title>\u201cSmart quotes\u201d \u2014 r\u00e9sum\u00e9"
            "</title><guid>1</guid></item></channel></rss>").encode("windows-1252")
    feed_server.feed("/feed", body, content_type="application/rss+xml; charset=utf-8")

    result = fetch_feed(feed_server.url("/feed"))

    assert result.feed.items[0].title == "“Smart quotes” — résumé"
    assert result.feed.recovered


def test_utf8_feed_declared_as_latin1_over_http_is_read_correctly(feed_server):
    body = ('<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel>'
            "<title>Caf\u00e9</title><item><title>\u201cSmart quotes\u201d \u2014 r\u00e9sum\u00e9"
            "</title><guid>1</guid></item></channel></rss>").encode("utf-8")
    feed_server.feed("/feed", body, content_type="text/xml; charset=ISO-8859-1")

    result = fetch_feed(feed_server.url("/feed"))

    assert result.feed.title == "Café"
    assert result.feed.items[0].title == "“Smart quotes” — résumé"


def test_json_feed_is_fetched_and_parsed(feed_server, sample):
    feed_server.feed("/feed.json", sample("jsonfeed11.json"),
                     content_type="application/feed+json")

    result = fetch_feed(feed_server.url("/feed.json"))

    assert result.feed.format == "json11"


def test_parse_false_returns_the_raw_document_for_later_parsing(feed_server):
    body = make_rss(2)
    feed_server.feed("/feed", body)

    result = fetch_feed(feed_server.url("/feed"), parse=False)

    assert result.feed is None
    assert result.content == body
    assert result.content_type == "application/rss+xml; charset=utf-8"


def test_refused_connection_is_a_retryable_connection_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # Nothing listens on the port any more.
    with pytest.raises(FeedConnectionError) as caught:
        fetch_feed(f"http://127.0.0.1:{port}/feed", timeout=2)

    assert caught.value.retryable
    assert "could not be reached" in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://example.org/feed", "file:///etc/passwd", "feed.xml"])
def test_addresses_that_are_not_http_are_refused_without_a_request(url):
    with pytest.raises(FeedError, match="not a web address"):
        fetch_feed(url)


def test_a_shared_client_is_reused_and_left_open(feed_server):
    feed_server.feed("/a", make_rss(1))
    feed_server.feed("/b", make_rss(2))

    with httpx.Client() as client:
        first = fetch_feed(feed_server.url("/a"), client=client)
        second = fetch_feed(feed_server.url("/b"), client=client)
        assert not client.is_closed

    assert (len(first.feed.items), len(second.feed.items)) == (1, 2)


def test_redirect_without_a_location_is_a_clear_http_error(feed_server):
    feed_server.route("/feed", status=301, body=b"", content_type=None)

    with pytest.raises(FeedHTTPError, match="redirects \\(301\\) without saying where to"):
        fetch_feed(feed_server.url("/feed"))


def test_redirect_to_a_malformed_address_is_a_clear_error(feed_server):
    feed_server.redirect("/feed", "http://[::1/feed", status=302)

    with pytest.raises(FeedError, match="malformed address") as caught:
        fetch_feed(feed_server.url("/feed"))

    assert not caught.value.retryable
