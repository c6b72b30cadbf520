"""Finding a site's feed from its web page, the way browsers and feed readers do."""

from __future__ import annotations

from socialhub.feed.ingest import discover_feeds


def test_feed_links_are_found_in_page_order_and_made_absolute():
    page = b"""<!DOCTYPE html><html lang="en"><head>
<meta charset="utf-8"><title>Example</title>
<link rel="stylesheet" href="/css/site.css">
<link rel="alternate" type="application/rss+xml" title="Example &raquo; Feed" href="https://example.com/feed/">
<link rel="alternate" type="application/atom+xml" href="/atom.xml">
<link rel="alternate" type="application/feed+json" href="feed.json">
<link rel="alternate" hreflang="de" href="https://example.com/de/">
</head><body></body></html>"""

    assert discover_feeds(page, "https://example.com/blog/") == [
        "https://example.com/feed/",
        "https://example.com/atom.xml",
        "https://example.com/blog/feed.json",
    ]


def test_wordpress_rest_api_link_comes_after_the_real_feeds():
    page = b"""<html><head>
<link rel="https://api.w.org/" href="https://wp.example/wp-json/">
<link rel="alternate" type="application/json" href="https://wp.example/wp-json/wp/v2/pages/12">
<link rel="alternate" type="application/rss+xml" title="Feed" href="https://wp.example/feed/">
<link rel="alternate" type="application/rss+xml" title="Comments" href="https://wp.example/comments/feed/">
</head></html>"""

    assert discover_feeds(page, "https://wp.example/") == [
        "https://wp.example/feed/",
        "https://wp.example/comments/feed/",
        "https://wp.example/wp-json/wp/v2/pages/12",
    ]


def test_base_element_rel_case_and_type_parameters_are_respected():
    page = b"""<HTML><HEAD><BASE HREF="https://cdn.example.net/site/">
<LINK REL="Alternate Feed" TYPE="application/rss+xml; charset=utf-8" HREF="rss.xml">
</HEAD></HTML>"""

    assert discover_feeds(page, "https://example.com/") == ["https://cdn.example.net/site/rss.xml"]


def test_feed_scheme_links_become_http_and_duplicates_are_dropped():
    page = b"""<head><link rel="alternate" type="application/rss+xml" href="feed://example.com/rss">
<link rel="alternate" type="application/rss+xml" href="http://example.com/rss">
<link rel="alternate" type="application/rss+xml" href="javascript:alert(1)"></head>"""

    assert discover_feeds(page, "https://example.com/") == ["http://example.com/rss"]


def test_page_without_feed_links_gives_nothing():
    page = b"<html><head><title>No feed</title></head><body><a href='/rss'>RSS</a></body></html>"

    assert discover_feeds(page, "https://example.com/") == []


def test_page_in_a_legacy_encoding_is_read():
    page = ('<html><head><meta charset="windows-1252"><title>Caf\u00e9</title>'
            '<link rel="alternate" type="application/rss+xml" href="/caf\u00e9/feed">'
            "</head></html>").encode("windows-1252")

    assert discover_feeds(page, "https://example.com/") == ["https://example.com/café/feed"]
