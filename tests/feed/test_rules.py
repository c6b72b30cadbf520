"""Rules: preview before saving, block and keep, every field, bad and hostile patterns."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import update

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.feed.models import FeedRule, FeedSource
from socialhub.feed import refresh, rules, sources, stories
from socialhub.core.errors import NotFound, ValidationError
from tests.feed.support import STORIES, ada, bob, feed_server, rss  # noqa: F401


@pytest.fixture
def followed(ada, feed_server):
    items = [(t, f"https://r.example/{n}", b) for n, (t, b) in enumerate(STORIES)]
    items.append(("Sponsored: win a free phone", "https://r.example/ad", "Giveaway sponsored by a brand."))
    feed_server.feed("/feed", rss(items, extra=""))
    with session_scope() as session:
        source = sources.add_source(user_id=ada.id, url=feed_server.url("/feed"))
    return ada, source.id


def titles(user_id: int) -> set[str]:
    with session_scope() as session:
        return {s.title for s in stories.list_stories(session, user_id=user_id, limit=100).stories}


def test_a_preview_shows_what_a_rule_would_match_and_saves_nothing(followed):
    ada, _ = followed
    with session_scope() as session:
        preview = rules.preview_rule(session, user_id=ada.id, action="block", field="title", pattern="sponsor")
        assert rules.list_rules(session, user_id=ada.id) == []
    assert (preview.checked, preview.matched) == (6, 1)
    assert preview.samples == ["Sponsored: win a free phone"]
    assert preview.sentence("block") == "Matches 1 of your latest 6 stories: it would hide them."
    assert len(titles(ada.id)) == 6


def test_a_block_rule_hides_matching_stories_until_it_is_deleted(followed):
    ada, _ = followed
    with session_scope() as session:
        rule = rules.create_rule(session, user_id=ada.id, action="block", field="any", pattern="giveaway|heat")
    assert titles(ada.id) == {t for t, _ in STORIES} - {STORIES[3][0]}
    with session_scope() as session:
        assert stories.counts(session, user_id=ada.id) == (4, 4)
        rules.delete_rule(session, user_id=ada.id, rule_id=rule.id)
    assert len(titles(ada.id)) == 6


def test_keep_rules_keep_only_what_matches_and_block_rules_still_apply(followed):
    ada, _ = followed
    with session_scope() as session:
        rules.create_rule(session, user_id=ada.id, action="keep", field="content", pattern="rust|postgres")
    assert titles(ada.id) == {STORIES[0][0], STORIES[1][0]}
    with session_scope() as session:
        rules.create_rule(session, user_id=ada.id, action="block", field="url", pattern=r"r\.example/1$")
    assert titles(ada.id) == {STORIES[0][0]}


def test_a_tag_rule_matches_feed_categories(followed):
    ada, _ = followed
    with session_scope() as session:
        rules.create_rule(session, user_id=ada.id, action="block", field="tag", pattern="^news$")
    assert titles(ada.id) == set()


def test_rules_apply_to_stories_that_arrive_later(followed, feed_server):
    ada, source_id = followed
    with session_scope() as session:
        rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern="crypto")
    feed_server.feed("/feed", rss([("Crypto coin soars", "https://r.example/c", "Coins."),
                                   ("Gardening tips for spring", "https://r.example/g", "Tulips.")], start_hours=0.1))
    with session_scope() as session:
        session.execute(update(FeedSource).values(next_fetch_at=utcnow() - timedelta(seconds=1)))
    refresh.refresh_due_sources(time_budget_s=10)
    shown = titles(ada.id)
    assert "Gardening tips for spring" in shown and "Crypto coin soars" not in shown


@pytest.mark.parametrize("action, field, pattern, message", [
    ("block", "title", "(unclosed", "not a valid pattern"),
    ("block", "title", "", "Enter a word or pattern"),
    ("block", "title", "x" * 301, "at most 300"),
    ("block", "title", "a\x00b", "control character"),
    ("explode", "title", "x", "hides stories or keeps"),
    ("block", "password_hash", "x", "which part of a story"),
])
def test_bad_rules_are_refused_with_a_clear_message(followed, action, field, pattern, message):
    ada, _ = followed
    with pytest.raises(ValidationError, match=message):
        with session_scope() as session:
            rules.create_rule(session, user_id=ada.id, action=action, field=field, pattern=pattern)
    with session_scope() as session:
        assert session.query(FeedRule).count() == 0


def test_a_pathological_pattern_is_checked_quickly(followed, feed_server):
    ada, _ = followed
    feed_server.feed("/evil", rss([("a" * 200 + "!", "https://e.example/1", "a" * 5000 + "!")]))
    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/evil"))
    started = time.monotonic()
    with session_scope() as session:
        preview = rules.preview_rule(session, user_id=ada.id, action="block", field="any", pattern="(a+)+$")
    assert time.monotonic() - started < 5
    assert preview.matched == 0


def test_quotes_and_sql_in_a_pattern_are_only_a_pattern(followed):
    ada, _ = followed
    with session_scope() as session:
        rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern="'; DROP TABLE users; --")
    assert len(titles(ada.id)) == 6


def test_another_readers_rule_cannot_be_deleted(followed, bob):
    ada, _ = followed
    with session_scope() as session:
        rule = rules.create_rule(session, user_id=ada.id, action="block", field="title", pattern="rust")
    with pytest.raises(NotFound):
        with session_scope() as session:
            rules.delete_rule(session, user_id=bob.id, rule_id=rule.id)
    with session_scope() as session:
        assert len(rules.list_rules(session, user_id=ada.id)) == 1
        assert rules.list_rules(session, user_id=bob.id) == []
