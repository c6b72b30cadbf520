"""Reading the Feed: a reader's stories, page by page, and what they do with them.

- `list_stories` pages through the reader's stories with keyset pagination (newest or best
  first), filtered by source, category, topic, unread, bookmarked and full-text search. A story
  is a group of near-duplicate items; the reader sees one of *their own* copies of it and every
  one of their sources that carried it. `counts` gives (stories, unread).
- Actions on a story: read/unread (one, several, all), bookmark, rate 1–5, open (a tracked
  click), share (a composer text with the link and an AI caption: `SharePrefill`).

Owns the views of a story (`StoryView`, `StoryFilter`, `StoryPage`, `SharePrefill`) and the
reader's writes to `FeedItemState` (a click in a digest e-mail is `digests.record_click`'s).
Every function is scoped by `user_id`: a story id of someone else is "not found". Following,
importing and managing sources is `sources.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub import ai
from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.models import utcnow
from socialhub.feed import ai_models, scoring, settings
from socialhub.feed.models import FeedEntry, FeedItem, FeedItemState
from socialhub.feed.sources import MAX_CATEGORY
from socialhub.identity.models import User

MAX_QUERY = 200
PAGE_SIZE = 30
SORTS = ("newest", "best")


# ---- views ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StoryView:
    id: int
    item_id: int
    title: str
    url: str
    excerpt: str
    image_url: str
    author: str
    published_at: datetime
    sources: tuple[str, ...]
    source_ids: tuple[int, ...]
    read: bool
    bookmarked: bool
    rating: int | None
    score: scoring.ScoreParts | None  # today's score with its parts and reasons


@dataclass(frozen=True)
class StoryFilter:
    source_id: int | None = None
    category: str = ""
    topic: str = ""
    unread_only: bool = False
    bookmarked_only: bool = False
    query: str = ""
    sort: str = "newest"


@dataclass(frozen=True)
class StoryPage:
    stories: list[StoryView]
    next_cursor: str | None


@dataclass(frozen=True)
class SharePrefill:
    text: str
    url: str
    caption: str
    hashtags: list[str]
    provider_label: str
    note: str = ""


# ---- reading -------------------------------------------------------------------------------------

def _parse_cursor(sort: str, cursor: str) -> tuple[object, int]:
    try:
        kind, key, story_id = cursor.split("|")
        if kind != sort[0]:
            raise ValueError
        return (float(key) if kind == "b" else datetime.fromisoformat(key)), int(story_id)
    except (ValueError, TypeError):
        raise ValidationError("This list changed since it was loaded. Reload the page.") from None


def list_stories(session: Session, *, user_id: int, filters: StoryFilter = StoryFilter(),
                 cursor: str | None = None, limit: int = PAGE_SIZE, now: datetime | None = None) -> StoryPage:
    """One page of the reader's stories; pass `next_cursor` back for the next page.

    Newest first reads the reader's primary entries (one per story) straight off their partial
    index; with a source filter, that source's own entries. Best first reads today's scores,
    so it ranks the stories scored today: the last three days' and any the reader has seen.
    """
    if filters.sort not in SORTS:
        raise ValidationError("Sort by newest or best.")
    query = " ".join(filters.query.replace("\x00", "").split())
    if len(query) > MAX_QUERY:
        raise ValidationError(f"Search for at most {MAX_QUERY} characters.")
    topic = " ".join(filters.topic.replace("\x00", "").split())[:settings.MAX_TOPIC_CHARS]
    limit = max(1, min(limit, 100))
    now = now or utcnow()
    day = settings.local_day(session.get(User, user_id), now)
    if cursor is None:
        scoring.ensure_scores(session, user_id=user_id, now=now)

    params: dict = {"u": user_id, "d": day, "n": limit + 1}
    where = []
    if filters.source_id is not None:
        entries = ("e.user_id = :u AND e.source_id = :source AND NOT e.blocked "
                   "AND EXISTS (SELECT 1 FROM feed_sources s WHERE s.id = e.source_id AND s.enabled)")
        params["source"] = filters.source_id
    else:
        entries = "e.user_id = :u AND e.is_primary"
    if filters.category:
        where.append("AND EXISTS (SELECT 1 FROM feed_item_sources e2 JOIN feed_sources s2 ON s2.id = e2.source_id "
                     "WHERE e2.user_id = :u AND e2.story_id = e.story_id AND NOT e2.blocked AND s2.enabled "
                     "AND s2.category = :category)")
        params["category"] = filters.category[:MAX_CATEGORY]
    if filters.unread_only:
        where.append("AND st.read_at IS NULL")
    if filters.bookmarked_only:
        where.append("AND st.bookmarked_at IS NOT NULL")
    if query:
        where.append("AND i.search @@ websearch_to_tsquery('english', :q)")
        params["q"] = query
    if topic:
        where.append("AND i.search @@ plainto_tsquery('english', :topic)")
        params["topic"] = topic
    columns = """e.story_id, e.item_id, i.title, i.url, i.excerpt, i.image_url, i.author, e.published_at,
               st.read_at IS NOT NULL AS read, st.bookmarked_at IS NOT NULL AS bookmarked, st.rating,
               sc.final, sc.relevance, sc.recency, sc.reliability, sc.engagement, sc.reasons"""
    if filters.sort == "best":
        if cursor:
            params["k_key"], params["k_id"] = _parse_cursor("best", cursor)
            where.append("AND (sc.final, sc.story_id) < (:k_key, :k_id)")
        statement = f"""
            SELECT {columns}
            FROM feed_scores sc
            JOIN feed_item_sources e ON e.story_id = sc.story_id AND {entries}
            JOIN feed_items i ON i.id = e.item_id
            LEFT JOIN feed_item_states st ON st.user_id = :u AND st.story_id = e.story_id
            WHERE sc.user_id = :u AND sc.day = :d {' '.join(where)}
            ORDER BY sc.final DESC, sc.story_id DESC LIMIT :n"""
    else:
        if cursor:
            params["k_key"], params["k_id"] = _parse_cursor("newest", cursor)
            where.append("AND (e.published_at, e.story_id) < (:k_key, :k_id)")
        statement = f"""
            SELECT {columns}
            FROM feed_item_sources e
            JOIN feed_items i ON i.id = e.item_id
            LEFT JOIN feed_item_states st ON st.user_id = :u AND st.story_id = e.story_id
            LEFT JOIN feed_scores sc ON sc.user_id = :u AND sc.day = :d AND sc.story_id = e.story_id
            WHERE {entries} {' '.join(where)}
            ORDER BY e.published_at DESC, e.story_id DESC LIMIT :n"""
    rows = session.execute(text(statement), params).all()
    more = len(rows) > limit
    rows = rows[:limit]
    unscored = [row.story_id for row in rows if row.final is None]
    fresh = scoring.score_stories(session, user_id=user_id, story_ids=unscored, day=day, now=now) if unscored else {}
    carriers = _carriers(session, user_id, [row.story_id for row in rows])
    stories = []
    for row in rows:
        score = fresh.get(row.story_id)
        if score is None and row.final is not None:
            score = scoring.ScoreParts(row.relevance, row.recency, row.reliability, row.engagement, row.final,
                                       tuple(row.reasons or ()))
        ids, names = carriers.get(row.story_id, ((), ()))
        stories.append(StoryView(
            id=row.story_id, item_id=row.item_id, title=row.title, url=row.url, excerpt=row.excerpt,
            image_url=row.image_url, author=row.author, published_at=row.published_at,
            sources=names, source_ids=ids, read=row.read, bookmarked=row.bookmarked, rating=row.rating,
            score=score))
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = (f"b|{last.final!r}|{last.story_id}" if filters.sort == "best"
                       else f"n|{last.published_at.isoformat()}|{last.story_id}")
    return StoryPage(stories=stories, next_cursor=next_cursor)


def _carriers(session: Session, user_id: int, story_ids: list[int]) -> dict[int, tuple[tuple[int, ...], tuple[str, ...]]]:
    """For each story, the reader's visible sources that carry it: (ids, names)."""
    if not story_ids:
        return {}
    rows = session.execute(text("""
        SELECT e.story_id, s.id, s.title
        FROM feed_item_sources e JOIN feed_sources s ON s.id = e.source_id AND s.enabled
        WHERE e.user_id = :u AND e.story_id = ANY(:ids) AND NOT e.blocked
        ORDER BY e.story_id, s.title, s.id
    """), {"u": user_id, "ids": story_ids}).all()
    found: dict[int, tuple[list[int], list[str]]] = {}
    for story_id, source_id, title in rows:
        ids, names = found.setdefault(story_id, ([], []))
        if source_id not in ids:
            ids.append(source_id)
            names.append(title)
    return {story_id: (tuple(ids), tuple(names)) for story_id, (ids, names) in found.items()}


def counts(session: Session, *, user_id: int) -> tuple[int, int]:
    """(stories, unread stories) the reader can see."""
    total, unread = session.execute(text("""
        SELECT count(*), count(*) FILTER (WHERE st.read_at IS NULL)
        FROM feed_item_sources e
        LEFT JOIN feed_item_states st ON st.user_id = e.user_id AND st.story_id = e.story_id
        WHERE e.user_id = :u AND e.is_primary
    """), {"u": user_id}).one()
    return int(total), int(unread)


# ---- actions on stories -----------------------------------------------------------------------

def _visible(session: Session, user_id: int, story_ids: list[int]) -> list[int]:
    if not story_ids:
        return []
    return list(session.execute(text(
        "SELECT DISTINCT story_id FROM feed_item_sources WHERE user_id = :u AND story_id = ANY(:ids)"),
        {"u": user_id, "ids": [int(i) for i in story_ids]}).scalars())


def _require(session: Session, user_id: int, story_id: int) -> int:
    if not _visible(session, user_id, [story_id]):
        raise NotFound("This story is not in your feed.")
    return int(story_id)


def _upsert_state(session: Session, user_id: int, story_ids: list[int], values: dict, *,
                  keep_existing: tuple[str, ...] = ()) -> None:
    """Set these state columns for these stories (rows created as needed)."""
    if not story_ids:
        return
    now = utcnow()
    table = FeedItemState.__table__
    rows = [{"user_id": user_id, "story_id": sid, "click_count": 0, "updated_at": now, **values} for sid in story_ids]
    statement = insert(table)
    updates = {name: (func.coalesce(table.c[name], statement.excluded[name]) if name in keep_existing
                      else statement.excluded[name]) for name in values}
    updates["updated_at"] = statement.excluded.updated_at
    session.execute(statement.on_conflict_do_update(index_elements=["user_id", "story_id"], set_=updates), rows)


def mark_read(session: Session, *, user_id: int, story_ids: list[int], read: bool = True) -> int:
    """Mark stories read (keeping when they were first read) or unread. Returns how many."""
    visible = _visible(session, user_id, story_ids[:500])
    _upsert_state(session, user_id, visible, {"read_at": utcnow() if read else None},
                  keep_existing=("read_at",) if read else ())
    return len(visible)


def mark_all_read(session: Session, *, user_id: int, source_id: int | None = None) -> int:
    """Mark every visible story read (or every story of one source). Returns how many changed."""
    now = utcnow()
    scope = ("e.user_id = :u AND e.source_id = :s AND NOT e.blocked" if source_id is not None
             else "e.user_id = :u AND e.is_primary")
    result = session.execute(text(f"""
        INSERT INTO feed_item_states (user_id, story_id, read_at, click_count, updated_at)
        SELECT DISTINCT :u, e.story_id, CAST(:now AS timestamptz), 0, CAST(:now AS timestamptz)
        FROM feed_item_sources e WHERE {scope}
        ON CONFLICT (user_id, story_id) DO UPDATE SET read_at = EXCLUDED.read_at, updated_at = EXCLUDED.updated_at
        WHERE feed_item_states.read_at IS NULL
    """), {"u": user_id, "now": now, "s": source_id})
    return result.rowcount or 0


def set_bookmark(session: Session, *, user_id: int, story_id: int, bookmarked: bool) -> None:
    story_id = _require(session, user_id, story_id)
    _upsert_state(session, user_id, [story_id], {"bookmarked_at": utcnow() if bookmarked else None})
    scoring.forget_today(session, user_id=user_id)  # what the reader likes changed


def rate_story(session: Session, *, user_id: int, story_id: int, rating: int | None) -> None:
    """Rate 1–5 (None clears the rating). Rating a story also marks it read."""
    if rating is not None and (not isinstance(rating, int) or not 1 <= rating <= 5):
        raise ValidationError("Rate a story from 1 to 5 stars.")
    story_id = _require(session, user_id, story_id)
    _upsert_state(session, user_id, [story_id], {"rating": rating, "read_at": utcnow()}, keep_existing=("read_at",))
    scoring.forget_today(session, user_id=user_id)  # what the reader likes changed


def _display_item(session: Session, user_id: int, story_id: int) -> FeedItem:
    item_id = session.execute(text(
        "SELECT item_id FROM feed_item_sources WHERE user_id = :u AND story_id = :s "
        "ORDER BY is_primary DESC, item_id LIMIT 1"), {"u": user_id, "s": int(story_id)}).scalar()
    if item_id is None:
        raise NotFound("This story is not in your feed.")
    return session.get(FeedItem, item_id)


def open_story(session: Session, *, user_id: int, story_id: int) -> str:
    """Record a click on the story (it counts as read) and return its link."""
    item = _display_item(session, user_id, story_id)
    now = utcnow()
    table = FeedItemState.__table__
    statement = insert(table).values(user_id=user_id, story_id=int(story_id), read_at=now, clicked_at=now,
                                     click_count=1, updated_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "story_id"],
        set_={"clicked_at": now, "click_count": table.c.click_count + 1, "updated_at": now,
              "read_at": func.coalesce(table.c.read_at, now)}))
    return item.url


def share_story(session: Session, *, user_id: int, story_id: int) -> SharePrefill:
    """A post to share the story: an AI caption, the link and hashtags, for the composer."""
    item = _display_item(session, user_id, story_id)
    model, _ = ai_models.models_for_user(session, user_id=user_id)
    body = f"{item.title}. {item.text[:3000]}"
    note = ""
    try:
        caption = model.summarize(body, max_words=35)
        hashtags = model.hashtags(body, 3)
    except ai.AIError as exc:
        caption, hashtags = item.title, []
        note = f"The caption is the story's title: {exc}"
    parts = [caption, item.url] + ([" ".join(hashtags)] if hashtags else [])
    _upsert_state(session, user_id, [int(story_id)], {"shared_at": utcnow()})
    return SharePrefill(text="\n\n".join(p for p in parts if p), url=item.url, caption=caption, hashtags=hashtags,
                        provider_label=model.label, note=note)


def entries_of(session: Session, *, user_id: int, story_id: int) -> list[FeedEntry]:
    return list(session.exec(select(FeedEntry).where(FeedEntry.user_id == user_id, FeedEntry.story_id == story_id)))
