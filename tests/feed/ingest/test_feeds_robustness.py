"""Feeds as they really arrive: broken XML, wrong encodings, huge documents, hostile DTDs."""

from __future__ import annotations

import json
import time

import pytest

from socialhub.feed.ingest import FeedParseError, NotAFeed, parse_feed
from tests.fakes.feeds import make_rss

CAFE_FEED = (
    '<?xml version="1.0" encoding="{declared}"?>\n<rss version="2.0"><channel>'
    "<title>Caf\u00e9 \u201cnews\u201d</title><link>https://cafe.example</link>"
    "<item><title>Na\u00efve r\u00e9sum\u00e9 tips \u2014 part 2</title>"
    "<link>https://cafe.example/p/2</link><guid>p2</guid></item>"
    "</channel></rss>"
)


def test_unclosed_tags_and_a_truncated_document_still_give_the_readable_items():
    document = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Broken & unescaped</title>'
        b"<item><title>First story</title><link>https://b.example/1</link></item>"
        b"<item><title>Second <b>story</title><link>https://b.example/2</link></item>"
        b"<item><title>Third story, cut off mid-wr"
    )

    feed = parse_feed(document, content_type="application/rss+xml", url="https://b.example/rss")

    assert feed.recovered
    assert "not well-formed" in feed.warnings[0]
    assert [item.url for item in feed.items[:2]] == ["https://b.example/1", "https://b.example/2"]
    assert feed.items[0].title == "First story"


def test_xml_with_nothing_recoverable_is_a_parse_error():
    with pytest.raises(FeedParseError, match="not a readable feed"):
        parse_feed(b'<?xml version="1.0"?><rss version="2.0"><<<>>>&&&<<',
                   content_type="application/rss+xml", url="https://b.example/rss")


def test_xml_that_is_not_a_feed_is_not_a_feed():
    with pytest.raises(NotAFeed):
        parse_feed(b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
                   content_type="image/svg+xml", url="https://b.example/logo.svg")


def test_windows_1252_bytes_declared_as_utf8_are_read_as_windows_1252():
    document = CAFE_FEED.format(declared="utf-8").encode("windows-1252")

    feed = parse_feed(document, content_type="application/rss+xml; charset=utf-8",
                      url="https://cafe.example/rss")

    assert feed.title == "Café “news”"
    assert feed.items[0].title == "Naïve résumé tips — part 2"
    assert feed.warnings == ("the declared text encoding was wrong; read as windows-1252",)


def test_utf8_bytes_declared_as_iso_8859_1_are_read_as_utf8():
    document = CAFE_FEED.format(declared="iso-8859-1").encode("utf-8")

    feed = parse_feed(document, content_type="text/xml; charset=iso-8859-1",
                      url="https://cafe.example/rss")

    assert feed.title == "Café “news”"
    assert feed.items[0].title == "Naïve résumé tips — part 2"


def test_utf16_feed_with_a_byte_order_mark_is_read():
    document = CAFE_FEED.format(declared="utf-16").encode("utf-16")

    feed = parse_feed(document, content_type="application/rss+xml", url="https://cafe.example/rss")

    assert feed.items[0].title == "Naïve résumé tips — part 2"


def test_json_feed_in_windows_1252_is_read_with_a_warning():
    document = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Caf\u00e9",
         "items": [{"id": "1", "title": "Cr\u00e8me br\u00fbl\u00e9e \u2014 recipe",
                    "content_text": "x"}]},
        ensure_ascii=False,
    ).encode("windows-1252")

    feed = parse_feed(document, content_type="application/feed+json; charset=utf-8",
                      url="https://cafe.example/feed.json")

    assert feed.items[0].title == "Crème brûlée — recipe"
    assert feed.warnings == ("the JSON was not UTF-8; read as windows-1252",)


def test_a_utf8_feed_with_a_few_broken_bytes_keeps_its_text_and_marks_the_broken_bytes():
    good = CAFE_FEED.format(declared="utf-8").encode("utf-8")
    document = good.replace("part 2".encode(), b"part \xff2 \xc3")  # a stray byte, a cut sequence

    for content_type in ("application/rss+xml; charset=utf-8", "application/rss+xml"):
        feed = parse_feed(document, content_type=content_type, url="https://cafe.example/rss")
        assert feed.title == "Café “news”"
        assert feed.items[0].title == "Naïve résumé tips — part \ufffd2 \ufffd"
        assert feed.warnings == ("some bytes were not valid UTF-8; they were replaced",)


def test_a_utf8_json_feed_with_a_few_broken_bytes_keeps_its_text():
    document = json.dumps(
        {"version": "https://jsonfeed.org/version/1.1", "title": "Caf\u00e9",
         "items": [{"id": "1", "title": "Cr\u00e8me br\u00fbl\u00e9e \u2014 recipe BROKEN",
                    "content_text": "x"}]},
        ensure_ascii=False,
    ).encode("utf-8").replace(b"BROKEN", b"\xe2\x80")

    feed = parse_feed(document, content_type="application/feed+json; charset=utf-8",
                      url="https://cafe.example/feed.json")

    assert feed.title == "Café"
    assert feed.items[0].title == "Crème brûlée — recipe \ufffd"
    assert feed.warnings == ("some bytes were not valid UTF-8; they were replaced",)


@pytest.mark.parametrize("version, label", [("1.0", "json10"), ("1", "json10"), ("1.1", "json11"),
                                            ("http://jsonfeed.org/version/1", "json10")])
def test_a_json_feed_whose_version_is_a_bare_number_is_read(version, label):
    document = json.dumps({"version": version, "title": "Bare",
                           "items": [{"id": "1", "url": "https://bare.example/1", "title": "One"}]}).encode()

    feed = parse_feed(document, content_type="application/feed+json", url="https://bare.example/feed.json")

    assert (feed.format, [i.title for i in feed.items]) == (label, ["One"])


@pytest.mark.parametrize("version", ["2.0", "one", "", None, 1.1])
def test_json_with_another_version_is_still_not_a_json_feed(version):
    with pytest.raises(NotAFeed, match="not a JSON Feed"):
        parse_feed(json.dumps({"version": version, "items": []}).encode(), content_type="application/json")


def test_huge_feed_of_5000_items_is_parsed_completely():
    document = make_rss(5000, site="https://big.example")
    assert len(document) > 2_000_000

    started = time.monotonic()
    feed = parse_feed(document, content_type="application/rss+xml", url="https://big.example/rss")
    elapsed = time.monotonic() - started

    assert len(feed.items) == 5000
    assert len({item.guid for item in feed.items}) == 5000
    assert feed.items[0].title == "Story number 4999: what happened today"
    assert feed.items[-1].content_html == (
        '<p>Summary of story 0 with a <a href="https://big.example/posts/0" '
        'rel="noopener noreferrer">link</a>.</p>'
    )
    assert elapsed < 20, f"5,000 items took {elapsed:.1f} s"


def test_max_items_keeps_only_the_first_items_of_a_feed():
    feed = parse_feed(make_rss(50), content_type="application/rss+xml",
                      url="https://site.example/rss", max_items=10)

    assert len(feed.items) == 10
    assert feed.items[0].title.startswith("Story number 49:")


def test_billion_laughs_entities_in_a_feed_are_not_expanded():
    lol = "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10)
    )
    document = (
        '<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + lol + "]>"
        '<rss version="2.0"><channel><title>&lol9;</title>'
        "<item><title>Bomb &lol9;</title><guid>b1</guid></item></channel></rss>"
    ).encode()

    started = time.monotonic()
    try:
        feed = parse_feed(document, content_type="application/rss+xml",
                          url="https://evil.example/rss")
    except FeedParseError:
        feed = None
    assert time.monotonic() - started < 5
    if feed is not None:
        assert all(len(item.title) < 1000 for item in feed.items)
        assert len(feed.title) < 1000


def test_external_entities_in_a_feed_are_never_read():
    document = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
        b'<rss version="2.0"><channel><title>T</title>'
        b"<item><title>Leak &xxe;</title><guid>x</guid></item></channel></rss>"
    )

    try:
        feed = parse_feed(document, content_type="application/rss+xml",
                          url="https://evil.example/rss")
    except FeedParseError:
        return
    assert all("root:" not in item.title for item in feed.items)


@pytest.mark.parametrize(
    ("content", "content_type", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "image/png", "a PNG image"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/octet-stream", "a PDF document"),
        (bytes(range(256)) * 4, "application/octet-stream", "binary data"),
        (b"<!DOCTYPE html><html><head><title>Blog</title></head><body></body></html>",
         "text/html", "a web page"),
        (b"Just some plain words, no markup at all.", "text/plain", "plain text"),
        (b"", "application/rss+xml", "empty"),
    ],
)
def test_documents_that_are_not_feeds_are_refused_with_what_they_are(content, content_type,
                                                                     expected):
    with pytest.raises(NotAFeed, match=expected):
        parse_feed(content, content_type=content_type, url="https://x.example/feed")


def test_feed_served_with_a_wrong_content_type_is_still_a_feed(sample):
    feed = parse_feed(sample("atom.xml"), content_type="text/html; charset=utf-8",
                      url="http://example.org/feed.atom")

    assert feed.format == "atom10"
    assert len(feed.items) == 2
    assert not feed.warnings


def test_malformed_urls_inside_a_feed_are_dropped_not_fatal():
    document = (
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title><item>'
        b"<title>Odd links</title><link>http://[::1/broken</link><guid>odd-1</guid>"
        b'<description>&lt;a href="http://[x"&gt;link&lt;/a&gt; &lt;img src="http://[y"&gt;'
        b"</description></item></channel></rss>"
    )

    item = parse_feed(document, content_type="application/rss+xml",
                      url="https://t.example/rss").items[0]

    assert item.url is None
    assert item.image_url is None
    assert item.content_html == '<a rel="noopener noreferrer">link</a> <img>'
