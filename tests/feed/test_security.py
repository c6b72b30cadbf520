"""Isolation and hostile input through the page handlers: a reader reaches only their own
sources, stories, rules and digests, whatever ids or text a browser sends.

The Reflex states are built in memory as the framework builds them for an event (router data
with the session cookie), and their handlers are called directly.
"""

from __future__ import annotations

from collections import defaultdict
import pytest
from reflex.state import State
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.feed.models import Digest, FeedItemState, FeedRule, FeedSettings, FeedSource
from socialhub.identity import users
from socialhub.feed import digests, rules, sources, stories
from socialhub.core.errors import NotFound, ValidationError
from socialhub.ui import clients
from socialhub.identity.cookie import COOKIE_NAME
from socialhub.schedule.models import Post
from socialhub.feed.state.stories import FeedState
from socialhub.feed.state.digests import DigestState
from socialhub.feed.state.sources import FeedSourcesState
from tests.feed.support import ada, bob, feed_server, rss  # noqa: F401

HUGE = "x" * 10_000_000


def make_state(cls, user=None, path="/feed"):
    root = State(_reflex_internal_init=True)
    headers = {"origin": "http://localhost:3000", "user-agent": "pytest"}
    if user is not None:
        with session_scope() as session:
            ticket = users.create_login_ticket(session, user_id=user.id)
            token, _ = users.redeem_login_ticket(session, ticket=ticket)
        headers["cookie"] = f"{COOKIE_NAME}={token}"
    router_data = {"headers": headers, "ip": "203.0.113.9", "token": "client-1", "sid": "sid-1",
                   "pathname": path, "asPath": path, "query": {}}
    root.router_data = root._update_router_vars(router_data, {})
    return root.get_substate(cls.get_full_name().split("."))


def as_list(result):
    if result is None:
        return []
    return list(result) if isinstance(result, list | tuple) else [result]


def kinds(result) -> list[str]:
    return [spec.handler.fn.__qualname__ for spec in as_list(result)]


@pytest.fixture(autouse=True)
def fresh_realtime_registry(monkeypatch):
    monkeypatch.setattr(clients, "_clients", defaultdict(set))


@pytest.fixture
def ada_reads(ada, feed_server):
    feed_server.feed("/feed", rss())
    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/feed"))
        story = stories.list_stories(session, user_id=ada.id, limit=1).stories[0]
    return ada, source.id, story.id


def test_without_a_session_every_feed_handler_sends_the_browser_to_sign_in(database_url):
    for cls, handler, args in [(FeedState, "load", ()), (FeedState, "toggle_bookmark", (1,)),
                               (FeedSourcesState, "delete_source", (1,)), (FeedSourcesState, "preview_rule",
                                                                          ({"pattern": "x"},)),
                               (DigestState, "save_settings", ({},))]:
        state = make_state(cls)
        result = getattr(state, handler)(*args)
        assert "_redirect" in kinds(result), (cls, handler)


def test_the_feed_page_shows_a_reader_only_their_own_stories_and_sources(ada_reads, bob):
    ada, _, _ = ada_reads
    mine = make_state(FeedState, ada)
    mine.load()
    assert len(mine.stories) == 5 and mine.has_sources and mine.total == 5
    theirs = make_state(FeedState, bob)
    theirs.load()
    assert theirs.stories == [] and not theirs.has_sources and theirs.source_options == []


def test_acting_on_another_readers_story_changes_nothing_and_says_not_found(ada_reads, bob):
    ada, _, story_id = ada_reads
    state = make_state(FeedState, bob)
    for handler, args in [("toggle_bookmark", (story_id,)), ("rate", (story_id, 5)), ("open_story", (story_id,)),
                          ("toggle_read", (story_id,))]:
        getattr(state, handler)(*args)
    with session_scope() as session:
        assert session.exec(select(FeedItemState)).all() == []


def test_filtering_by_another_readers_source_shows_nothing(ada_reads, bob):
    _, source_id, _ = ada_reads
    state = make_state(FeedState, bob)
    state.load()
    state.set_source_filter(str(source_id))
    assert state.stories == [] and state.error == ""


def test_another_readers_source_and_rules_cannot_be_changed_from_the_sources_page(ada_reads, bob):
    ada, source_id, _ = ada_reads
    with session_scope() as session:
        rule = rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern="heat")
    state = make_state(FeedSourcesState, bob, "/feed/sources")
    state.set_enabled(source_id, False)
    state.save_source({"source_id": str(source_id), "title": "Owned", "category": "x"})
    state.delete_source(source_id)
    state.delete_rule(rule.id)
    assert "no longer exists" in state.edit_error and "no longer exists" in state.rule_error
    with session_scope() as session:
        source = session.get(FeedSource, source_id)
        assert (source.enabled, source.title) == (True, "Example News")
        assert session.get(FeedRule, rule.id) is not None


def test_another_readers_digest_cannot_be_rebuilt_from_the_digests_page(ada_reads, bob):
    ada, _, _ = ada_reads
    digest_id = digests.build_digest(user_id=ada.id)
    state = make_state(DigestState, bob, "/feed/digests")
    state.load()
    assert state.digests == []
    with pytest.raises(NotFound):
        digests.regenerate(user_id=bob.id, digest_id=digest_id)
    with session_scope() as session:
        assert len(session.exec(select(Digest)).all()) == 1


def test_hostile_text_in_every_field_gets_a_message_and_loses_nothing(ada_reads):
    ada, source_id, _ = ada_reads
    feed = make_state(FeedState, ada)
    feed.load()
    feed.search({"q": HUGE})
    assert "at most 200" in feed.error and len(feed.stories) == 5
    feed.search({"q": "'; DROP TABLE feed_items; -- <script>alert(1)</script>"})
    assert feed.error == "" and feed.stories == []
    feed.set_source_filter("1 OR 1=1")
    feed.set_sort("id; DROP")
    assert feed.sort == "newest"
    feed.rate(1, "five")
    feed.clear_filters()
    assert len(feed.stories) == 5

    sources_page = make_state(FeedSourcesState, ada, "/feed/sources")
    sources_page.load()
    sources_page.save_source({"source_id": str(source_id), "title": HUGE, "category": "ok"})
    assert "at most 300" in sources_page.edit_error
    sources_page.save_source({"source_id": "../../etc/passwd", "title": "x"})
    sources_page.preview_rule({"action": "block", "field": "title", "pattern": HUGE})
    assert "at most 300" in sources_page.rule_error and sources_page.pending_rule == {}
    sources_page.preview_rule({"action": "block", "field": "title", "pattern": "<img src=x onerror=alert(1)>"})
    assert sources_page.preview_text.startswith("Matches 0 of your latest 5")
    sources_page.save_rule()
    assert sources_page.rules[0].pattern == "<img src=x onerror=alert(1)>"

    page = make_state(DigestState, ada, "/feed/digests")
    page.load()
    page.save_settings({"digest_time": HUGE, "max_items": "5", "min_score": "20", "topics": "rust"})
    assert "hours and minutes" in page.settings_error
    page.save_settings({"digest_time": "06:30", "max_items": "5", "min_score": "20",
                                 "topics": "rust, <b>bold</b>, ' OR 1=1", "weight_relevance": "1",
                                 "weight_recency": "1", "weight_reliability": "1", "weight_engagement": "1",
                                 "auto_generate": "on", "auto_email": "on", "post_account": "999999"})
    assert page.settings_error == "" and page.topics == "rust, <b>bold</b>, ' OR 1=1"
    with session_scope() as session:
        settings = session.get(FeedSettings, ada.id)
    assert (settings.digest_time, settings.auto_post, settings.post_account_id) == ("06:30", False, None)
    with session_scope() as session:
        assert session.get(FeedSource, source_id).title == "Example News"


def test_a_source_added_from_the_page_shows_at_once_and_a_bad_one_explains_itself(ada, feed_server):
    feed_server.feed("/ok", rss(title="Page Added"))
    state = make_state(FeedSourcesState, ada, "/feed/sources")
    assert state._add(ada.id, feed_server.url("/ok"), "Tech") == "Page Added"
    with pytest.raises(ValidationError, match="http:// or https://"):
        state._add(ada.id, "javascript:alert(document.cookie)", "")
    state.load()
    assert [s.title for s in state.sources] == ["Page Added"] and state.sources[0].total == 5


def test_the_story_actions_on_the_page_update_the_row_and_the_counts(ada_reads):
    ada, _, story_id = ada_reads
    state = make_state(FeedState, ada)
    state.load()
    assert state.unread_total == 5
    state.toggle_bookmark(story_id)
    state.rate(story_id, 4)
    state.mark_seen(state.stories[1].id)
    row = next(r for r in state.stories if r.id == story_id)
    assert (row.bookmarked, row.rating, row.read) == (True, 4, True)
    assert state.unread_total == 3  # rated and seen: both read
    state.rate(story_id, 4)  # the same star again clears the rating
    assert next(r for r in state.stories if r.id == story_id).rating == 0
    state.set_bookmarked_only(True)
    assert [r.id for r in state.stories] == [story_id]
    assert state.stories[0].parts and state.stories[0].reasons and state.stories[0].score


def test_a_digest_built_from_the_page_is_listed_with_its_stories(ada_reads):
    ada, _, _ = ada_reads
    digests.build_digest(user_id=ada.id, now=None)
    state = make_state(DigestState, ada, "/feed/digests")
    state.load()
    assert len(state.digests) == 1 and state.digests[0].status == "delivered"
    assert state.digests[0].stories and state.digests[0].deliveries[0].channel == "E-mail"
    assert state.next_run.endswith("(UTC)")


def test_sharing_from_the_page_opens_the_composer_with_a_draft_of_the_readers_team(ada_reads):
    ada, _, story_id = ada_reads
    state = make_state(FeedState, ada)
    state.load()
    state.save_share_draft({"text": "Worth a read: https://news.example/0 #Rust"})
    with session_scope() as session:
        post = session.exec(select(Post)).one()
    assert post.text == "Worth a read: https://news.example/0 #Rust" and post.author_id == ada.id
    result = state.save_share_draft({"text": "   "})
    assert "_redirect" not in kinds(result)
    redirect = state.save_share_draft({"text": "Again"})
    assert [spec.handler.fn.__qualname__ for spec in as_list(redirect)] == ["_redirect"]
    path = dict((str(k), getattr(v, "_var_value", v)) for k, v in as_list(redirect)[0].args)["path"]
    assert path.startswith("/schedule/compose?post=")


def toast_text(result) -> str:
    return " ".join(str(spec) for spec in as_list(result))


BAD_IDS = ["abc", "1; DROP TABLE feed_items", "", None, 1.5, "99999999999999999999", -3, 0, True, [1], {"id": 1}]


def test_a_story_id_that_is_not_one_gets_a_clear_message_and_changes_nothing(ada_reads):
    ada, _, story_id = ada_reads
    state = make_state(FeedState, ada)
    state.load()
    for bad in BAD_IDS:
        for handler, args in [("toggle_bookmark", (bad,)), ("rate", (bad, 4)), ("open_story", (bad,)),
                              ("toggle_read", (bad,)), ("mark_seen", (bad,))]:
            result = getattr(state, handler)(*args)
            assert "This story is not in your feed" in toast_text(result), (handler, bad)
    assert state.unread_total == 5 and not any(row.read or row.bookmarked for row in state.stories)
    with session_scope() as session:
        assert session.exec(select(FeedItemState)).all() == []
    state.toggle_bookmark(str(story_id))  # an id as text is still an id
    assert next(r for r in state.stories if r.id == story_id).bookmarked


def test_a_source_rule_or_digest_id_that_is_not_one_gets_a_clear_message(ada_reads):
    ada, source_id, _ = ada_reads
    page = make_state(FeedSourcesState, ada, "/feed/sources")
    page.load()
    for bad in BAD_IDS:
        page.edit_error = ""
        for result in (page.set_enabled(bad, False), page.delete_source(bad),
                       page.save_source({"source_id": bad, "title": "x"})):
            assert "This source no longer exists" in toast_text(result), bad
        assert page.edit_error == "This source no longer exists."
        page.delete_rule(bad)
        assert page.rule_error == "This rule no longer exists."
    with session_scope() as session:
        source = session.get(FeedSource, source_id)
    assert (source.enabled, source.title) == (True, "Example News")


def test_feed_pictures_reach_the_browser_only_once_the_reader_turns_them_on(ada, feed_server):
    feed_server.feed("/pics", rss(extra='<enclosure url="https://img.example/pic.jpg" type="image/jpeg" length="1"/>'))
    sources.add_source(user_id=ada.id, url=feed_server.url("/pics"))
    state = make_state(FeedState, ada)
    state.load()
    assert not state.show_images and len(state.stories) == 5
    assert {row.image_url for row in state.stories} == {""}  # off by default: no picture URL is sent

    state.set_show_images(True)
    assert {row.image_url for row in state.stories} == {"https://img.example/pic.jpg"}
    again = make_state(FeedState, ada)  # a saved choice, not a toggle of this page only
    again.load()
    assert again.show_images and again.stories[0].image_url == "https://img.example/pic.jpg"
    again.set_show_images(False)
    assert {row.image_url for row in again.stories} == {""}
    with session_scope() as session:
        assert session.get(FeedSettings, ada.id).show_images is False
