"""Scores: how much each story is worth to one reader today, and why.

Four parts, each 0–1, combined with the reader's weights into a final 0–100:
- relevance: the best of (a) the reader's topics found in the title (1.0), tags (0.9) or text
  (0.6–0.75) and (b) word overlap with the stories they bookmarked or rated 4–5 (minus overlap
  with those rated 1–2). A reader with neither gets a neutral 0.3 and is told how to do better.
- recency: halves every `HALF_LIFE_H` hours since publication.
- reliability: per source, learned from this reader: each story they rated counts (rating−1)/4,
  bookmarked 1, opened 0.8, read 0.6, smoothed towards 0.5 by `PRIOR` imaginary stories. A story
  carried by several of their sources takes the best.
- engagement: how many distinct feeds carry the story, and how often readers of this
  SocialHub opened, bookmarked or shared it (aggregate counts only, never who).

Scores are stored per (user, local day, story) with their reasons, computed on demand for the
stories a page or a digest needs (`ensure_scores`), and dropped for today when the reader
changes topics or weights.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session

from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.feed.models import FeedScore
from socialhub.feed import settings
from socialhub.feed.settings import Weights

HALF_LIFE_H = 24.0
PRIOR = 3.0
NEUTRAL_RELEVANCE = 0.3
SCORE_WINDOW = timedelta(days=3)
MAX_SCORED = 3000
PROFILE_TERMS = 80

_WORD = re.compile(r"[^\W\d_][\w'’-]*", re.UNICODE)
_STOP = frozenset(
    """the and for with from that this are was were has have had will would can could its it's not
    but you your our their they them his her she him who what when where why how new says said
    after over into about more than just now out off all any one two also been being which there
    these those then than some such only other most very into onto here via per""".split()
)
PART_LABELS = {"relevance": "Relevance", "recency": "Recency", "reliability": "Source reliability",
               "engagement": "Engagement"}


@dataclass(frozen=True)
class ScoreParts:
    relevance: float
    recency: float
    reliability: float
    engagement: float
    final: float
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class StoryFacts:
    story_id: int
    title: str
    text: str
    tags: tuple[str, ...]
    published_at: datetime
    source_ids: tuple[int, ...]
    coverage: int = 1
    interactions: int = 0


@dataclass
class ReaderProfile:
    topics: list[str]
    liked: Counter
    disliked: Counter
    reliability: dict[int, tuple[float, str]] = field(default_factory=dict)
    source_names: dict[int, str] = field(default_factory=dict)
    _patterns: list[tuple[str, re.Pattern]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._patterns = [(t, re.compile(r"(?<!\w)" + re.escape(t.lower()) + r"(?:s|es)?(?!\w)"))
                          for t in self.topics]


def terms(text_: str) -> list[str]:
    return [w for w in (m.group(0).lower() for m in _WORD.finditer(text_ or "")) if len(w) >= 3 and w not in _STOP]


def _cosine(a: Counter, b: Counter) -> float:
    if not a or not b:
        return 0.0
    dot = sum(weight * b.get(term, 0) for term, weight in a.items())
    if not dot:
        return 0.0
    return dot / (math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values())))


def _ago(hours: float) -> str:
    if hours < 1:
        return "Published in the last hour"
    if hours < 48:
        return f"Published {int(hours)} hour{'s' if int(hours) != 1 else ''} ago"
    return f"Published {int(hours // 24)} days ago"


def compute(facts: StoryFacts, profile: ReaderProfile, weights: Weights, now: datetime) -> ScoreParts:
    """The score of one story for one reader: pure, so it is easy to test and to explain."""
    reasons: list[tuple[float, str]] = []
    lowered_title, lowered_text = facts.title.lower(), facts.text.lower()
    lowered_tags = " | ".join(facts.tags).lower()

    topic, topic_reason = 0.0, ""
    for name, pattern in profile._patterns:
        if pattern.search(lowered_title):
            hit, where = 1.0, "in the title"
        elif pattern.search(lowered_tags):
            hit, where = 0.9, "in its tags"
        else:
            mentions = len(pattern.findall(lowered_text))
            hit, where = (0.75 if mentions > 1 else 0.6 if mentions else 0.0), "in the text"
        if hit > topic:
            topic, topic_reason = hit, f"Mentions your topic “{name}” {where}"
    words = Counter(terms(facts.title) * 2 + terms(facts.text[:1500]))
    liked = _cosine(words, profile.liked)
    disliked = _cosine(words, profile.disliked)
    similar = max(0.0, min(1.0, 2.5 * liked - 1.5 * disliked))
    if topic == 0 and not profile.liked and not profile.topics:
        relevance = NEUTRAL_RELEVANCE
        reasons.append((-1.0, "No topics or favourite stories yet: add topics in Digest settings, "
                              "bookmark or rate stories"))
    else:
        relevance = max(topic, similar)
        if topic >= similar and topic > 0:
            reasons.append((topic * weights.relevance, topic_reason))
        elif similar > 0.15:
            shared = [t for t, _ in (words & profile.liked).most_common(3)]
            reasons.append((similar * weights.relevance, "Like stories you bookmarked or rated highly" +
                            (f" ({', '.join(shared)})" if shared else "")))
        else:
            reasons.append((-0.5, "Not about your topics or the stories you liked"))
        if disliked > 0.3:
            reasons.append((-disliked, "Resembles stories you rated low"))

    age_h = max(0.0, (now - facts.published_at).total_seconds() / 3600)
    recency = 0.5 ** (age_h / HALF_LIFE_H)
    reasons.append((recency * weights.recency, _ago(age_h)))

    reliability, reliability_reason = 0.5, "No reading history with this source yet"
    for source_id in facts.source_ids:
        value, reason = profile.reliability.get(
            source_id, (0.5, f"No reading history with {profile.source_names.get(source_id, 'this source')} yet"))
        if value > reliability or reliability_reason.startswith("No reading"):
            reliability, reliability_reason = value, reason
    reasons.append((reliability * weights.reliability, reliability_reason))

    engagement = min(1.0, 0.35 * math.log2(max(1, facts.coverage)) + 0.15 * math.log2(1 + facts.interactions))
    if facts.coverage > 1:
        reasons.append((engagement * weights.engagement, f"Covered by {facts.coverage} feeds"))
    if facts.interactions:
        reasons.append((engagement * weights.engagement * 0.9, f"Opened, bookmarked or shared {facts.interactions} "
                                    f"time{'s' if facts.interactions != 1 else ''} by readers here"))

    w = weights
    total = w.relevance + w.recency + w.reliability + w.engagement or 1.0
    final = 100 * (w.relevance * relevance + w.recency * recency + w.reliability * reliability
                   + w.engagement * engagement) / total
    # Biggest contribution to the final score first; advice (no contribution) last.
    ordered = tuple(r for _, r in sorted(reasons, key=lambda pair: -pair[0]))
    return ScoreParts(round(relevance, 4), round(recency, 4), round(reliability, 4), round(engagement, 4),
                      round(final, 2), ordered)


# ---- loading what a score needs ---------------------------------------------------------------

def load_profile(session: Session, *, user_id: int, topics: list[str]) -> ReaderProfile:
    liked: Counter = Counter()
    disliked: Counter = Counter()
    rows = session.execute(text("""
        SELECT i.title, left(i.text, 600), st.rating, st.bookmarked_at IS NOT NULL
        FROM (SELECT * FROM feed_item_states
              WHERE user_id = :u AND (rating IS NOT NULL OR bookmarked_at IS NOT NULL)
              ORDER BY updated_at DESC LIMIT 300) st
        CROSS JOIN LATERAL (  -- the reader's own copy of the story: what their feed said
            SELECT e.item_id FROM feed_item_sources e WHERE e.user_id = :u AND e.story_id = st.story_id
            ORDER BY e.is_primary DESC, e.item_id LIMIT 1) own
        JOIN feed_items i ON i.id = own.item_id
        ORDER BY st.updated_at DESC
    """), {"u": user_id}).all()
    for title, body, rating, bookmarked in rows:
        words = Counter(terms(title) * 2 + terms(body))
        if rating is not None and rating <= 2:
            disliked.update(words)
        elif bookmarked or (rating or 0) >= 4:
            liked.update(words)
    profile = ReaderProfile(topics=list(topics), liked=Counter(dict(liked.most_common(PROFILE_TERMS))),
                            disliked=Counter(dict(disliked.most_common(PROFILE_TERMS))))
    profile.source_names = dict(session.execute(
        text("SELECT id, title FROM feed_sources WHERE user_id = :u"), {"u": user_id}).all())
    for source_id, n, signal, ratings, avg_rating in session.execute(text("""
        SELECT e.source_id, count(*),
               sum(CASE WHEN st.rating IS NOT NULL THEN (st.rating - 1) / 4.0
                        WHEN st.bookmarked_at IS NOT NULL THEN 1.0
                        WHEN st.click_count > 0 THEN 0.8 ELSE 0.6 END),
               count(st.rating), avg(st.rating)
        FROM feed_item_states st
        JOIN feed_item_sources e ON e.user_id = st.user_id AND e.story_id = st.story_id
        WHERE st.user_id = :u AND (st.read_at IS NOT NULL OR st.rating IS NOT NULL
                                   OR st.bookmarked_at IS NOT NULL OR st.click_count > 0)
        GROUP BY e.source_id
    """), {"u": user_id}).all():
        value = (PRIOR * 0.5 + float(signal)) / (PRIOR + n)
        name = profile.source_names.get(source_id, "this source")
        if ratings:
            reason = f"You rate {name} {float(avg_rating):.1f}★ on average ({ratings} rating{'s' if ratings != 1 else ''})"
        else:
            reason = f"You read {n} stor{'ies' if n != 1 else 'y'} from {name}"
        profile.reliability[source_id] = (value, reason)
    return profile


def _facts(session: Session, *, user_id: int, story_ids: list[int]) -> list[StoryFacts]:
    rows = session.execute(text("""
        WITH mine AS (  -- the reader's sources of each story, and their own copy of it
            SELECT story_id, array_agg(DISTINCT source_id) AS source_ids,
                   (array_agg(item_id ORDER BY is_primary DESC, item_id))[1] AS item_id
            FROM feed_item_sources WHERE user_id = :u AND story_id = ANY(:ids) GROUP BY story_id
        ), coverage AS (
            SELECT i.story_id, count(DISTINCT s.url) AS feeds
            FROM feed_items i JOIN feed_item_sources e ON e.item_id = i.id JOIN feed_sources s ON s.id = e.source_id
            WHERE i.story_id = ANY(:ids) GROUP BY i.story_id
        ), used AS (
            SELECT story_id, sum(click_count) + count(shared_at) + count(bookmarked_at) AS n
            FROM feed_item_states WHERE story_id = ANY(:ids) GROUP BY story_id
        )
        SELECT mine.story_id, i.title, left(i.text, 3000), i.tags, i.published_at, mine.source_ids,
               coalesce(coverage.feeds, 1), coalesce(used.n, 0)
        FROM mine JOIN feed_items i ON i.id = mine.item_id
        LEFT JOIN coverage ON coverage.story_id = mine.story_id
        LEFT JOIN used ON used.story_id = mine.story_id
    """), {"u": user_id, "ids": story_ids}).all()
    return [StoryFacts(r[0], r[1], r[2], tuple(r[3] or ()), r[4], tuple(r[5]), int(r[6]), int(r[7]))
            for r in rows]


def score_stories(session: Session, *, user_id: int, story_ids: list[int], day: date | None = None,
                  now: datetime | None = None) -> dict[int, ScoreParts]:
    """Compute and store today's scores of these stories (only ones the user has)."""
    if not story_ids:
        return {}
    now = now or utcnow()
    user = session.get(User, user_id)
    day = day or settings.local_day(user, now)
    prefs = settings.get_or_create(session, user_id=user_id)
    weights = settings.weights_of(prefs)
    profile = load_profile(session, user_id=user_id, topics=prefs.topics)
    scores = {f.story_id: compute(f, profile, weights, now) for f in _facts(session, user_id=user_id,
                                                                            story_ids=list(story_ids))}
    rows = [{"user_id": user_id, "day": day, "story_id": sid, "relevance": s.relevance, "recency": s.recency,
             "reliability": s.reliability, "engagement": s.engagement, "final": s.final,
             "reasons": list(s.reasons)} for sid, s in scores.items()]
    table = FeedScore.__table__
    statement = insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "day", "story_id"],
        set_={name: statement.excluded[name] for name in
              ("relevance", "recency", "reliability", "engagement", "final", "reasons")})
    for start in range(0, len(rows), 2000):
        session.execute(statement, rows[start:start + 2000])
    return scores


def ensure_scores(session: Session, *, user_id: int, story_ids: list[int] | None = None,
                  now: datetime | None = None, day: date | None = None) -> int:
    """Score the day's (today's) unscored stories: these ones, or the user's recent ones.
    Returns how many were scored."""
    now = now or utcnow()
    day = day or settings.local_day(session.get(User, user_id), now)
    if story_ids is not None:
        missing = session.execute(text("""
            SELECT DISTINCT e.story_id FROM feed_item_sources e
            WHERE e.user_id = :u AND e.story_id = ANY(:ids)
              AND NOT EXISTS (SELECT 1 FROM feed_scores sc
                              WHERE sc.user_id = :u AND sc.day = :d AND sc.story_id = e.story_id)
        """), {"u": user_id, "ids": story_ids, "d": day}).scalars().all()
    else:
        # The newest MAX_SCORED recent stories, then those of them not scored yet: a reader
        # with more recent stories than that gets the rest scored as pages show them.
        missing = session.execute(text("""
            SELECT recent.story_id FROM (
                SELECT e.story_id FROM feed_item_sources e
                WHERE e.user_id = :u AND e.is_primary AND (e.created_at >= :since OR e.published_at >= :since)
                ORDER BY e.published_at DESC LIMIT :n
            ) recent
            WHERE NOT EXISTS (SELECT 1 FROM feed_scores sc
                              WHERE sc.user_id = :u AND sc.day = :d AND sc.story_id = recent.story_id)
        """), {"u": user_id, "since": now - SCORE_WINDOW, "d": day, "n": MAX_SCORED}).scalars().all()
    if missing:
        score_stories(session, user_id=user_id, story_ids=list(missing), day=day, now=now)
    return len(missing)


def forget_today(session: Session, *, user_id: int, now: datetime | None = None) -> None:
    """Drop today's scores (after a rating or bookmark): the next page or digest recomputes them."""
    day = settings.local_day(session.get(User, user_id), now)
    session.execute(FeedScore.__table__.delete().where(FeedScore.user_id == user_id, FeedScore.day >= day))
