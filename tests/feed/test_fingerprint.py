"""The fast fingerprint equals the integration's, and the story index groups what it should."""

from __future__ import annotations

import random

import pytest

from socialhub.feed.ingest import story_fingerprint as reference
from socialhub.feed.fingerprint import story_fingerprint as fast
from socialhub.feed.grouping import StoryIndex
from tests.feed.support import STORIES

SAMPLES = [
    ("", ""), ("A", ""), ("the of and", "a an"), ("Headline | Site Name", "Body text."),
    ("Café déjà vu: naïve résumé’s", "Ça va? L’été à Paris — São Paulo’s 10.5 ‘quotes’ e.g. U.S. A.I. №1 ﬁve"),
    ("Ελληνικά νέα σήμερα", "Κείμενο με λέξεις και αριθμούς 2024."), ("中文标题", "中文内容，没有空格。"),
    ("Emoji 🚀 launch", "Rockets 🚀🚀 go up; announces announced announcing."),
] + list(STORIES)


@pytest.mark.parametrize("title, text", SAMPLES)
def test_the_fast_fingerprint_is_exactly_the_integrations(title, text):
    assert fast(title, text) == reference(title, text)


def test_the_fast_fingerprint_matches_on_random_word_salad_with_warm_caches():
    rng = random.Random(3)
    words = [w for _, body in STORIES for w in body.split()] + ["Ünïcödé", "x", "42", "it's", "U.S."]
    for _ in range(300):
        title = " ".join(rng.choice(words) for _ in range(rng.randint(0, 12)))
        text = " ".join(rng.choice(words) for _ in range(rng.randint(0, 120)))
        assert fast(title, text) == reference(title, text)


def test_the_index_groups_a_rewrite_from_another_feed_only():
    title, body = STORIES[1]
    index = StoryIndex()
    index.add(item_id=1, story_id=1, title=title, text=body, fingerprint=fast(title, body), feeds={"a"})
    rewrite_title = "PostgreSQL 17 adds incremental backup support"
    rewrite = body.replace("is out with", "arrives with")
    assert index.find(title=rewrite_title, text=rewrite, fingerprint=fast(rewrite_title, rewrite), feed="b") == 1
    assert index.find(title=rewrite_title, text=rewrite, fingerprint=fast(rewrite_title, rewrite), feed="a") is None
    other_title, other_body = STORIES[0]
    assert index.find(title=other_title, text=other_body, fingerprint=fast(other_title, other_body), feed="b") is None
