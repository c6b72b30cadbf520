"""`story_fingerprint`, the same numbers, about eight times faster, for bulk ingestion.

Profiling a 1,000-feed refresh showed the integration's SimHash (`dedupe.story_fingerprint`)
taking more CPU than parsing the feeds: per item it re-tokenises, re-stems and re-hashes words
every feed repeats, and adds 64 lanes of big integers per feature. This module produces the
identical value (tests compare them on many texts, accents and all) by

- caching each distinct word's stem and each distinct feature's 64-bit hash (news text reuses
  a small vocabulary; the caches are bounded and simply cleared when full), and
- summing the per-bit weights with numpy instead of big-integer lanes.

It uses the integration's own word pattern, stop words, stemmer and hash, so it cannot drift
from it silently; when in doubt, `dedupe.story_fingerprint` remains the reference.
"""

from __future__ import annotations

import unicodedata
from collections import Counter

import numpy as np

from socialhub.feed.ingest import dedupe as _reference

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
    for raw in _reference._WORD.findall(folded):
        stem = _stems.get(raw, _MISSING)
        if stem is _MISSING:
            word = raw.replace("’", "'").replace(".", "")
            if word.endswith("'s"):
                word = word[:-2]
            if word in _reference._STOP_WORDS or len(word) < 2 and not word.isdigit():
                stem = None
            else:
                stem = _reference._stem(word)
            _stems[raw] = stem
        if stem is not None:
            words.append(stem)
    return words


def _features(title: str, text: str) -> Counter[str]:
    features: Counter[str] = Counter()
    for word in _tokens(_reference._SITE_SUFFIX.sub("", title)):
        features["w:" + word] += _reference.TITLE_WEIGHT
    body = _tokens(text[: _reference.TEXT_WORDS * 24])[: _reference.TEXT_WORDS]
    for word in body:
        features["w:" + word] += 1
    for a, b in zip(body, body[1:]):
        features[f"p:{a} {b}"] += 1
    return features


def story_fingerprint(title: str, text: str = "") -> int:
    """Exactly `dedupe.story_fingerprint(title, text)`."""
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
            value = _hashes[feature] = _reference._hash64(feature)
        hashes[n] = value
        weights[n] = weight
    bits = ((hashes[:, None] >> _BITS) & np.uint64(1)).astype(np.int64)  # (features, 64)
    per_bit = weights @ bits
    total = int(weights.sum())
    value = 0
    for bit in np.nonzero(2 * per_bit > total)[0]:
        value |= 1 << int(bit)
    return value - (1 << 64) if value >> 63 else value
