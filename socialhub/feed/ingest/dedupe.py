"""Near-duplicate stories: one 64-bit SimHash per item, compared by Hamming distance.

The same story reaches a reader through several sources under different URLs and slightly
different headlines ("Apple unveils…" / "Apple announces…"). `story_fingerprint` turns title and
text into a 64-bit SimHash whose bits barely move when a few words change, so it can be stored
(a signed 64-bit integer: it fits a PostgreSQL BIGINT as it is) and compared cheaply.

How to group, and why two steps: a SimHash of a ~60-word story is noisy. Same-story rewrites land
about 5–18 bits apart, syndicated copies 0–6, unrelated stories around 32 ± 4. At the default
`NEAR_DUPLICATE_BITS` roughly one unrelated pair in a few hundred also matches, which is fine for
finding *candidates* among recent items, not for merging. So:

1. candidates: stored fingerprints with `is_near_duplicate(a, b)` (or the same XOR/popcount in SQL);
2. confirm: `story_similarity(...) >= SAME_STORY_SIMILARITY` on the two items' title and summary
   (same-story pairs score about 0.65–0.9, different stories on the same topic below 0.35).

Features: the title's words plus the words and word pairs of the first `TEXT_WORDS` words of the
text, after lower-casing, accent folding, dropping stop words (including news filler such as
weekdays and "said") and a light suffix strip (announces/announced → announc). A fingerprint from
a title alone is much weaker: confirm such matches with `story_similarity` too.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter

import numpy as np

NEAR_DUPLICATE_BITS = 20
"""Default `is_near_duplicate` threshold (a candidate test; confirm with `story_similarity`)."""

SAME_STORY_SIMILARITY = 0.5
"""`story_similarity` at or above which two candidates are the same story."""

TEXT_WORDS = 60
"""How many words of the body take part: the lede carries the story, the rest is noise."""

TITLE_WEIGHT = 1
"""Weight of a title word against a body word (the title's words also appear in most ledes)."""

_MASK = (1 << 64) - 1
_WORD = re.compile(r"[^\W_]+(?:['’.][^\W_]+)*", re.UNICODE)
_STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    out over own same she should so some such than that the their theirs them then there these
    they this those through to too under until up very was we were what when where which while
    who whom why will with would you your yours also amid among around across per via new
    says said say report reports reported according today yesterday tomorrow week weeks
    year years month months day days time first last next one two three million billion
    percent cent including just watch video read update updated breaking exclusive live
    monday tuesday wednesday thursday friday saturday sunday morning evening night""".split()
)
# "Headline | Site Name" / "Headline · Site": the site's name is not part of the story.
_SITE_SUFFIX = re.compile(r"\s+[|·]\s+[^|·]{1,40}$")
_SUFFIXES = ("ingly", "edly", "ings", "ing", "ies", "ied", "ed", "es", "s", "ly")


def _stem(word: str) -> str:
    if word.isdigit() or len(word) <= 4:
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


# Bulk ingestion fingerprints thousands of items a minute, and news text reuses a small
# vocabulary: each distinct word's stem and each distinct feature's hash are cached (bounded;
# cleared when full), and the 64 per-bit sums are one numpy product instead of 64 loops.
CACHE_LIMIT = 200_000
_BITS = np.arange(64, dtype=np.uint64)
_MISSING = object()
_stems: dict[str, str | None] = {}
_hashes: dict[str, int] = {}


def _tokens(text: str) -> list[str]:
    folded = text.lower()
    if not folded.isascii():  # NFKD and dropping combining marks change nothing in ASCII text
        folded = unicodedata.normalize("NFKD", folded)
        folded = "".join(c for c in folded if not unicodedata.combining(c))
    if len(_stems) > CACHE_LIMIT:
        _stems.clear()
    words = []
    for raw in _WORD.findall(folded):
        stem = _stems.get(raw, _MISSING)
        if stem is _MISSING:
            word = raw.replace("’", "'").replace(".", "")
            if word.endswith("'s"):
                word = word[:-2]
            if word in _STOP_WORDS or len(word) < 2 and not word.isdigit():
                stem = None
            else:
                stem = _stem(word)
            _stems[raw] = stem
        if stem is not None:
            words.append(stem)
    return words


def _features(title: str, text: str) -> Counter[str]:
    features: Counter[str] = Counter()
    title_words = _tokens(_SITE_SUFFIX.sub("", title))
    for word in title_words:
        features["w:" + word] += TITLE_WEIGHT
    body_words = _tokens(text[: TEXT_WORDS * 24])[:TEXT_WORDS]
    for word in body_words:
        features["w:" + word] += 1
    for a, b in zip(body_words, body_words[1:]):
        features[f"p:{a} {b}"] += 1
    return features


def _hash64(feature: str) -> int:
    return int.from_bytes(hashlib.blake2b(feature.encode(), digest_size=8).digest(), "big")


def story_fingerprint(title: str, text: str = "") -> int:
    """64-bit SimHash of a story's title and text, as a signed integer (fits a BIGINT).

    Bit i is set when the features whose hash has bit i set carry more than half of the
    total weight (tests/feed/test_fingerprint.py checks this against a plain loop over bits).
    """
    features = _features(title or "", text or "")
    if not features:
        return 0
    if len(_hashes) > CACHE_LIMIT:
        _hashes.clear()
    hashes = np.empty(len(features), dtype=np.uint64)
    weights = np.empty(len(features), dtype=np.int64)
    for n, (feature, weight) in enumerate(features.items()):
        value = _hashes.get(feature)
        if value is None:
            value = _hashes[feature] = _hash64(feature)
        hashes[n] = value
        weights[n] = weight
    bits = ((hashes[:, None] >> _BITS) & np.uint64(1)).astype(np.int64)  # (features, 64)
    per_bit = weights @ bits
    total = int(weights.sum())
    value = 0
    for bit in np.nonzero(2 * per_bit > total)[0]:
        value |= 1 << int(bit)
    return value - (1 << 64) if value >> 63 else value


def hamming_distance(a: int, b: int) -> int:
    """Number of differing bits between two fingerprints (signed or unsigned)."""
    return ((a ^ b) & _MASK).bit_count()


def is_near_duplicate(a: int, b: int, threshold: int = NEAR_DUPLICATE_BITS) -> bool:
    """True when two fingerprints are at most `threshold` bits apart (0 means empty: never)."""
    if a == 0 or b == 0:
        return False
    return hamming_distance(a, b) <= threshold


def story_similarity(title_a: str, text_a: str, title_b: str, text_b: str) -> float:
    """Cosine similarity (0–1) of two stories' features: the exact check behind a SimHash match."""
    fa, fb = _features(title_a or "", text_a or ""), _features(title_b or "", text_b or "")
    if not fa or not fb:
        return 0.0
    dot = sum(weight * fb.get(feature, 0) for feature, weight in fa.items())
    norm_a = sum(w * w for w in fa.values()) ** 0.5
    norm_b = sum(w * w for w in fb.values()) ** 0.5
    return dot / (norm_a * norm_b)
