"""Refreshing sources: conditional GET, redirects, backoff, limits, de-duplication, sanitising."""

from __future__ import annotations

from datetime import timedelta
from email.utils import format_datetime

from sqlalchemy import text, update
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.feed.models import FeedEntry, FeedItem, FeedSource
from socialhub.feed import refresh, sources, stories
from tests.feed.support import (  # noqa: F401  (fixtures)
    STORIES,
    ada,
    bob,
    feed_server,
    rss,
)


def follow(user_id: int, url: str) -> int:
    with session_scope() as session:
        return sources.add_source(user_id=user_id, url=url).id


def make_due(*source_ids: int) -> None:
    with session_scope() as session:
        stmt = update(FeedSource).values(next_fetch_at=utcnow() - timedelta(seconds=1))
        if source_ids:
            stmt = stmt.where(FeedSource.id.in_(source_ids))
        session.execute(stmt)


def source(source_id: int) -> FeedSource:
    with session_scope() as session:
        return session.get(FeedSource, source_id)


def story_titles(user_id: int) -> list[str]:
    with session_scope() as session:
        return [s.title for s in stories.list_stories(session, user_id=user_id, limit=100).stories]


def test_an_unchanged_feed_costs_one_conditional_request_and_nothing_else(ada, feed_server):
    feed_server.feed("/feed", rss(), etag='"v1"', last_modified="Tue, 05 Mar 2024 10:00:00 GMT")
    source_id = follow(ada.id, feed_server.url("/feed"))
    make_due(source_id)

    report = refresh.refresh_due_sources(time_budget_s=10)

    assert (report.sources, report.not_modified, report.items_new) == (1, 1, 0)
    sent = feed_server.requests_for("/feed")[-1].headers
    assert sent["if-none-match"] == '"v1"' and sent["if-modified-since"] == "Tue, 05 Mar 2024 10:00:00 GMT"
    after = source(source_id)
    assert after.claimed_until is None and after.error_count == 0
    assert after.next_fetch_at > utcnow() + timedelta(minutes=25)  # the interval, with jitter


def test_new_items_appear_after_the_next_refresh_and_old_ones_are_not_duplicated(ada, feed_server):
    feed_server.feed("/feed", rss(), etag='"v1"')
    source_id = follow(ada.id, feed_server.url("/feed"))
    newer = [("Breaking: robots learn to fold laundry", "https://news.example/robots", "Robots folded shirts.")]
    feed_server.feed("/feed", rss(newer + [(t, f"https://news.example/{n}", b) for n, (t, b) in enumerate(STORIES)],
                                  start_hours=0.5), etag='"v2"')
    make_due(source_id)

    report = refresh.refresh_due_sources(time_budget_s=10)

    assert (report.fetched, report.items_new, report.entries_new) == (1, 1, 1)
    assert story_titles(ada.id)[0] == "Breaking: robots learn to fold laundry"
    assert len(story_titles(ada.id)) == 6


def test_a_permanent_redirect_is_remembered_and_a_temporary_one_is_not(ada, feed_server):
    feed_server.feed("/new-home", rss(title="Moved"))
    feed_server.feed("/elsewhere", rss(title="Temp"))
    feed_server.feed("/old", rss(title="Moved"))
    feed_server.feed("/stays", rss(title="Temp"))
    moved, stays = follow(ada.id, feed_server.url("/old")), follow(ada.id, feed_server.url("/stays"))
    feed_server.redirect("/old", "/new-home", status=301)
    feed_server.redirect("/stays", "/elsewhere", status=302)
    make_due()

    report = refresh.refresh_due_sources(time_budget_s=10)

    assert report.failed == 0
    assert source(moved).url == feed_server.url("/new-home")
    assert source(stays).url == feed_server.url("/stays")


def test_errors_back_off_exponentially_are_shown_on_the_source_and_clear_on_recovery(ada, feed_server):
    feed_server.feed("/flaky", rss())
    source_id = follow(ada.id, feed_server.url("/flaky"))
    feed_server.route("/flaky", status=503, body=b"busy", content_type="text/plain")
    delays = []
    for _ in range(3):
        make_due(source_id)
        before = utcnow()
        refresh.refresh_due_sources(time_budget_s=10)
        delays.append((source(source_id).next_fetch_at - before).total_seconds())

    failing = source(source_id)
    assert failing.error_count == 3 and "503" in failing.last_error
    assert 250 < delays[0] < 350 and 500 < delays[1] < 700 and 1000 < delays[2] < 1400
    with session_scope() as session:
        assert sources.list_sources(session, user_id=ada.id)[0].error_count == 3

    feed_server.feed("/flaky", rss())
    make_due(source_id)
    refresh.refresh_due_sources(time_budget_s=10)
    healed = source(source_id)
    assert (healed.error_count, healed.last_error) == (0, "")


def test_retry_after_is_honoured_and_a_feed_larger_than_the_limit_is_an_error(ada, feed_server):
    feed_server.feed("/slow-down", rss())
    feed_server.feed("/huge", rss())
    slow, huge = follow(ada.id, feed_server.url("/slow-down")), follow(ada.id, feed_server.url("/huge"))
    feed_server.route("/slow-down", status=429, body=b"", headers={"Retry-After": "7200"}, content_type="text/plain")
    feed_server.feed("/huge", rss() + b"<!--" + b"x" * 6_000_000 + b"-->")
    make_due()

    refresh.refresh_due_sources(time_budget_s=20)

    assert source(slow).next_fetch_at > utcnow() + timedelta(seconds=7000)
    assert "larger than the 5.0 MB limit" in source(huge).last_error


def test_a_page_that_is_no_longer_a_feed_is_reported_without_losing_stories(ada, feed_server):
    feed_server.feed("/feed", rss())
    source_id = follow(ada.id, feed_server.url("/feed"))
    feed_server.route("/feed", body=b"<html><body>We moved!</body></html>", content_type="text/html")
    make_due(source_id)

    refresh.refresh_due_sources(time_budget_s=10)

    assert "web page without a feed link" in source(source_id).last_error
    assert len(story_titles(ada.id)) == 5


def test_the_same_link_from_two_sources_is_one_story_that_lists_both(ada, feed_server):
    story = [("Shared story about rust compilers", "https://shared.example/story?utm_source=a", "The same link.")]
    feed_server.feed("/a", rss(story, title="Source A"))
    feed_server.feed("/b", rss([(story[0][0], "https://shared.example/story?utm_medium=rss&fbclid=x", story[0][2])],
                               title="Source B"))
    follow(ada.id, feed_server.url("/a"))
    follow(ada.id, feed_server.url("/b"))

    with session_scope() as session:
        items = session.exec(select(FeedItem)).all()
        shown = stories.list_stories(session, user_id=ada.id).stories
    assert [i.url for i in items] == ["https://shared.example/story"] * 2  # one item per source
    assert items[0].story_id == items[1].story_id == items[0].id
    assert len(shown) == 1 and set(shown[0].sources) == {"Source A", "Source B"}


def test_a_near_duplicate_from_another_source_joins_the_story_but_not_one_from_the_same_feed(ada, feed_server):
    title, body = STORIES[1]
    reworded = body.replace("is out with", "arrives with").replace("far less memory", "much less memory")
    feed_server.feed("/a", rss([(title, "https://a.example/pg17", body)], title="Source A"))
    feed_server.feed("/b", rss([("PostgreSQL 17 adds incremental backup support", "https://b.example/news/pg", reworded)],
                               title="Source B"))
    follow(ada.id, feed_server.url("/a"))
    follow(ada.id, feed_server.url("/b"))
    feed_server.feed("/a", rss([(title, "https://a.example/pg17", body),
                                (title + " (updated)", "https://a.example/pg17-updated", body)], title="Source A"))
    make_due()
    refresh.refresh_due_sources(time_budget_s=10)

    with session_scope() as session:
        items = session.exec(select(FeedItem).order_by(FeedItem.id)).all()
        shown = stories.list_stories(session, user_id=ada.id).stories
    assert len(items) == 3
    assert items[1].story_id == items[0].id  # the other source's rewrite joined the first story
    assert items[2].story_id == items[2].id  # the same feed's second version stays its own story
    grouped = next(s for s in shown if s.id == items[0].id)
    assert set(grouped.sources) == {"Source A", "Source B"} and grouped.url == "https://a.example/pg17"


def test_item_html_is_sanitised_before_it_is_stored(ada, feed_server):
    hostile = ('<p onclick="steal()">Hello <script>alert(1)</script><a href="javascript:evil()">x</a>'
               '<img src="/pic.png" onerror="pwn()"><iframe src="https://evil.example"></iframe></p>')
    feed_server.feed("/feed", rss([("Hostile <b>title</b>", "https://h.example/1", hostile)]))
    follow(ada.id, feed_server.url("/feed"))

    with session_scope() as session:
        item = session.exec(select(FeedItem)).one()
    assert "<script" not in item.content_html and "onclick" not in item.content_html
    assert "javascript:" not in item.content_html and "iframe" not in item.content_html
    assert "onerror" not in item.content_html
    assert "alert(1)" not in item.text and "Hello" in item.text


def test_a_feed_dating_its_posts_in_the_future_does_not_stay_on_top(ada, feed_server):
    future = rss([("From the future", "https://f.example/1", "Time travel.")]).replace(
        b"<pubDate>", b"<pubDate>Fri, 01 Jan 2100 00:00:00 GMT</pubDate><x>").replace(b"</pubDate><category>",
                                                                                          b"</x><category>")
    feed_server.feed("/future", future)
    follow(ada.id, feed_server.url("/future"))

    with session_scope() as session:
        item = session.exec(select(FeedItem)).one()
    assert item.published_at <= utcnow()


def test_a_huge_feed_keeps_its_newest_five_hundred_items(ada, feed_server):
    many = [(f"Item number {n} about things", f"https://many.example/{n}", f"Body {n}.") for n in range(700)]
    feed_server.feed("/many", rss(many))
    follow(ada.id, feed_server.url("/many"))

    with session_scope() as session:
        count = session.execute(text("SELECT count(*) FROM feed_item_sources")).scalar_one()
    assert count == 500


def test_each_source_gets_its_own_items_and_entries(ada, bob, feed_server):
    feed_server.feed("/feed", rss())
    follow(ada.id, feed_server.url("/feed"))
    follow(bob.id, feed_server.url("/feed"))

    with session_scope() as session:
        assert session.execute(text("SELECT count(*) FROM feed_items")).scalar_one() == 10
        assert session.execute(text("SELECT count(DISTINCT source_id) FROM feed_items")).scalar_one() == 2
        assert session.execute(text("SELECT count(*) FROM feed_item_sources")).scalar_one() == 10
        assert len(session.exec(select(FeedEntry).where(FeedEntry.is_primary)).all()) == 10
    assert len(story_titles(ada.id)) == len(story_titles(bob.id)) == 5


def podcast(episodes: int, *, home_page: int, site: str = "https://pod.example") -> bytes:
    """A podcast feed: every episode its own guid, but many link to the show's home page."""
    items = "".join(
        f"<item><title>Episode {n}: conversation number {n}</title>"
        f"<link>{site}/{'' if n < home_page else f'episodes/{n}'}</link>"
        f"<guid isPermaLink=\"false\">pod-episode-{n}</guid>"
        f"<pubDate>{format_datetime(utcnow() - timedelta(hours=n + 1))}</pubDate>"
        f"<description>Show notes for episode {n}.</description></item>"
        for n in range(episodes))
    return (f"<?xml version=\"1.0\"?><rss version=\"2.0\"><channel><title>The Podcast</title>"
            f"<link>{site}/</link><description>Talk</description>{items}</channel></rss>").encode()


def test_items_that_share_a_link_are_kept_apart_by_their_guids(ada, feed_server):
    feed_server.feed("/podcast", podcast(131, home_page=105))
    source_id = follow(ada.id, feed_server.url("/podcast"))

    with session_scope() as session:
        assert session.execute(text("SELECT count(*) FROM feed_items")).scalar_one() == 131
        assert session.execute(text("SELECT count(DISTINCT story_id) FROM feed_items")).scalar_one() == 131
        assert stories.counts(session, user_id=ada.id) == (131, 131)
    titles = story_titles(ada.id)
    assert len(titles) == 100 and "Episode 0: conversation number 0" in titles

    make_due(source_id)  # fetched again: the same 131, nothing new, nothing lost
    report = refresh.refresh_due_sources(time_budget_s=10)
    assert (report.items_new, report.entries_new, report.failed) == (0, 0, 0)
    with session_scope() as session:
        assert stories.counts(session, user_id=ada.id) == (131, 131)


def one_story(title: str, body: str, link: str = "https://shared.example/post?utm_source=x") -> bytes:
    return rss([(title, link, body)], title=title.split()[0])


def test_each_reader_sees_their_own_feeds_title_and_text_for_a_shared_link(ada, bob, feed_server):
    feed_server.feed("/ada-private", one_story("Ada's full text edition", "Secret paywalled paragraph for Ada only."))
    feed_server.feed("/bob-public", one_story("Bob's teaser headline", "Short teaser for everyone."))
    ada_source = follow(ada.id, feed_server.url("/ada-private"))
    follow(bob.id, feed_server.url("/bob-public"))

    with session_scope() as session:
        mine = stories.list_stories(session, user_id=ada.id).stories
        theirs = stories.list_stories(session, user_id=bob.id).stories
        bobs_search = stories.list_stories(session, user_id=bob.id, filters=stories.StoryFilter(query="paywalled"))
    assert [(s.title, s.excerpt) for s in mine] == [("Ada's full text edition", "Secret paywalled paragraph for Ada only.")]
    assert [(s.title, s.excerpt) for s in theirs] == [("Bob's teaser headline", "Short teaser for everyone.")]
    assert mine[0].url == theirs[0].url == "https://shared.example/post"
    assert bobs_search.stories == []
    with session_scope() as session:
        assert "paywalled" not in stories.share_story(session, user_id=bob.id, story_id=theirs[0].id).text

    # The publisher corrects Ada's item: her feed changes, Bob's does not.
    feed_server.feed("/ada-private", one_story("Ada's corrected edition", "Corrected paragraph."))
    make_due(ada_source)
    report = refresh.refresh_due_sources(time_budget_s=10)
    assert (report.items_new, report.items_updated) == (0, 1)
    assert story_titles(ada.id) == ["Ada's corrected edition"]
    assert story_titles(bob.id) == ["Bob's teaser headline"]
    with session_scope() as session:
        found = stories.list_stories(session, user_id=ada.id, filters=stories.StoryFilter(query="corrected"))
    assert [s.excerpt for s in found.stories] == ["Corrected paragraph."]


def test_items_stored_before_items_were_per_source_are_adopted_not_duplicated(ada, feed_server):
    feed_server.feed("/feed", rss())
    source_id = follow(ada.id, feed_server.url("/feed"))
    with session_scope() as session:  # what the 0007 migration leaves: no guid key, no content hash
        session.execute(text("UPDATE feed_items SET guid_key = NULL, content_hash = 0"))
    make_due(source_id)

    report = refresh.refresh_due_sources(time_budget_s=10)

    assert (report.items_new, report.entries_new, report.failed) == (0, 0, 0)
    with session_scope() as session:
        assert session.execute(text("SELECT count(*) FROM feed_items WHERE guid_key IS NULL")).scalar_one() == 0
        assert session.execute(text("SELECT count(*) FROM feed_items")).scalar_one() == 5
    assert len(story_titles(ada.id)) == 5
