"""The one SimHash (cached words, numpy sums) equals SimHash written the plain way, and the
story index groups what it should."""

from __future__ import annotations

import hashlib
import random
import re
import unicodedata
from collections import Counter

import pytest

from socialhub.feed.ingest import dedupe
from socialhub.feed.ingest import story_fingerprint as fast
from socialhub.feed.grouping import StoryIndex


def _plain_tokens(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text.lower())
    folded = "".join(c for c in folded if not unicodedata.combining(c))
    words = []
    for raw in re.findall(r"[^\W_]+(?:['’.][^\W_]+)*", folded):
        word = raw.replace("’", "'").replace(".", "")
        if word.endswith("'s"):
            word = word[:-2]
        if word in dedupe._STOP_WORDS or len(word) < 2 and not word.isdigit():
            continue
        words.append(dedupe._stem(word))
    return words


def reference(title: str, text: str) -> int:
    """SimHash as the definition says it, no caches, no numpy: for each of the 64 bits, the
    weight of the features whose blake2b-64 hash has that bit set against the total."""
    features: Counter[str] = Counter()
    for word in _plain_tokens(dedupe._SITE_SUFFIX.sub("", title)):
        features["w:" + word] += dedupe.TITLE_WEIGHT
    body = _plain_tokens(text[: dedupe.TEXT_WORDS * 24])[: dedupe.TEXT_WORDS]
    for word in body:
        features["w:" + word] += 1
    for a, b in zip(body, body[1:]):
        features[f"p:{a} {b}"] += 1
    if not features:
        return 0
    hashes = {f: int.from_bytes(hashlib.blake2b(f.encode(), digest_size=8).digest(), "big") for f in features}
    total = sum(features.values())
    value = 0
    for bit in range(64):
        if 2 * sum(w for f, w in features.items() if hashes[f] >> bit & 1) > total:
            value |= 1 << bit
    return value - (1 << 64) if value >> 63 else value
from tests.feed.support import STORIES

SAMPLES = [
    ("", ""), ("A", ""), ("the of and", "a an"), ("Headline | Site Name", "Body text."),
    ("Café déjà vu: naïve résumé’s", "Ça va? L’été à Paris — São Paulo’s 10.5 ‘quotes’ e.g. U.S. A.I. №1 ﬁve"),
    ("Ελληνικά νέα σήμερα", "Κείμενο με λέξεις και αριθμούς 2024."), ("中文标题", "中文内容，没有空格。"),
    ("Emoji 🚀 launch", "Rockets 🚀🚀 go up; announces announced announcing."),
] + list(STORIES)


@pytest.mark.parametrize("title, text", SAMPLES)
def test_the_fingerprint_is_exactly_the_plain_simhash(title, text):
    assert fast(title, text) == reference(title, text)


def test_the_fingerprint_matches_on_random_word_salad_with_warm_caches():
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
