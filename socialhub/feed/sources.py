"""Feed: a reader's sources and stories, and what they do with them.

- Sources: add by feed or website address (fetched once to check it, discover the feed behind
  a page and show its stories at once), OPML import (stored at once, fetched by the scheduler)
  and export, suggested sources, rename, categories, enable/disable, delete, refresh now.
- Reading: `list_stories` pages through the reader's stories with keyset pagination (newest or
  best first), filtered by source, category, topic, unread, bookmarked and full-text search.
  A story is a group of near-duplicate items; the reader sees one of *their own* copies of it
  and every one of their sources that carried it.
- Actions: read/unread (one, several, all), bookmark, rate 1–5, open (a tracked click), share
  (a composer text with the link and an AI caption).

Every function is scoped by `user_id`: a story id or source id of someone else is "not found".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote, urlsplit, urlunsplit

from sqlalchemy import func, text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.core.db import session_scope
from socialhub import ai
from socialhub.feed.ingest import (
    build_opml,
    FeedError,
    fetch_feed,
    OpmlError,
    OpmlOutline,
    parse_opml,
    SUGGESTED_SOURCES,
    SuggestedSource,
)
from socialhub.feed.ingest.discovery import DocumentKind, sniff
from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.feed.models import FeedEntry, FeedItem, FeedItemState, FeedSource
from socialhub.feed import ai_models, primary, refresh, scoring, settings
from socialhub.core.errors import NotFound, ValidationError
from socialhub.feed.prepare import prepare_parsed

MAX_SOURCES = 2000
MAX_URL = 2000
MAX_CATEGORY = 100
MAX_TITLE = 300
MAX_QUERY = 200
MAX_OPML_UPLOAD = 2_000_000
ADD_TIMEOUT_S = 15.0
PAGE_SIZE = 30
SORTS = ("newest", "best")

SessionFactory = Callable[[], AbstractContextManager[Session]]


# ---- views ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceView:
    id: int
    title: str
    url: str
    site_url: str
    category: str
    enabled: bool
    error_count: int
    last_error: str
    last_fetched_at: datetime | None
    next_fetch_at: datetime
    total: int
    unread: int


@dataclass(frozen=True)
class ScoreView:
    final: float
    relevance: float
    recency: float
    reliability: float
    engagement: float
    reasons: tuple[str, ...]


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
    score: ScoreView | None


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
class ImportReport:
    added: int
    already: int
    skipped: int

    def sentence(self) -> str:
        parts = [f"Added {self.added} source{'s' if self.added != 1 else ''}"]
        if self.already:
            parts.append(f"{self.already} you already follow")
        if self.skipped:
            parts.append(f"{self.skipped} skipped (not a web address)")
        return ", ".join(parts) + ". New sources are fetched within a minute."


@dataclass(frozen=True)
class SharePrefill:
    text: str
    url: str
    caption: str
    hashtags: list[str]
    provider_label: str
    note: str = ""


# ---- input -------------------------------------------------------------------------------------

def clean_feed_url(raw: str) -> str:
    """A fetchable http(s) address: scheme added if missing, host punycoded, no spaces."""
    url = (raw or "").strip()
    if not url:
        raise ValidationError("Enter the address of a feed or a website.")
    if len(url) > MAX_URL:
        raise ValidationError(f"That address is too long (at most {MAX_URL} characters).")
    if any(c.isspace() or ord(c) < 32 or c == "\x7f" for c in url):
        raise ValidationError("That address contains spaces or control characters.")
    lowered = url.lower()
    if lowered.startswith("feed://"):
        url = "http://" + url[7:]
    elif lowered.startswith("feed:"):
        url = url[5:]
    scheme = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*):(?!\d)", url)
    if scheme and scheme.group(1).lower() not in ("http", "https"):  # javascript:, file:, data: …
        raise ValidationError("Use a web address starting with http:// or https://.")
    if "://" not in url.split("?")[0]:
        url = "https://" + url.lstrip("/")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError:
        raise ValidationError("That is not a web address.") from None
    if parts.scheme.lower() not in ("http", "https") or not host:
        raise ValidationError("Use a web address starting with http:// or https://.")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError("The site name in that address is not valid.") from None
    netloc = host + (f":{port}" if port else "")
    if ":" in host:  # IPv6 literal
        netloc = f"[{host}]" + (f":{port}" if port else "")
    url = urlunsplit((parts.scheme.lower(), netloc, quote(parts.path, safe="/%:@!$&'()*+,;=~"),
                      quote(parts.query, safe="=&%:@!$'()*+,;/?~"), ""))
    if len(url) > MAX_URL:
        raise ValidationError(f"That address is too long (at most {MAX_URL} characters).")
    return url


def _clean_text(value: str, limit: int, label: str) -> str:
    value = " ".join((value or "").replace("\x00", "").split())
    if len(value) > limit:
        raise ValidationError(f"Use at most {limit} characters for the {label}.")
    return value


# ---- sources -------------------------------------------------------------------------------------

def _owned_source(session: Session, *, user_id: int, source_id: int) -> FeedSource:
    source = session.get(FeedSource, source_id)
    if source is None or source.user_id != user_id:
        raise NotFound("This source no longer exists.")
    return source


def _follows(session: Session, user_id: int, url: str) -> FeedSource | None:
    return session.exec(select(FeedSource).where(FeedSource.user_id == user_id, FeedSource.url == url)).first()


def _source_count(session: Session, user_id: int) -> int:
    return session.exec(select(func.count()).select_from(FeedSource).where(FeedSource.user_id == user_id)).one()


def add_source(session: Session, *, user_id: int, url: str, category: str = "", title: str = "") -> FeedSource:
    """Follow a feed, given its address or a website's: fetched now, so its stories show at once."""
    url = clean_feed_url(url)
    category = _clean_text(category, MAX_CATEGORY, "category")
    title = _clean_text(title, MAX_TITLE, "name")
    existing = _follows(session, user_id, url)
    if existing is not None:
        raise ValidationError(f"You already follow this feed ({existing.title}).")
    if _source_count(session, user_id) >= MAX_SOURCES:
        raise ValidationError(f"You follow {MAX_SOURCES} sources, the most one reader can. Remove some first.")
    try:
        result = fetch_feed(url, timeout=ADD_TIMEOUT_S)
    except FeedError as exc:
        raise ValidationError(str(exc)) from exc
    feed_url = result.next_url[:MAX_URL]
    existing = _follows(session, user_id, feed_url)
    if existing is not None:
        raise ValidationError(f"You already follow this feed ({existing.title}).")
    now = utcnow()
    prepared = prepare_parsed(result.feed, feed_url=feed_url, now=now)
    source = FeedSource(
        user_id=user_id, url=feed_url, site_url=prepared.site_url, category=category,
        title=title or prepared.title or urlsplit(feed_url).hostname or feed_url,
        etag=(result.etag or None) and result.etag[:500],
        last_modified=(result.last_modified or None) and result.last_modified[:100],
        next_fetch_at=refresh.next_fetch_after_success(refresh.DEFAULT_INTERVAL_S, now),
        last_fetched_at=now, last_success_at=now,
        last_error=("Read with problems: " + "; ".join(prepared.warnings))[:1000] if prepared.warnings else "",
    )
    session.add(source)
    session.flush()
    refresh.ingest_items(
        session, [(refresh.SourceRef(source.id, user_id, feed_url), prepared.items)], now=now)
    settings.get_or_create(session, user_id=user_id)
    return source


def _insert_sources(session: Session, *, user_id: int, rows: list[dict]) -> int:
    """Store sources without fetching them (the scheduler fetches them within a minute)."""
    if not rows:
        return 0
    now = utcnow()
    table = FeedSource.__table__
    values = [{"user_id": user_id, "url": r["url"], "site_url": r.get("site_url", ""), "title": r["title"],
               "category": r.get("category", ""), "enabled": True, "fetch_interval_s": refresh.DEFAULT_INTERVAL_S,
               "next_fetch_at": now, "error_count": 0, "last_error": "", "created_at": now} for r in rows]
    statement = insert(table).on_conflict_do_nothing(index_elements=["user_id", "url"]).returning(table.c.id)
    added = 0
    for start in range(0, len(values), 1000):
        added += len(session.execute(statement, values[start:start + 1000]).all())
    settings.get_or_create(session, user_id=user_id)
    return added


def import_opml(session: Session, *, user_id: int, data: bytes) -> ImportReport:
    """Follow every feed of an OPML file (categories from its folders)."""
    if not data:
        raise ValidationError("This file is empty. Export your subscriptions as OPML and choose that file.")
    if len(data) > MAX_OPML_UPLOAD:
        raise ValidationError("This file is larger than 2 MB; a subscription list in OPML is much smaller.")
    kind, description = sniff(data, None)
    if kind in (DocumentKind.BINARY, DocumentKind.JSON):
        raise ValidationError(f"This file is {description if kind is DocumentKind.BINARY else 'JSON'}, "
                              "not an OPML file.")
    try:
        outlines = parse_opml(data)
    except OpmlError as exc:
        raise ValidationError(str(exc)) from exc
    if not outlines:
        raise ValidationError("This OPML file lists no feeds.")
    rows, skipped = [], 0
    for outline in outlines:
        try:
            url = clean_feed_url(outline.xml_url)
        except ValidationError:
            skipped += 1
            continue
        rows.append({"url": url, "title": _clip(outline.title or url, MAX_TITLE),
                     "site_url": _clip(outline.html_url or "", MAX_URL),
                     "category": _clip(outline.category or "", MAX_CATEGORY)})
    room = MAX_SOURCES - _source_count(session, user_id)
    if len(rows) > room:
        raise ValidationError(f"This file lists {len(rows)} feeds; you can follow {room} more. "
                              "Remove some sources or split the file.")
    added = _insert_sources(session, user_id=user_id, rows=rows)
    return ImportReport(added=added, already=len(rows) - added, skipped=skipped)


def _clip(value: str, limit: int) -> str:
    return " ".join(value.replace("\x00", "").split())[:limit]


def export_opml(session: Session, *, user_id: int) -> bytes:
    sources = session.exec(select(FeedSource).where(FeedSource.user_id == user_id)
                           .order_by(FeedSource.category, FeedSource.title)).all()
    return build_opml([OpmlOutline(title=s.title, xml_url=s.url, html_url=s.site_url or None,
                                   category=s.category or None) for s in sources])


def suggestions(session: Session, *, user_id: int) -> list[SuggestedSource]:
    """Well-known sources the reader does not follow yet."""
    followed = set(session.exec(select(FeedSource.url).where(FeedSource.user_id == user_id)))
    return [s for s in SUGGESTED_SOURCES if s.feed_url not in followed]


def add_suggested(session: Session, *, user_id: int, feed_urls: list[str]) -> int:
    known = {s.feed_url: s for s in SUGGESTED_SOURCES}
    picked = [known[url] for url in feed_urls if url in known]
    if not picked:
        raise ValidationError("Choose one of the suggested sources.")
    return _insert_sources(session, user_id=user_id, rows=[
        {"url": s.feed_url, "title": s.name, "category": s.category} for s in picked])


def list_sources(session: Session, *, user_id: int) -> list[SourceView]:
    """The reader's sources with how many stories each carries and how many are unread."""
    rows = session.execute(text("""
        SELECT s.id, s.title, s.url, s.site_url, s.category, s.enabled, s.error_count, s.last_error,
               s.last_fetched_at, s.next_fetch_at, coalesce(c.total, 0), coalesce(c.unread, 0)
        FROM feed_sources s
        LEFT JOIN (
            SELECT e.source_id, count(*) AS total, count(*) FILTER (WHERE st.read_at IS NULL) AS unread
            FROM feed_item_sources e
            LEFT JOIN feed_item_states st ON st.user_id = e.user_id AND st.item_id = e.story_id
            WHERE e.user_id = :u AND NOT e.blocked
            GROUP BY e.source_id
        ) c ON c.source_id = s.id
        WHERE s.user_id = :u
        ORDER BY s.category, lower(s.title), s.id
    """), {"u": user_id}).all()
    return [SourceView(*row) for row in rows]


def categories(session: Session, *, user_id: int) -> list[str]:
    return sorted(set(session.exec(select(FeedSource.category).where(
        FeedSource.user_id == user_id, FeedSource.category != ""))))


def update_source(session: Session, *, user_id: int, source_id: int, title: str | None = None,
                  category: str | None = None, enabled: bool | None = None) -> FeedSource:
    source = _owned_source(session, user_id=user_id, source_id=source_id)
    if title is not None:
        title = _clean_text(title, MAX_TITLE, "name")
        if not title:
            raise ValidationError("Give the source a name.")
        source.title = title
    if category is not None:
        source.category = _clean_text(category, MAX_CATEGORY, "category")
    if enabled is not None:
        source.enabled = bool(enabled)
        if enabled and source.next_fetch_at > utcnow():
            source.next_fetch_at = utcnow()  # re-enabled: fetch it now rather than at the old time
    session.add(source)
    session.flush()
    if enabled is not None:
        primary.refresh_primary(session, user_id=user_id)
    return source


def delete_source(session: Session, *, user_id: int, source_id: int) -> None:
    """Stop following a source; its stories leave the feed unless another source carries them."""
    session.delete(_owned_source(session, user_id=user_id, source_id=source_id))
    session.flush()
    primary.refresh_primary(session, user_id=user_id)


def refresh_now(*, session_factory: SessionFactory = session_scope, user_id: int,
                source_ids: list[int] | None = None) -> refresh.RefreshReport:
    """Fetch the reader's sources (or these ones) right now instead of at their next time."""
    with session_factory() as session:
        stmt = select(FeedSource.id).where(FeedSource.user_id == user_id, FeedSource.enabled)
        if source_ids is not None:
            stmt = stmt.where(FeedSource.id.in_(source_ids))
        ids = list(session.exec(stmt))
    if source_ids is not None and not ids:
        raise NotFound("This source no longer exists or is turned off.")
    report = refresh.RefreshReport()
    for start in range(0, len(ids), refresh.BATCH):
        report.add(refresh.refresh_sources(session_factory=session_factory, user_id=user_id,
                                                 source_ids=ids[start:start + refresh.BATCH]))
    return report


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
            where.append("AND (sc.final, sc.item_id) < (:k_key, :k_id)")
        statement = f"""
            SELECT {columns}
            FROM feed_scores sc
            JOIN feed_item_sources e ON e.story_id = sc.item_id AND {entries}
            JOIN feed_items i ON i.id = e.item_id
            LEFT JOIN feed_item_states st ON st.user_id = :u AND st.item_id = e.story_id
            WHERE sc.user_id = :u AND sc.day = :d {' '.join(where)}
            ORDER BY sc.final DESC, sc.item_id DESC LIMIT :n"""
    else:
        if cursor:
            params["k_key"], params["k_id"] = _parse_cursor("newest", cursor)
            where.append("AND (e.published_at, e.story_id) < (:k_key, :k_id)")
        statement = f"""
            SELECT {columns}
            FROM feed_item_sources e
            JOIN feed_items i ON i.id = e.item_id
            LEFT JOIN feed_item_states st ON st.user_id = :u AND st.item_id = e.story_id
            LEFT JOIN feed_scores sc ON sc.user_id = :u AND sc.day = :d AND sc.item_id = e.story_id
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
        parts = fresh.get(row.story_id)
        if parts is not None:
            score = ScoreView(parts.final, parts.relevance, parts.recency, parts.reliability, parts.engagement,
                              parts.reasons)
        elif row.final is not None:
            score = ScoreView(row.final, row.relevance, row.recency, row.reliability, row.engagement,
                              tuple(row.reasons or ()))
        else:
            score = None
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
        LEFT JOIN feed_item_states st ON st.user_id = e.user_id AND st.item_id = e.story_id
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
    rows = [{"user_id": user_id, "item_id": sid, "click_count": 0, "updated_at": now, **values} for sid in story_ids]
    statement = insert(table)
    updates = {name: (func.coalesce(table.c[name], statement.excluded[name]) if name in keep_existing
                      else statement.excluded[name]) for name in values}
    updates["updated_at"] = statement.excluded.updated_at
    session.execute(statement.on_conflict_do_update(index_elements=["user_id", "item_id"], set_=updates), rows)


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
        INSERT INTO feed_item_states (user_id, item_id, read_at, click_count, updated_at)
        SELECT DISTINCT :u, e.story_id, CAST(:now AS timestamptz), 0, CAST(:now AS timestamptz)
        FROM feed_item_sources e WHERE {scope}
        ON CONFLICT (user_id, item_id) DO UPDATE SET read_at = EXCLUDED.read_at, updated_at = EXCLUDED.updated_at
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
    statement = insert(table).values(user_id=user_id, item_id=int(story_id), read_at=now, clicked_at=now,
                                     click_count=1, updated_at=now)
    session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "item_id"],
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
