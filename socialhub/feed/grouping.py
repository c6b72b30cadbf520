"""Grouping near-duplicate stories: which earlier story, if any, a new item tells again.

Plain Python, no database: the refresh loads the recent window of items once per batch into a
`StoryIndex`, asks it about every new item, and adds each new item to it.

Finding candidates cheaply: comparing every new item with every recent one is quadratic, so
candidates are the recent items that share title terms with the new one (an inverted index;
terms so common that their posting list is long are skipped, as a search engine skips stop
words). Each candidate must then pass the integration's two checks, in order: the SimHash
fingerprints are within `NEAR_DUPLICATE_BITS` (cheap), and `story_similarity` of title and text
is at least `SAME_STORY_SIMILARITY` (exact). A story never takes a second item from a feed that
already carries one of its items: a feed that posts two versions of a story means two posts.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from socialhub.feed.ingest import is_near_duplicate, SAME_STORY_SIMILARITY, story_similarity

MAX_POSTING = 300
"""A title term carried by more recent items than this is too common to suggest a candidate."""

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOP = frozenset(
    """the and for with from that this are was were has have had will would can could its it's
    not but you your our their they them his her she him who what when where why how new says
    said after over into about more than just now out off all any one two first last year
    years day days week today video watch live update updated report breaking exclusive""".split()
)


def title_terms(title: str) -> set[str]:
    terms = set()
    for word in _WORD.findall((title or "").lower()):
        if len(word) < 3 or word in _STOP:
            continue
        terms.add(word[:-1] if len(word) > 4 and word.endswith("s") else word)
    return terms


@dataclass(slots=True)
class _Story:
    story_id: int
    title: str
    text: str
    fingerprint: int
    feeds: set[str] = field(default_factory=set)


class StoryIndex:
    """Recent items by title term, to find the story a new item belongs to."""

    def __init__(self, max_posting: int = MAX_POSTING) -> None:
        self.max_posting = max_posting
        self._items: list[_Story] = []
        self._by_item: dict[int, int] = {}
        self._postings: dict[str, list[int]] = {}
        self._story_feeds: dict[int, set[str]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def add(self, *, item_id: int, story_id: int, title: str, text: str, fingerprint: int,
            feeds: set[str] | frozenset[str] = frozenset()) -> None:
        self._story_feeds.setdefault(story_id, set()).update(feeds)
        if item_id in self._by_item:
            self._items[self._by_item[item_id]].feeds.update(feeds)
            return
        index = len(self._items)
        self._items.append(_Story(story_id, title, text, fingerprint, set(feeds)))
        self._by_item[item_id] = index
        for term in title_terms(title):
            self._postings.setdefault(term, []).append(index)

    def add_feed(self, item_id: int, feed: str) -> None:
        """Record that another feed carries an item already in the index."""
        if item_id in self._by_item:
            story = self._items[self._by_item[item_id]]
            story.feeds.add(feed)
            self._story_feeds.setdefault(story.story_id, set()).add(feed)

    def story_feeds(self, story_id: int) -> set[str]:
        """The feeds known to carry an item of this story."""
        return self._story_feeds.get(story_id, set())

    def find(self, *, title: str, text: str, fingerprint: int, feed: str) -> int | None:
        """The story id this item is a near-duplicate of, or None for a new story."""
        terms = title_terms(title)
        if not terms or fingerprint == 0:
            return None
        shared: Counter[int] = Counter()
        for term in terms:
            posting = self._postings.get(term)
            if posting and len(posting) <= self.max_posting:
                shared.update(posting)
        need = 2 if len(terms) >= 3 else 1
        best: tuple[float, int] | None = None
        for index, count in shared.items():
            if count < need:
                continue
            candidate = self._items[index]
            if feed in self._story_feeds.get(candidate.story_id, candidate.feeds) or \
                    not is_near_duplicate(fingerprint, candidate.fingerprint):
                continue
            similarity = story_similarity(title, text, candidate.title, candidate.text)
            if similarity >= SAME_STORY_SIMILARITY and (best is None or similarity > best[0]):
                best = (similarity, candidate.story_id)
        return None if best is None else best[1]
