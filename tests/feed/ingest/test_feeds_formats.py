"""Every feed format becomes the same plain, safe `ParsedFeed`."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from socialhub.feed.ingest import FeedParseError, NotAFeed, parse_feed


def test_rss091_netscape_feed_is_read_with_its_latin1_declaration(sample):
    feed = parse_feed(sample("rss091.xml"), content_type="text/xml",
                      url="http://writetheweb.com/rss.xml")

    assert feed.format.startswith("rss091")
    assert feed.title == "WriteTheWeb"
    assert feed.site_url == "http://writetheweb.com"
    assert feed.language == "en-us"
    assert [item.title for item in feed.items] == [
        "Giving the world a pluggable Gnutella",
        "Syndication discussions hot up",
        "Café culture meets the open web",
    ]
    last = feed.items[2]
    assert last.excerpt.startswith("Naïve questions about résumés")
    # RSS 0.91 items have neither guid nor date: the link is the id, the date is unknown.
    assert last.guid == last.url == "http://writetheweb.com/read.php?item=22"
    assert last.published is None
    # managingEditor is a bare e-mail address, not a name to show as the author.
    assert last.author is None
    assert not feed.warnings


def test_rss10_rdf_items_have_dublin_core_author_subject_and_utc_dates(sample):
    feed = parse_feed(sample("rss10.rdf"), content_type="application/rdf+xml",
                      url="http://www.xml.com/xml/news.rss")

    assert feed.format == "rss10"
    assert feed.title == "XML.com"
    first, second = feed.items
    assert first.title == "Processing Inclusions with XSLT"
    assert first.url == "http://xml.com/pub/2000/08/09/xslt/xslt.html"
    assert first.author == "Eric van der Vlist"
    assert first.tags == ("XSLT",)
    # 14:30 at -05:00 is 19:30 UTC.
    assert first.published == datetime(2000, 8, 9, 19, 30, tzinfo=UTC)
    assert second.published == datetime(2000, 8, 9, 9, 0, tzinfo=UTC)
    assert second.author == "Edd Dumbill"


def test_rss20_content_encoded_is_the_content_and_description_the_summary(sample):
    feed = parse_feed(sample("rss20.xml"), content_type="application/rss+xml; charset=UTF-8",
                      url="https://news.example.com/feed/")

    assert feed.format == "rss20"
    assert feed.feed_url == "https://news.example.com/feed/"
    assert feed.icon_url == "https://news.example.com/wp-content/uploads/2023/01/icon-32x32.png"
    item = feed.items[0]
    assert item.guid == "https://news.example.com/?p=48213"
    assert item.author == "Jane Doe"
    assert item.published == datetime(2024, 3, 5, 14, 3, tzinfo=UTC)
    assert "<strong>MacBook Air</strong>" in item.content_html
    assert "appeared first on" in item.summary_html
    assert "appeared first on" not in item.content_html
    assert item.excerpt.startswith("Apple on Monday refreshed the MacBook Air with its M3 chip")
    # "Apple" and "apple" are one tag; order of first appearance is kept.
    assert item.tags == ("Apple", "Laptops")


def test_rss20_media_content_is_the_item_image_before_any_inline_image(sample):
    feed = parse_feed(sample("rss20.xml"), content_type="application/rss+xml",
                      url="https://news.example.com/feed/")

    assert feed.items[0].image_url == "https://cdn.example.com/images/macbook-air-m3-1600.jpg"
    # An image enclosure is used, an audio enclosure is not.
    assert feed.items[1].image_url == "https://cdn.example.com/images/week-in-ai-112.png"
    # Without media or enclosure, the first image of the content.
    assert feed.items[2].image_url == "https://news.example.com/img/first.png"


def test_rss20_relative_links_are_resolved_against_the_feed_url(sample):
    feed = parse_feed(sample("rss20.xml"), content_type="application/rss+xml",
                      url="https://news.example.com/feed/")

    item = feed.items[2]
    assert item.url == "https://news.example.com/2024/03/03/relative/"
    assert 'href="https://news.example.com/about/"' in item.content_html
    assert 'src="https://news.example.com/img/first.png"' in item.content_html
    assert item.published == datetime(2024, 3, 3, 23, 15, tzinfo=UTC)


def test_atom_xhtml_content_uses_xml_base_and_dates_are_converted_to_utc(sample):
    feed = parse_feed(sample("atom.xml"), content_type="application/atom+xml",
                      url="http://example.org/feed.atom")

    assert feed.format == "atom10"
    assert feed.title == "dive into mark"
    assert feed.description == "A lot of effort went into making this effortless"
    assert feed.site_url == "http://example.org/"
    assert feed.feed_url == "http://example.org/feed.atom"
    assert feed.icon_url == "http://example.org/favicon.ico"
    entry = feed.items[0]
    assert entry.guid == "tag:example.org,2003:3.2397"
    assert entry.url == "http://example.org/2005/04/02/atom"
    assert entry.author == "Mark Pilgrim"
    assert entry.tags == ("Atom", "syndication")
    assert entry.published == datetime(2003, 12, 13, 12, 29, 29, tzinfo=UTC)
    assert entry.updated == datetime(2005, 7, 31, 12, 29, 29, tzinfo=UTC)
    assert entry.summary_html == "<p>Update: the Atom draft is finished &amp; ready for review.</p>"
    assert 'href="http://diveintomark.org/archives/atom-07"' in entry.content_html
    assert entry.image_url == "http://diveintomark.org/images/atom.png"


def test_atom_html_title_becomes_plain_text_and_feed_author_is_inherited(sample):
    feed = parse_feed(sample("atom.xml"), content_type="application/atom+xml",
                      url="http://example.org/feed.atom")

    entry = feed.items[1]
    assert entry.title == "Escaped HTML title & more"
    assert entry.author == "Mark Pilgrim"
    assert entry.published == datetime(2005, 7, 30, 7, 0, tzinfo=UTC)
    assert "onerror" not in entry.content_html


def test_json_feed_10_items_with_text_or_html_content(sample):
    feed = parse_feed(sample("jsonfeed10.json"), content_type="application/json",
                      url="https://example.org/feed.json")

    assert feed.format == "json10"
    assert feed.title == "My Example Feed"
    assert feed.site_url == "https://example.org/"
    assert feed.icon_url == "https://example.org/icon-512.png"
    text_item, html_item = feed.items
    assert text_item.guid == "2"
    assert text_item.content_html == (
        "<p>This is a second item.</p><p>It has two paragraphs &amp; an ampersand.</p>"
    )
    # A JSON Feed item may have no title (a micro-post): its text stands in.
    assert text_item.title.startswith("This is a second item.")
    assert text_item.author == "Brent Simmons"
    assert text_item.tags == ("notes", "jsonfeed")
    assert text_item.published == datetime(2017, 5, 17, 17, 2, 12, tzinfo=UTC)
    # A numeric id (seen in the wild) is still an id.
    assert html_item.guid == "1"
    assert html_item.title == "Hello, world"
    assert html_item.content_html == (
        '<p>Hello, <a href="https://example.org/world" rel="noopener noreferrer">world</a>!</p>'
    )
    assert html_item.image_url == "https://example.org/images/hello.png"
    assert html_item.updated == datetime(2017, 5, 18, 8, 2, 12, tzinfo=UTC)


def test_json_feed_11_authors_summary_attachments_and_external_url(sample):
    feed = parse_feed(sample("jsonfeed11.json"), content_type="application/feed+json",
                      url="https://creator.example.com/feed.json")

    assert feed.format == "json11"
    assert feed.language == "en-GB"
    video, link = feed.items
    assert video.author == "Alex Rivera, Priya Shah"
    assert video.summary_html == (
        "<p>Three data points on reach, retention and what to post next.</p>"
    )
    assert video.excerpt == "Three data points on reach, retention and what to post next."
    assert 'src="https://creator.example.com/media/chart.png"' in video.content_html
    assert video.image_url == "https://creator.example.com/media/cover.jpg"
    assert video.tags == ("video", "Growth")
    # No url: the external link is where the item points; the feed's authors are inherited.
    assert link.url == "https://elsewhere.example.net/article"
    assert link.author == "Alex Rivera"
    assert link.published == datetime(2024, 2, 19, 18, 0, tzinfo=UTC)


def test_json_that_is_not_a_json_feed_is_not_a_feed():
    with pytest.raises(NotAFeed, match="not a JSON Feed"):
        parse_feed(json.dumps({"data": [1, 2, 3]}).encode(), content_type="application/json",
                   url="https://api.example.com/v1/things")


def test_truncated_json_feed_is_a_parse_error():
    with pytest.raises(FeedParseError, match="not valid JSON"):
        parse_feed(b'{"version": "https://jsonfeed.org/version/1.1", "items": [{"id": "1"',
                   content_type="application/feed+json", url="https://example.org/feed.json")


def test_item_without_id_or_link_gets_a_guid_that_is_stable_across_fetches():
    document = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Notes</title>
      <item><title>Only a title</title><description>And some words.</description></item>
      <item><title>Another title</title><description>Other words.</description></item>
    </channel></rss>"""

    first = parse_feed(document, content_type="application/rss+xml", url="https://n.example/rss")
    again = parse_feed(document, content_type="application/rss+xml", url="https://n.example/rss")

    guids = [item.guid for item in first.items]
    assert guids == [item.guid for item in again.items]
    assert len(set(guids)) == 2
    assert all(guid.startswith("sha1:") for guid in guids)
    assert all(item.url is None for item in first.items)


def test_valid_feed_without_items_is_an_empty_feed_not_an_error():
    feed = parse_feed(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet blog</title>'
        b"<link>https://quiet.example</link></channel></rss>",
        content_type="application/rss+xml", url="https://quiet.example/feed",
    )

    assert feed.title == "Quiet blog"
    assert feed.items == ()


def test_javascript_item_link_is_not_kept_as_the_item_url():
    feed = parse_feed(
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Bad link</title><link>javascript:alert(1)</link><guid>x1</guid></item>"
        b"</channel></rss>",
        content_type="application/rss+xml", url="https://t.example/feed",
    )

    assert feed.items[0].url is None
    assert feed.items[0].guid == "x1"
