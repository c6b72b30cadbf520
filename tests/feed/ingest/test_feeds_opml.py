"""Subscriptions in and out as OPML, with nested folders; XML entity attacks refused."""

from __future__ import annotations

import time

import pytest

from socialhub.feed.ingest import build_opml, OpmlError, OpmlOutline, parse_opml

FEEDLY_EXPORT = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Jane subscriptions in feedly Cloud</title></head>
  <body>
    <outline text="Tech" title="Tech">
      <outline type="rss" text="Ars Technica" title="Ars Technica"
               xmlUrl="https://feeds.arstechnica.com/arstechnica/index" htmlUrl="https://arstechnica.com"/>
      <outline text="Python" title="Python">
        <outline type="rss" text="Simon Willison" xmlUrl="https://simonwillison.net/atom/everything/"
                 htmlUrl="https://simonwillison.net/"/>
      </outline>
    </outline>
    <outline text="News &amp; Politics" title="News &amp; Politics">
      <outline type="rss" text="BBC News" title="BBC News - Home"
               xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"/>
      <outline type="rss" text="Duplicate BBC" xmlUrl="https://feeds.bbci.co.uk/news/rss.xml"/>
    </outline>
    <outline type="rss" text="xkcd.com" xmlurl="feed://xkcd.com/atom.xml"/>
    <outline type="rss" text="Categorised" xmlUrl="https://cat.example/rss" category="/Creators/Video,/Other"/>
    <outline type="rss" text="Bad scheme" xmlUrl="javascript:alert(1)"/>
  </body>
</opml>
"""


def test_feedly_export_is_flattened_with_nested_folders_as_categories():
    outlines = parse_opml(FEEDLY_EXPORT)

    assert outlines == [
        OpmlOutline("Ars Technica", "https://feeds.arstechnica.com/arstechnica/index",
                    "https://arstechnica.com", "Tech"),
        OpmlOutline("Simon Willison", "https://simonwillison.net/atom/everything/",
                    "https://simonwillison.net/", "Tech / Python"),
        OpmlOutline("BBC News - Home", "https://feeds.bbci.co.uk/news/rss.xml", None,
                    "News & Politics"),
        OpmlOutline("xkcd.com", "http://xkcd.com/atom.xml", None, None),
        OpmlOutline("Categorised", "https://cat.example/rss", None, "Creators / Video"),
    ]


def test_export_then_import_gives_back_the_same_subscriptions():
    subscriptions = [
        OpmlOutline("Ars Technica", "https://feeds.arstechnica.com/arstechnica/index",
                    "https://arstechnica.com", "Tech"),
        OpmlOutline("Simon <Willison> & co", "https://simonwillison.net/atom/everything/", None,
                    "Tech / Python"),
        OpmlOutline("BBC News", "https://feeds.bbci.co.uk/news/rss.xml?edition=uk&x=1", None,
                    "News"),
        OpmlOutline("Uncategorised", "https://solo.example/feed", "https://solo.example", None),
    ]

    document = build_opml(subscriptions, title="Jane's feeds")
    again = parse_opml(document)

    assert sorted(again, key=lambda o: o.xml_url) == sorted(subscriptions, key=lambda o: o.xml_url)
    assert document.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    assert b"<title>Jane's feeds</title>" in document
    assert b'<outline text="Python" title="Python">' in document


def test_billion_laughs_opml_is_refused_quickly():
    entities = "".join(f'<!ENTITY l{n} "{f"&l{n - 1};" * 10}">' for n in range(1, 10))
    bomb = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY l0 "lol">{entities}]>'
        '<opml version="2.0"><body><outline text="&l9;" xmlUrl="https://x.example/rss"/>'
        "</body></opml>"
    ).encode()

    started = time.monotonic()
    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(bomb)
    assert time.monotonic() - started < 1


def test_external_entity_opml_is_refused_without_reading_the_file():
    xxe = (b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
           b'<opml version="2.0"><body><outline text="&x;" xmlUrl="https://x.example/rss"/>'
           b"</body></opml>")

    with pytest.raises(OpmlError, match="declares XML entities"):
        parse_opml(xxe)


def test_parameter_entities_and_unparsed_entities_are_refused_too():
    for doctype in (b'<!DOCTYPE opml [<!ENTITY % p SYSTEM "http://169.254.169.254/x.dtd"> %p;]>',
                    b'<!DOCTYPE opml [<!NOTATION n SYSTEM "x"><!ENTITY u SYSTEM "x" NDATA n>]>'):
        with pytest.raises(OpmlError, match="declares XML entities"):
            parse_opml(b'<?xml version="1.0"?>' + doctype +
                       b'<opml version="2.0"><body><outline xmlUrl="https://x.example/rss"/></body></opml>')
    # A DOCTYPE without entities is harmless and still reads.
    plain = parse_opml(b'<?xml version="1.0"?><!DOCTYPE opml><opml version="2.0"><body>'
                       b'<outline text="X" xmlUrl="https://x.example/rss"/></body></opml>')
    assert [o.xml_url for o in plain] == ["https://x.example/rss"]


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<opml><body><outline text='x'", "not well-formed"),
        (b"<rss version='2.0'><channel/></rss>", "not OPML"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_files_that_are_not_usable_opml_are_refused_with_a_reason(document, message):
    with pytest.raises(OpmlError, match=message):
        parse_opml(document)
