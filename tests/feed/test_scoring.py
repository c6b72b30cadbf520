"""Scores: relevance, recency, reliability and engagement, weighted by settings, with reasons."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from socialhub.core.db import session_scope
from socialhub.feed import scoring, settings, sources, stories
from socialhub.feed.settings import Weights
from tests.feed.support import STORIES, ada, feed_server, rss  # noqa: F401

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
EVEN = Weights(1, 1, 1, 1)


def facts(title="A story", text="Some text.", *, hours=1.0, source_ids=(1,), coverage=1, interactions=0, tags=()):
    return scoring.StoryFacts(story_id=1, title=title, text=text, tags=tuple(tags),
                              published_at=NOW - timedelta(hours=hours), source_ids=tuple(source_ids),
                              coverage=coverage, interactions=interactions)


def profile(topics=(), liked=None, disliked=None, reliability=None):
    p = scoring.ReaderProfile(topics=list(topics), liked=Counter(liked or {}), disliked=Counter(disliked or {}))
    p.reliability = reliability or {}
    p.source_names = {1: "Tech Daily", 2: "Gossip Weekly"}
    return p


def test_a_topic_in_the_title_counts_most_and_says_so():
    in_title = scoring.compute(facts("Rust 1.80 released"), profile(["rust"]), EVEN, NOW)
    in_text = scoring.compute(facts("A release", "Written in Rust."), profile(["rust"]), EVEN, NOW)
    absent = scoring.compute(facts("Gardening"), profile(["rust"]), EVEN, NOW)
    assert in_title.relevance == 1.0 > in_text.relevance == 0.6 > absent.relevance == 0.0
    assert "Mentions your topic “rust” in the title" in in_title.reasons
    assert "Not about your topics or the stories you liked" in absent.reasons


def test_without_topics_or_likes_relevance_is_neutral_and_the_reader_is_told_how_to_improve_it():
    parts = scoring.compute(facts(), profile(), EVEN, NOW)
    assert parts.relevance == scoring.NEUTRAL_RELEVANCE
    assert any("add topics in Digest settings" in r for r in parts.reasons)


def test_stories_like_the_ones_the_reader_liked_score_higher():
    liked = Counter({"compiler": 4, "rust": 6, "cargo": 3})
    similar = scoring.compute(facts("Rust compiler news", "The cargo tool and the compiler."), profile(liked=liked),
                              EVEN, NOW)
    other = scoring.compute(facts("Football results", "The match ended in a draw."), profile(liked=liked), EVEN, NOW)
    assert similar.relevance > 0.5 > other.relevance
    assert any(r.startswith("Like stories you bookmarked or rated highly") for r in similar.reasons)


def test_recency_halves_every_day():
    fresh = scoring.compute(facts(hours=0), profile(), EVEN, NOW).recency
    day = scoring.compute(facts(hours=24), profile(), EVEN, NOW).recency
    two = scoring.compute(facts(hours=48), profile(), EVEN, NOW).recency
    assert fresh == 1.0 and abs(day - 0.5) < 1e-3 and abs(two - 0.25) < 1e-3
    assert "Published 2 days ago" in scoring.compute(facts(hours=50), profile(), EVEN, NOW).reasons


def test_reliability_comes_from_the_readers_history_with_the_source_and_the_best_source_wins():
    p = profile(reliability={1: (0.9, "You rate Tech Daily 4.6★ on average (8 ratings)"),
                             2: (0.2, "You rate Gossip Weekly 1.4★ on average (5 ratings)")})
    both = scoring.compute(facts(source_ids=(1, 2)), p, EVEN, NOW)
    gossip = scoring.compute(facts(source_ids=(2,)), p, EVEN, NOW)
    assert both.reliability == 0.9 and gossip.reliability == 0.2
    assert "You rate Tech Daily 4.6★ on average (8 ratings)" in both.reasons


def test_engagement_grows_with_coverage_and_use():
    alone = scoring.compute(facts(), profile(), EVEN, NOW).engagement
    covered = scoring.compute(facts(coverage=4, interactions=3), profile(), EVEN, NOW)
    assert alone == 0.0 < covered.engagement
    assert "Covered by 4 feeds" in covered.reasons


def test_weights_decide_the_final_score():
    story = facts("Rust news", hours=72)  # relevant but old
    relevance_first = scoring.compute(story, profile(["rust"]), Weights(1, 0, 0, 0), NOW)
    recency_first = scoring.compute(story, profile(["rust"]), Weights(0, 1, 0, 0), NOW)
    assert relevance_first.final == 100.0 and recency_first.final < 15


def test_ratings_and_settings_change_todays_scores_with_reasons(ada, feed_server):
    other = [(f"Gossip item {n}", f"https://g.example/{n}", "Celebrity news.") for n in range(3)]
    feed_server.feed("/tech", rss([(t, f"https://t.example/{n}", b) for n, (t, b) in enumerate(STORIES[:2])],
                                  title="Tech Daily"))
    feed_server.feed("/gossip", rss(other, title="Gossip Weekly"))
    with session_scope() as session:
        sources.add_source(user_id=ada.id, url=feed_server.url("/tech"))
        sources.add_source(user_id=ada.id, url=feed_server.url("/gossip"))

    def scores():
        with session_scope() as session:
            listed = stories.list_stories(session, user_id=ada.id, limit=20).stories
        return {s.title: s for s in listed}

    before = scores()
    with session_scope() as session:
        for story in before.values():
            rating = 5 if "Gossip" not in story.title else 1
            stories.rate_story(session, user_id=ada.id, story_id=story.id, rating=rating)
    after = scores()
    assert after[STORIES[0][0]].score.reliability > before[STORIES[0][0]].score.reliability
    assert after["Gossip item 0"].score.reliability < before["Gossip item 0"].score.reliability
    assert any("Tech Daily 5.0★" in r for r in after[STORIES[0][0]].score.reasons)

    with session_scope() as session:
        settings.update_settings(
            session, user_id=ada.id, digest_time="08:00", max_items=5, min_score=10, topics="postgresql, backups",
            weights={"relevance": 1, "recency": 0, "reliability": 0, "engagement": 0}, auto_generate=True,
            auto_email=True, auto_post=False, email_notifications=True)
    weighted = scores()
    assert weighted[STORIES[1][0]].score.final == 100.0
    assert weighted["Gossip item 0"].score.final == 0.0
