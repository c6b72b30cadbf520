"""Following sources: every feed format, websites, hostile addresses, OPML, suggestions, editing."""

from __future__ import annotations

import pytest
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.feed.ingest import SUGGESTED_SOURCES
from socialhub.feed.models import FeedItem, FeedSource
from socialhub.feed import sources, stories
from socialhub.core.errors import NotFound, ValidationError
from tests.feed.support import (  # noqa: F401  (fixtures)
    STORIES,
    ada,
    atom,
    bob,
    feed_server,
    json_feed,
    rss,
    rss1,
    rss091,
)

CONTENT_TYPES = {"rss": "application/rss+xml", "atom": "application/atom+xml", "json": "application/feed+json",
                 "rss1": "application/rdf+xml", "rss091": "text/xml"}


def titles(user_id: int, **filters) -> list[str]:
    with session_scope() as session:
        page = stories.list_stories(session, user_id=user_id, filters=stories.StoryFilter(**filters), limit=100)
    return [s.title for s in page.stories]


@pytest.mark.parametrize("kind, document", [
    ("rss", rss()), ("atom", atom()), ("json", json_feed()), ("rss1", rss1()), ("rss091", rss091()),
])
def test_every_feed_format_can_be_followed_and_its_stories_show_at_once(ada, feed_server, kind, document):
    feed_server.feed("/feed", document, content_type=CONTENT_TYPES[kind])

    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/feed"), category="News")

    assert source.category == "News" and source.title
    shown = titles(ada.id)
    assert STORIES[0][0] in shown and STORIES[2][0] in shown


def test_a_website_address_is_followed_through_the_feed_it_announces(ada, feed_server):
    feed_server.route("/", content_type="text/html", body=b"""<html><head><title>Blog</title>
        <link rel="alternate" type="application/rss+xml" title="Posts" href="/posts.xml"></head><body>Hi</body></html>""")
    feed_server.feed("/posts.xml", rss(title="The Blog"))

    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/"))

    assert source.url == feed_server.url("/posts.xml")
    assert source.title == "The Blog"


def test_following_the_same_feed_twice_is_refused_with_its_name(ada, feed_server):
    feed_server.feed("/feed", rss(title="Example News"))
    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/feed"))

    with pytest.raises(ValidationError, match="already follow this feed \\(Example News\\)"):
        with session_scope() as session:
            sources.add_source(user_id=ada.id, url=feed_server.url("/feed"))


@pytest.mark.parametrize("route, options, message", [
    ("/page", {"body": b"<html><head><title>x</title></head><body>No feed here</body></html>",
               "content_type": "text/html"}, "web page without a feed link"),
    ("/image", {"body": b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "content_type": "application/rss+xml"}, "PNG image"),
    ("/broken", {"body": b"<?xml version='1.0'?><rss version='2.0'><<<<&&&",
                 "content_type": "application/rss+xml"}, "not a readable feed"),
    ("/missing", {"status": 404, "body": b"nope", "content_type": "text/plain"}, "404 Not Found"),
    ("/down", {"status": 500, "body": b"oops", "content_type": "text/plain"}, "500 Internal Server Error"),
])
def test_something_that_is_not_a_readable_feed_gets_a_clear_message_and_nothing_is_stored(
        ada, feed_server, route, options, message):
    feed_server.route(route, **options)

    with pytest.raises(ValidationError) as error:
        with session_scope() as session:
            sources.add_source(user_id=ada.id, url=feed_server.url(route))

    if message:
        assert message in str(error.value)
    with session_scope() as session:
        assert session.exec(select(FeedSource)).all() == []


def test_broken_xml_that_can_be_recovered_is_followed_with_the_problem_shown_on_the_source(ada, feed_server):
    feed_server.feed("/broken", b'<?xml version="1.0"?><rss version="2.0"><channel><title>Sloppy</title>'
                                b'<item><title>Fish &nbsp; chips</title><link>https://sloppy.example/1</link></item>'
                                b'</channel></rss>')

    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/broken"))
        view = sources.list_sources(session, user_id=ada.id)[0]

    assert titles(ada.id) == ["Fish chips"] or len(titles(ada.id)) == 1
    assert view.last_error.startswith("Read with problems") and view.error_count == 0


def test_a_feed_with_a_wrong_declared_encoding_is_still_read(ada, feed_server):
    body = rss([("Café crème à la carte", "https://enc.example/1", "Prix: 3 € — très bon")]).replace(
        b'encoding="utf-8"', b'encoding="iso-8859-1"')
    feed_server.feed("/enc", body.decode("utf-8").encode("utf-8"))

    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/enc"))

    assert titles(ada.id)  # read, one way or the other, not refused


@pytest.mark.parametrize("address, message", [
    ("", "Enter the address"),
    ("javascript:alert(1)", "http:// or https://"),
    ("file:///etc/passwd", "http:// or https://"),
    ("https://exa mple.com/feed", "spaces"),
    ("https://example.com/\x00feed", "control characters"),
    ("https://example.com/" + "a" * 10_000_000, "too long"),
    ("http://[::1", "not a web address"),
])
def test_hostile_addresses_are_refused_before_anything_is_fetched(ada, feed_server, address, message):
    with pytest.raises(ValidationError, match=message):
        with session_scope() as session:
            sources.add_source(user_id=ada.id, url=address)
    assert feed_server.count() == 0


def test_an_address_without_a_scheme_and_with_an_international_host_is_cleaned():
    assert sources.clean_feed_url("example.com/feed") == "https://example.com/feed"
    assert sources.clean_feed_url("feed://example.com/rss") == "http://example.com/rss"
    assert sources.clean_feed_url("https://bücher.example/ä") == "https://xn--bcher-kva.example/%C3%A4"


# ---- OPML --------------------------------------------------------------------------------------

OPML = b"""<?xml version="1.0"?><opml version="2.0"><head><title>Mine</title></head><body>
<outline text="Tech"><outline type="rss" text="Rusty" xmlUrl="https://rust.example/feed.xml" htmlUrl="https://rust.example"/>
<outline type="rss" text="Pg &amp; friends" xmlUrl="https://pg.example/rss"/></outline>
<outline type="rss" text="Loose" xmlUrl="https://loose.example/atom"/>
<outline type="rss" text="Sneaky" xmlUrl="javascript:alert(1)"/>
</body></opml>"""


def test_opml_import_follows_every_feed_with_its_folder_as_category_and_export_gives_them_back(ada):
    with session_scope() as session:
        report = sources.import_opml(session, user_id=ada.id, data=OPML)
    assert (report.added, report.already) == (3, 0)
    with session_scope() as session:
        again = sources.import_opml(session, user_id=ada.id, data=OPML)
        followed = {s.title: s for s in sources.list_sources(session, user_id=ada.id)}
        exported = sources.export_opml(session, user_id=ada.id)
    assert (again.added, again.already) == (0, 3)
    assert followed["Rusty"].category == "Tech" and followed["Loose"].category == ""
    assert followed["Pg & friends"].url == "https://pg.example/rss"
    assert b'xmlUrl="https://rust.example/feed.xml"' in exported and b'text="Tech"' in exported


@pytest.mark.parametrize("data, message", [
    (b"", "empty"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG image, not an OPML file"),
    (b'{"feeds": []}', "JSON, not an OPML file"),
    (b"<html><body>hello</body></html>", "not OPML"),
    (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><opml><body>&a;</body></opml>', "entities"),
    (b"<opml><body><outline", "not well-formed"),
    (b"<opml version='2.0'><head/><body></body></opml>", "lists no feeds"),
    (b"<opml>" + b" " * 3_000_000 + b"</opml>", "larger than 2 MB"),
])
def test_a_file_that_is_not_a_usable_opml_file_gets_a_clear_message(ada, data, message):
    with pytest.raises(ValidationError, match=message):
        with session_scope() as session:
            sources.import_opml(session, user_id=ada.id, data=data)


# ---- suggestions and editing ------------------------------------------------------------------

def test_suggested_sources_are_offered_until_followed_and_only_they_can_be_added_that_way(ada):
    with session_scope() as session:
        offered = sources.suggestions(session, user_id=ada.id)
        assert len(offered) == len(SUGGESTED_SOURCES)
        sources.add_suggested(session, user_id=ada.id, feed_urls=[offered[0].feed_url])
        assert offered[0] not in sources.suggestions(session, user_id=ada.id)
    with pytest.raises(ValidationError):
        with session_scope() as session:
            sources.add_suggested(session, user_id=ada.id, feed_urls=["https://evil.example/feed"])


def test_turning_a_source_off_hides_its_stories_and_removing_it_drops_them(ada, feed_server):
    feed_server.feed("/a", rss(title="A"))
    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/a"))
    assert len(titles(ada.id)) == 5

    with session_scope() as session:
        sources.update_source(session, user_id=ada.id, source_id=source.id, enabled=False, title="Renamed",
                            category="Later")
    assert titles(ada.id) == []
    with session_scope() as session:
        sources.update_source(session, user_id=ada.id, source_id=source.id, enabled=True)
        view = sources.list_sources(session, user_id=ada.id)[0]
    assert (view.title, view.category, view.total, view.unread) == ("Renamed", "Later", 5, 5)
    assert len(titles(ada.id)) == 5

    with session_scope() as session:
        sources.delete_source(session, user_id=ada.id, source_id=source.id)
        assert session.exec(select(FeedItem)).all()  # items are shared: they stay for other readers
    assert titles(ada.id) == []


def test_a_source_name_or_category_that_is_too_long_or_empty_is_refused(ada, feed_server):
    feed_server.feed("/a", rss())
    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/a"))
    for kwargs, message in [({"title": "   "}, "Give the source a name"), ({"title": "x" * 301}, "at most 300"),
                            ({"category": "c" * 101}, "at most 100")]:
        with pytest.raises(ValidationError, match=message):
            with session_scope() as session:
                sources.update_source(session, user_id=ada.id, source_id=source.id, **kwargs)


def test_another_readers_source_cannot_be_changed_or_removed(ada, bob, feed_server):
    feed_server.feed("/a", rss())
    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/a"))
    for action in (lambda s: sources.update_source(s, user_id=bob.id, source_id=source.id, enabled=False),
                   lambda s: sources.delete_source(s, user_id=bob.id, source_id=source.id)):
        with pytest.raises(NotFound):
            with session_scope() as session:
                action(session)
    with session_scope() as session:
        assert session.get(FeedSource, source.id).enabled
