"""Step 4 of a refresh: storing what was fetched and parsed (see `refresh.py` for the round).

Each source's items are matched by guid; changed ones are rewritten, new ones inserted (`COPY`
into a temporary table, `INSERT … ON CONFLICT DO NOTHING`) and grouped into stories (the same
link from another feed, or a near-duplicate in the recent window: `StoryIndex`); the readers'
entries are inserted and their rules applied; every source gets its outcome: validators, the
new URL after a permanent redirect, the next fetch time (interval with jitter, or exponential
backoff after an error), the error to show, and its claim released. One short transaction per
call; never any network I/O.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, text, update
from sqlmodel import Session

from socialhub.feed import primary, rules
from socialhub.feed.grouping import StoryIndex
from socialhub.feed.ingest import (
    FeedError,
    FeedHTTPError,
    FetchResult,
)
from socialhub.feed.models import FeedRule, FeedSource
from socialhub.feed.prepare import (
    ParseFailure,
    PreparedFeed,
    PreparedItem,
)

log = logging.getLogger(__name__)

FIRST_RETRY_S = 300


MAX_BACKOFF_S = 24 * 3600


JITTER = 0.1


STORY_WINDOW = timedelta(hours=48)


STORY_WINDOW_ITEMS = 20_000


INSERT_CHUNK = 2000


@dataclass
class RefreshReport:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    items_new: int = 0
    items_updated: int = 0
    entries_new: int = 0
    duplicates_merged: int = 0
    """New entries that joined an existing story: the same link from another source, or a
    near-duplicate under another link."""
    near_duplicates: int = 0
    errors: dict[int, str] = field(default_factory=dict)

    def add(self, other: RefreshReport) -> None:
        for f in fields(self):
            if f.name == "errors":
                self.errors.update(other.errors)
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


@dataclass(frozen=True)
class ClaimedSource:
    id: int
    user_id: int
    url: str
    title: str
    site_url: str
    etag: str | None
    last_modified: str | None
    fetch_interval_s: int
    error_count: int



@dataclass(frozen=True)
class SourceRef:
    id: int
    user_id: int
    feed_url: str


@dataclass
class IngestCounts:
    items_new: int = 0
    items_updated: int = 0
    entries_new: int = 0
    duplicates_merged: int = 0
    near_duplicates: int = 0
    entry_ids_by_user: dict[int, list[int]] = field(default_factory=dict)


def _load_story_window(session: Session, now: datetime) -> StoryIndex:
    index = StoryIndex()
    rows = session.execute(text("""
        SELECT i.id, coalesce(i.story_id, i.id), i.title, left(i.text, 1500), i.fingerprint, s.url
        FROM (SELECT id FROM feed_items WHERE first_seen_at >= :since ORDER BY id DESC LIMIT :n) recent
        JOIN feed_items i ON i.id = recent.id
        JOIN feed_sources s ON s.id = i.source_id
    """), {"since": now - STORY_WINDOW, "n": STORY_WINDOW_ITEMS}).all()
    for item_id, story_id, title, text_, fingerprint, feed in rows:
        index.add(item_id=item_id, story_id=story_id, title=title, text=text_, fingerprint=fingerprint,
                  feeds={feed})
    return index


ITEM_COLUMNS = (("id", "bigint"), ("source_id", "bigint"), ("guid_key", "text"), ("link_key", "text"),
                ("url", "text"), ("title", "text"), ("author", "text"), ("content_html", "text"), ("text", "text"),
                ("excerpt", "text"), ("image_url", "text"), ("tags", "text[]"), ("published_at", "timestamptz"),
                ("first_seen_at", "timestamptz"), ("fingerprint", "bigint"), ("content_hash", "bigint"),
                ("story_id", "bigint"))


CHANGED_COLUMNS = (("id", "bigint"), ("guid_key", "text"), ("link_key", "text"), ("url", "text"), ("title", "text"),
                   ("author", "text"), ("content_html", "text"), ("text", "text"), ("excerpt", "text"),
                   ("image_url", "text"), ("tags", "text[]"), ("fingerprint", "bigint"), ("content_hash", "bigint"))


ENTRY_COLUMNS = (("user_id", "bigint"), ("source_id", "bigint"), ("item_id", "bigint"), ("story_id", "bigint"),
                 ("published_at", "timestamptz"), ("blocked", "boolean"), ("is_primary", "boolean"),
                 ("created_at", "timestamptz"))


LINK_CANDIDATES = 20
"""Items of other feeds looked at per link (the oldest first): a link that hundreds of items
share (a podcast's home page) is no story's identity."""


def _stage(session: Session, table: str, columns: tuple[tuple[str, str], ...], rows: list[dict]) -> str:
    """COPY rows into this table's temporary staging table; returns its name.

    Thousands of rows per refresh: COPY streams them in one round trip without building (and
    having the driver parse) a statement with tens of thousands of placeholders.
    """
    stage = f"_sh_stage_{table}"
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                         f"({', '.join(f'{n} {t}' for n, t in columns)}) ON COMMIT DELETE ROWS"))
    session.execute(text(f"DELETE FROM {stage}"))
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({', '.join(name for name, _ in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name, _ in columns))
    return stage


def _bulk_insert(session: Session, table: str, columns: tuple[tuple[str, str], ...], rows: list[dict], *,
                 conflict: str, returning: str) -> list:
    """INSERT … ON CONFLICT … RETURNING for many rows, loaded with COPY into a temporary table."""
    if not rows:
        return []
    stage = _stage(session, table, columns, rows)
    names = ", ".join(name for name, _ in columns)
    result = session.execute(text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "
                                  f"ON CONFLICT {conflict} RETURNING {returning}")).all()
    return [row[0] for row in result] if "," not in returning else [tuple(row) for row in result]


def _bulk_update_items(session: Session, rows: list[dict]) -> list[int]:
    """Rewrite these items (by id) with what their feed says now; returns their ids."""
    if not rows:
        return []
    stage = _stage(session, "feed_items_changed", CHANGED_COLUMNS, rows)
    sets = ", ".join(f"{name} = c.{name}" for name, _ in CHANGED_COLUMNS if name != "id")
    ids = session.execute(text(f"UPDATE feed_items i SET {sets} FROM {stage} c WHERE i.id = c.id "
                               "RETURNING i.id")).scalars().all()
    return list(ids)


def _chunks(rows: list, size: int = INSERT_CHUNK):
    for start in range(0, len(rows), size):
        yield rows[start:start + size]


class StoryWindow:
    """The recent stories new items are compared with, loaded once and reused across the
    rounds of one refresh run (each round adds its new items to it)."""

    def __init__(self) -> None:
        self.index: StoryIndex | None = None

    def get(self, session: Session, now: datetime) -> StoryIndex:
        if self.index is None:
            self.index = _load_story_window(session, now)
        return self.index


def _item_row(item: PreparedItem) -> dict:
    return {"guid_key": item.guid_key, "link_key": item.link_key, "url": item.url, "title": item.title,
            "author": item.author, "content_html": item.content_html, "text": item.text, "excerpt": item.excerpt,
            "image_url": item.image_url, "tags": list(item.tags), "fingerprint": item.fingerprint,
            "content_hash": item.content_hash}


def _known_items(session: Session, keys: list[tuple[int, str]]) -> dict[tuple[int, str], tuple[int, int, int]]:
    """(source id, guid key) -> (item id, story id, content hash) of the items already stored."""
    known = {}
    for chunk in _chunks(keys, 5000):
        for item_id, source_id, guid_key, story_id, digest in session.execute(text("""
                SELECT i.id, i.source_id, i.guid_key, coalesce(i.story_id, i.id), i.content_hash
                FROM unnest(CAST(:s AS bigint[]), CAST(:g AS text[])) AS k(source_id, guid_key)
                JOIN feed_items i ON i.source_id = k.source_id AND i.guid_key = k.guid_key
            """), {"s": [k[0] for k in chunk], "g": [k[1] for k in chunk]}):
            known[(source_id, guid_key)] = (item_id, story_id, digest)
    return known


def _adopt_legacy(session: Session, missing: list[tuple[SourceRef, PreparedItem]],
                  known: dict[tuple[int, str], tuple[int, int, int]]) -> set[int]:
    """Items stored before items were per source have no guid key: match them by link (or
    title, without a link) to this fetch's items, so they are updated rather than stored twice.
    Returns the adopted item ids (their guid key is set by the update that follows)."""
    source_ids = sorted({source.id for source, _ in missing})
    legacy: dict[tuple[int, str], list[tuple[int, int, int]]] = {}
    for item_id, source_id, link_key, title, story_id, digest in session.execute(text("""
            SELECT id, source_id, link_key, title, coalesce(story_id, id), content_hash
            FROM feed_items WHERE source_id = ANY(:s) AND guid_key IS NULL ORDER BY id
        """), {"s": source_ids}):
        legacy.setdefault((source_id, link_key or "title:" + title), []).append((item_id, story_id, digest))
    adopted = set()
    if not legacy:
        return adopted
    for source, item in missing:
        candidates = legacy.get((source.id, item.link_key or "title:" + item.title))
        if candidates:
            item_id, story_id, _ = candidates.pop(0)
            known[(source.id, item.guid_key)] = (item_id, story_id, 0)  # 0: rewrite it, with its guid key
            adopted.add(item_id)
    return adopted


def _link_candidates(session: Session, link_keys: list[str]) -> dict[str, list[tuple[int, int, str]]]:
    """link key -> [(item id, story id, feed URL)] of stored items with that link, oldest first."""
    found: dict[str, list[tuple[int, int, str]]] = {}
    for chunk in _chunks(link_keys, 5000):
        for key, item_id, story_id, feed in session.execute(text("""
                SELECT k.key, c.id, c.story_id, c.url
                FROM unnest(CAST(:keys AS text[])) AS k(key)
                CROSS JOIN LATERAL (
                    SELECT i.id, coalesce(i.story_id, i.id) AS story_id, s.url
                    FROM feed_items i JOIN feed_sources s ON s.id = i.source_id
                    WHERE i.link_key = k.key ORDER BY i.id LIMIT :n) c
                ORDER BY c.id
            """), {"keys": chunk, "n": LINK_CANDIDATES}):
            found.setdefault(key, []).append((item_id, story_id, feed))
    return found


def ingest_items(session: Session, batch: list[tuple[SourceRef, tuple[PreparedItem, ...]]], *,
                 now: datetime, window: StoryWindow | None = None) -> IngestCounts:
    """Store prepared items for these sources: each source's items by guid (new ones inserted and
    grouped into stories, changed ones rewritten), one entry per new item, and each reader's
    rules applied to their new and changed entries."""
    counts = IngestCounts()
    wanted: dict[tuple[int, str], tuple[SourceRef, PreparedItem]] = {}
    for source, items in batch:
        for item in items:
            wanted.setdefault((source.id, item.guid_key), (source, item))
    if not wanted:
        return counts
    known = _known_items(session, list(wanted))
    missing = [pair for key, pair in wanted.items() if key not in known]
    adopted = _adopt_legacy(session, missing, known) if missing else set()

    # Items the feed changed since they were stored (and adopted ones) are rewritten.
    changed = [{"id": known[key][0], **_item_row(item)} for key, (_, item) in wanted.items()
               if key in known and known[key][2] != item.content_hash]
    changed_ids = _bulk_update_items(session, changed)
    counts.items_updated = len(changed_ids) - len(adopted & set(changed_ids))

    # New items: ids first (so a story can point at an item inserted in the same statement).
    fresh = [(key, source, item) for key, (source, item) in wanted.items() if key not in known]
    created: set[int] = set()
    new_items: dict[tuple[int, str], tuple[int, int]] = {}
    if fresh:
        ids = session.execute(text("SELECT nextval(pg_get_serial_sequence('feed_items', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": len(fresh)}).scalars().all()
        index = (window or StoryWindow()).get(session, now)
        by_link = _link_candidates(session, sorted({item.link_key for _, _, item in fresh if item.link_key}))
        story_feeds: dict[int, set[str]] = {}
        for candidates in by_link.values():
            for _, story_id, feed in candidates:
                story_feeds.setdefault(story_id, set()).add(feed)
        rows = []
        for new_id, (key, source, item) in zip(ids, fresh):
            feed = source.feed_url
            story_id = None
            # The same link in another feed is the same story, unless that story already has
            # an item of this feed (a feed's own items sharing a link are its own stories).
            for _, candidate_story, candidate_feed in by_link.get(item.link_key or "", ()):
                if candidate_feed != feed and feed not in story_feeds.get(candidate_story, ()) \
                        and feed not in index.story_feeds(candidate_story):
                    story_id = candidate_story
                    break
            if story_id is None:
                story_id = index.find(title=item.title, text=item.text, fingerprint=item.fingerprint, feed=feed)
                if story_id is not None:
                    counts.near_duplicates += 1
            if story_id is None:
                story_id = new_id
                created.add(new_id)
            else:
                counts.duplicates_merged += 1
            index.add(item_id=new_id, story_id=story_id, title=item.title, text=item.text[:1500],
                      fingerprint=item.fingerprint, feeds={feed})
            story_feeds.setdefault(story_id, set()).add(feed)
            if item.link_key:
                by_link.setdefault(item.link_key, []).append((new_id, story_id, feed))
            rows.append({"id": new_id, "source_id": source.id, **_item_row(item), "published_at": item.published,
                         "first_seen_at": now, "story_id": story_id})
        inserted = set(_bulk_insert(session, "feed_items", ITEM_COLUMNS, rows,
                                    conflict="(source_id, guid_key) DO NOTHING", returning="id"))
        counts.items_new = len(inserted)
        for row in rows:
            if row["id"] in inserted:
                new_items[(row["source_id"], row["guid_key"])] = (row["id"], row["story_id"])
        created &= inserted

    # One entry per new item. A story created in this batch has no other entries anywhere: its
    # first entry per reader is the one they see (decided here, cheaply). Entries joining an
    # older story get their flag from `refresh_primary` below.
    entries, shown = [], set()
    for key, (source, item) in wanted.items():
        if key not in new_items:
            continue
        item_id, story_id = new_items[key]
        shown_first = story_id in created and (source.user_id, story_id) not in shown
        if shown_first:
            shown.add((source.user_id, story_id))
        entries.append({"user_id": source.user_id, "source_id": source.id, "item_id": item_id,
                        "story_id": story_id, "published_at": item.published, "blocked": False,
                        "is_primary": shown_first, "created_at": now})
    new_entries = _bulk_insert(session, "feed_item_sources", ENTRY_COLUMNS, entries,
                               conflict="(source_id, item_id) DO NOTHING", returning="id, user_id, item_id, story_id")
    counts.entries_new = len(new_entries)
    older_stories: list[int] = []
    for entry_id, user_id, item_id, story_id in new_entries:
        counts.entry_ids_by_user.setdefault(user_id, []).append(entry_id)
        if story_id not in created:
            older_stories.append(entry_id)
    # What rules decide depends on the text: a changed item is judged again.
    judge = {user_id: list(ids) for user_id, ids in counts.entry_ids_by_user.items()}
    if changed_ids:
        for entry_id, user_id in session.execute(text(
                "SELECT id, user_id FROM feed_item_sources WHERE item_id = ANY(:ids)"), {"ids": changed_ids}):
            judge.setdefault(user_id, []).append(entry_id)
    ruled = _apply_rules(session, judge)
    recheck = set(older_stories) | {i for user_id in ruled for i in judge[user_id]}
    primary.refresh_primary(session, entry_ids=sorted(recheck))
    return counts


def _apply_rules(session: Session, entry_ids_by_user: dict[int, list[int]]) -> set[int]:
    """Apply each reader's rules to their new entries; returns the readers who have rules."""
    if not entry_ids_by_user:
        return set()
    with_rules = set(session.execute(
        select(FeedRule.user_id).where(FeedRule.user_id.in_(list(entry_ids_by_user)), FeedRule.disabled_at.is_(None))
        .distinct()).scalars())
    for user_id in with_rules:
        try:
            rules.apply_rules(session, user_id=user_id, entry_ids=entry_ids_by_user[user_id])
        except rules.PatternTooSlow:  # (slow rules are turned off inside; this is a last resort)
            log.warning("rules of user %s timed out on new items; they stay visible", user_id)
    return with_rules


def next_fetch_after_success(interval_s: int, now: datetime) -> datetime:
    return now + timedelta(seconds=interval_s * random.uniform(1 - JITTER, 1 + JITTER))


def next_fetch_after_error(error_count: int, now: datetime, retry_after: float | None = None) -> datetime:
    """Exponential backoff: 5 min, 10, 20 … up to a day, with jitter; at least Retry-After."""
    delay = min(MAX_BACKOFF_S, FIRST_RETRY_S * 2 ** max(0, min(error_count - 1, 16)))
    delay = max(delay * random.uniform(1 - JITTER, 1 + JITTER), retry_after or 0)
    return now + timedelta(seconds=min(delay, MAX_BACKOFF_S))


def store_results(session: Session, claimed: list[ClaimedSource], outcomes: list[FetchResult | FeedError],
                  prepared: dict[int, PreparedFeed | ParseFailure], *, now: datetime,
                  window: StoryWindow | None = None) -> RefreshReport:
    report = RefreshReport(sources=len(claimed))
    batch: list[tuple[SourceRef, tuple[PreparedItem, ...]]] = []
    updates: list[dict] = []
    moved: dict[int, str] = {}
    for source, outcome in zip(claimed, outcomes):
        row = {"b_id": source.id, "claimed_until": None, "last_fetched_at": now, "url": source.url,
               "title": source.title, "site_url": source.site_url}
        parsed = prepared.get(source.id)
        error: str | None = None
        retry_after = None
        if isinstance(outcome, FeedError):
            error = str(outcome)
            if isinstance(outcome, FeedHTTPError):
                retry_after = outcome.retry_after
        elif isinstance(parsed, ParseFailure):
            error = parsed.message
        if error is not None:
            report.failed += 1
            report.errors[source.id] = error
            count = source.error_count + 1
            row.update(etag=source.etag, last_modified=source.last_modified, error_count=count,
                       last_error=error[:1000], last_success_at=None,
                       next_fetch_at=next_fetch_after_error(count, now, retry_after))
            updates.append(row)
            continue
        assert isinstance(outcome, FetchResult)
        if outcome.next_url != source.url and len(outcome.next_url) <= 2000:
            moved[source.id] = outcome.next_url
        row.update(etag=(outcome.etag or None) and outcome.etag[:500],
                   last_modified=(outcome.last_modified or None) and outcome.last_modified[:100],
                   error_count=0, last_error="", last_success_at=now,
                   next_fetch_at=next_fetch_after_success(source.fetch_interval_s, now))
        if outcome.not_modified:
            report.not_modified += 1
        else:
            report.fetched += 1
            assert isinstance(parsed, PreparedFeed)
            if parsed.warnings:
                row["last_error"] = ("Read with problems: " + "; ".join(parsed.warnings))[:1000]
            if parsed.title and source.title in ("", source.url):
                row["title"] = parsed.title
            if parsed.site_url and not source.site_url:
                row["site_url"] = parsed.site_url
            batch.append((SourceRef(source.id, source.user_id, moved.get(source.id, source.url)), parsed.items))
        updates.append(row)

    if moved:  # a permanent redirect: ask there next time, unless the user already follows that URL
        by_id = {c.id: c for c in claimed}
        taken = set(session.execute(
            select(FeedSource.user_id, FeedSource.url).where(FeedSource.url.in_(list(moved.values())))).all())
        for row in updates:
            new_url = moved.get(row["b_id"])
            if new_url and (by_id[row["b_id"]].user_id, new_url) not in taken:
                row["url"] = new_url
                taken.add((by_id[row["b_id"]].user_id, new_url))

    counts = ingest_items(session, batch, now=now, window=window)
    t = FeedSource.__table__
    columns = ("claimed_until", "last_fetched_at", "url", "title", "site_url", "etag", "last_modified",
               "error_count", "last_error", "next_fetch_at")
    values = {name: bindparam("b_" + name) for name in columns}
    # last_success_at None means "keep the old value" (a failed fetch).
    values["last_success_at"] = func.coalesce(bindparam("b_last_success_at"), t.c.last_success_at)
    session.execute(update(t).where(t.c.id == bindparam("b_id")).values(**values),
                    [{("b_" + k if k != "b_id" else k): v for k, v in row.items()} for row in updates])
    report.items_new = counts.items_new
    report.items_updated = counts.items_updated
    report.entries_new = counts.entries_new
    report.duplicates_merged = counts.duplicates_merged
    report.near_duplicates = counts.near_duplicates
    return report
