"""Refreshing sources: claim the due ones, fetch them politely, store what is new.

One round (`refresh_sources`), step by step:

1. Claim (one short transaction): due, enabled, unclaimed sources get `claimed_until = now +
   CLAIM_LEASE`, chosen with `FOR UPDATE SKIP LOCKED`, so several scheduler processes never
   fetch the same source twice; a crashed process's claims simply expire.
2. Fetch (no transaction open): `fetch_many` with a global and a per-host limit, conditional
   GET with the stored ETag/Last-Modified, redirects followed, size and time limits.
3. Parse (no transaction open): bodies become `PreparedItem`s, in worker processes when there
   are many (`feeds_parse`).
4. Store (one transaction): new items are inserted once per normalised URL (`INSERT … ON
   CONFLICT DO NOTHING`, in batches), each new item is matched against the recent window of
   stories (`StoryIndex`) and joins the story it repeats, the user's entries are inserted and
   their rules applied, and every source gets its outcome: validators, the new URL after a
   permanent redirect, the next fetch time (interval with jitter, or exponential backoff after
   an error), the error to show, and its claim released.

An exception between 1 and 4 releases the claims before it propagates. The scheduler's
`refresh_due_sources` runs rounds until nothing is due, overlapping them: the next round is
claimed, fetched and parsed in a helper thread while the current one is stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select, text, update
from sqlmodel import Session

from socialhub.core.db import session_scope
from socialhub.feed.ingest import FeedError, FeedHTTPError, fetch_many, FetchRequest, FetchResult
from socialhub.core.models import utcnow
from socialhub.feed.models import FeedItem, FeedRule, FeedSource
from socialhub.feed import primary as feeds_primary, rules
from socialhub.feed.grouping import StoryIndex
from socialhub.feed.prepare import new_pool, parse_bodies, ParseFailure, PreparedFeed, PreparedItem

log = logging.getLogger(__name__)

BATCH = 200
CLAIM_LEASE = timedelta(minutes=10)
DEFAULT_INTERVAL_S = 1800
FIRST_RETRY_S = 300
MAX_BACKOFF_S = 24 * 3600
JITTER = 0.1
PER_HOST = 4
CONCURRENCY = 50
STORY_WINDOW = timedelta(hours=48)
STORY_WINDOW_ITEMS = 20_000
INSERT_CHUNK = 2000
ANALYZE_AFTER = 5000
POOL_AFTER = 50
"""Start parsing processes for a run only when at least this many sources are due."""

SessionFactory = Callable[[], AbstractContextManager[Session]]


@dataclass
class RefreshReport:
    sources: int = 0
    fetched: int = 0
    not_modified: int = 0
    failed: int = 0
    items_new: int = 0
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


# ---- 1. claim ----------------------------------------------------------------------------------

def claim_sources(session: Session, *, limit: int = BATCH, now: datetime | None = None,
                  source_ids: list[int] | None = None, user_id: int | None = None) -> list[ClaimedSource]:
    """Claim due sources (or these ones, due or not) for one fetch; commit before fetching."""
    now = now or utcnow()
    t = FeedSource.__table__.c
    pick = select(t.id).where(t.enabled, (t.claimed_until.is_(None)) | (t.claimed_until < now))
    if source_ids is not None:
        pick = pick.where(t.id.in_(source_ids))
        if user_id is not None:
            pick = pick.where(t.user_id == user_id)
    else:
        pick = pick.where(t.next_fetch_at <= now).order_by(t.next_fetch_at)
    pick = pick.limit(limit).with_for_update(skip_locked=True)
    rows = session.execute(
        update(FeedSource.__table__).where(t.id.in_(pick.scalar_subquery()))
        .values(claimed_until=now + CLAIM_LEASE)
        .returning(t.id, t.user_id, t.url, t.title, t.site_url, t.etag, t.last_modified,
                   t.fetch_interval_s, t.error_count)
    ).all()
    return [ClaimedSource(*row) for row in rows]


def release_claims(session: Session, *, source_ids: Iterable[int]) -> None:
    t = FeedSource.__table__.c
    session.execute(update(FeedSource.__table__).where(t.id.in_(list(source_ids))).values(claimed_until=None))


# ---- 2 + 3. fetch and parse ----------------------------------------------------------------

def _run(coro):
    """asyncio.run, also from code that is already inside an event loop (a page handler)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, coro).result()


def fetch_sources(claimed: list[ClaimedSource], *, timeout: float | None = None) -> list[FetchResult | FeedError]:
    requests = [FetchRequest(c.url, c.etag, c.last_modified) for c in claimed]
    extra = {"timeout": timeout} if timeout else {}
    return _run(fetch_many(requests, concurrency=CONCURRENCY, per_host=PER_HOST, parse=False, **extra))


def parse_results(claimed: list[ClaimedSource], outcomes: list[FetchResult | FeedError], *,
                  now: datetime, pool=None) -> dict[int, PreparedFeed | ParseFailure]:
    jobs, owners = [], []
    for source, outcome in zip(claimed, outcomes):
        if isinstance(outcome, FetchResult) and not outcome.not_modified:
            jobs.append((outcome.content, outcome.content_type, outcome.final_url, outcome.next_url, now))
            owners.append(source.id)
    return dict(zip(owners, parse_bodies(jobs, pool)))


# ---- 4. store --------------------------------------------------------------------------------

@dataclass(frozen=True)
class SourceRef:
    id: int
    user_id: int
    feed_url: str


@dataclass
class IngestCounts:
    items_new: int = 0
    entries_new: int = 0
    duplicates_merged: int = 0
    near_duplicates: int = 0
    entry_ids_by_user: dict[int, list[int]] = field(default_factory=dict)


def _load_story_window(session: Session, now: datetime) -> StoryIndex:
    index = StoryIndex()
    rows = session.execute(text("""
        SELECT i.id, coalesce(i.story_id, i.id), i.title, left(i.text, 1500), i.fingerprint,
               array_agg(DISTINCT s.url)
        FROM (SELECT id FROM feed_items WHERE first_seen_at >= :since ORDER BY id DESC LIMIT :n) recent
        JOIN feed_items i ON i.id = recent.id
        JOIN feed_item_sources e ON e.item_id = i.id
        JOIN feed_sources s ON s.id = e.source_id
        GROUP BY i.id
    """), {"since": now - STORY_WINDOW, "n": STORY_WINDOW_ITEMS}).all()
    for item_id, story_id, title, text_, fingerprint, feeds in rows:
        index.add(item_id=item_id, story_id=story_id, title=title, text=text_, fingerprint=fingerprint,
                  feeds=set(feeds))
    return index


ITEM_COLUMNS = (("id", "bigint"), ("url_key", "text"), ("url", "text"), ("title", "text"), ("author", "text"),
                ("content_html", "text"), ("text", "text"), ("excerpt", "text"), ("image_url", "text"),
                ("tags", "text[]"), ("published_at", "timestamptz"), ("first_seen_at", "timestamptz"),
                ("fingerprint", "bigint"), ("story_id", "bigint"))
ENTRY_COLUMNS = (("user_id", "bigint"), ("source_id", "bigint"), ("item_id", "bigint"), ("story_id", "bigint"),
                 ("published_at", "timestamptz"), ("blocked", "boolean"), ("is_primary", "boolean"),
                 ("created_at", "timestamptz"))


def _bulk_insert(session: Session, table: str, columns: tuple[tuple[str, str], ...], rows: list[dict], *,
                 conflict: str, returning: str) -> list:
    """INSERT … ON CONFLICT … RETURNING for many rows, loaded with COPY into a temporary table.

    Thousands of rows per refresh: COPY streams them in one round trip without building (and
    having the driver parse) a statement with tens of thousands of placeholders.
    """
    if not rows:
        return []
    stage = f"_sh_stage_{table}"
    names = ", ".join(name for name, _ in columns)
    session.execute(text(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                         f"({', '.join(f'{n} {t}' for n, t in columns)}) ON COMMIT DELETE ROWS"))
    session.execute(text(f"TRUNCATE {stage}"))
    driver = session.connection().connection.driver_connection
    with driver.cursor() as cursor:
        with cursor.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(tuple(row[name] for name, _ in columns))
    result = session.execute(text(f"INSERT INTO {table} ({names}) SELECT {names} FROM {stage} "
                                  f"ON CONFLICT {conflict} RETURNING {returning}")).all()
    session.execute(text(f"TRUNCATE {stage}"))
    return [row[0] for row in result] if "," not in returning else [tuple(row) for row in result]


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


def ingest_items(session: Session, batch: list[tuple[SourceRef, tuple[PreparedItem, ...]]], *,
                 now: datetime, window: StoryWindow | None = None) -> IngestCounts:
    """Store prepared items for these sources: new items once per URL, grouped into stories,
    and one entry per (source, item). Applies each user's rules to their new entries."""
    counts = IngestCounts()
    keys = list({item.url_key for _, items in batch for item in items})
    if not keys:
        return counts
    items_t = FeedItem.__table__
    known: dict[str, tuple[int, int]] = {}
    for chunk in _chunks(keys, 5000):
        for item_id, key, story_id in session.execute(
                select(items_t.c.id, items_t.c.url_key, items_t.c.story_id).where(items_t.c.url_key.in_(chunk))):
            known[key] = (item_id, story_id or item_id)

    # New items: ids first (so a story can point at an item inserted in the same statement).
    fresh: dict[str, tuple[PreparedItem, str]] = {}
    for source, items in batch:
        for item in items:
            if item.url_key not in known and item.url_key not in fresh:
                fresh[item.url_key] = (item, source.feed_url)
    if fresh:
        ids = session.execute(text("SELECT nextval(pg_get_serial_sequence('feed_items', 'id')) "
                                   "FROM generate_series(1, :n)"), {"n": len(fresh)}).scalars().all()
        index = (window or StoryWindow()).get(session, now)
        for source, items in batch:  # known items now also come from these feeds
            for item in items:
                if item.url_key in known:
                    index.add_feed(known[item.url_key][0], source.feed_url)
        rows = []
        for new_id, (key, (item, feed_url)) in zip(ids, fresh.items()):
            story = index.find(title=item.title, text=item.text, fingerprint=item.fingerprint, feed=feed_url)
            story_id = story if story is not None else new_id
            if story is not None:
                counts.near_duplicates += 1
            index.add(item_id=new_id, story_id=story_id, title=item.title, text=item.text[:1500],
                      fingerprint=item.fingerprint, feeds={feed_url})
            rows.append({
                "id": new_id, "url_key": key, "url": item.url, "title": item.title, "author": item.author,
                "content_html": item.content_html, "text": item.text, "excerpt": item.excerpt,
                "image_url": item.image_url, "tags": list(item.tags), "published_at": item.published,
                "first_seen_at": now, "fingerprint": item.fingerprint, "story_id": story_id,
            })
        inserted = set(_bulk_insert(session, "feed_items", ITEM_COLUMNS, rows,
                                    conflict="(url_key) DO NOTHING", returning="url_key"))
        counts.items_new = len(inserted)
        for row in rows:
            if row["url_key"] in inserted:
                known[row["url_key"]] = (row["id"], row["story_id"])
        raced = [row["url_key"] for row in rows if row["url_key"] not in inserted]
        if raced:  # another process stored the same links a moment ago: use its rows
            for item_id, key, story_id in session.execute(
                    select(items_t.c.id, items_t.c.url_key, items_t.c.story_id).where(items_t.c.url_key.in_(raced))):
                known[key] = (item_id, story_id or item_id)
        created = {row["id"] for row in rows if row["url_key"] in inserted and row["story_id"] == row["id"]}
    else:
        created = set()

    # A story created in this batch has no other entries anywhere: its first entry per reader
    # is the one they see (decided here, cheaply). Entries joining an older story get their
    # flag from `refresh_primary` below.
    entries, seen, shown = [], set(), set()
    for source, items in batch:
        for item in items:
            item_id, story_id = known[item.url_key]
            if (source.id, item_id) in seen:
                continue
            seen.add((source.id, item_id))
            primary = story_id in created and (source.user_id, story_id) not in shown
            if primary:
                shown.add((source.user_id, story_id))
            entries.append({"user_id": source.user_id, "source_id": source.id, "item_id": item_id,
                            "story_id": story_id, "published_at": item.published, "blocked": False,
                            "is_primary": primary, "created_at": now})
    new_entries = _bulk_insert(session, "feed_item_sources", ENTRY_COLUMNS, entries,
                               conflict="(source_id, item_id) DO NOTHING", returning="id, user_id, item_id, story_id")
    counts.entries_new = len(new_entries)
    story_creators: set[int] = set()
    older_stories: list[int] = []
    for entry_id, user_id, item_id, story_id in new_entries:
        counts.entry_ids_by_user.setdefault(user_id, []).append(entry_id)
        if story_id not in created:
            older_stories.append(entry_id)
        # The first entry of a brand-new story created it; every other new entry was merged.
        if item_id in created and item_id not in story_creators:
            story_creators.add(item_id)
        else:
            counts.duplicates_merged += 1
    ruled = _apply_rules(session, counts.entry_ids_by_user)
    recheck = set(older_stories) | {i for user_id in ruled for i in counts.entry_ids_by_user[user_id]}
    feeds_primary.refresh_primary(session, entry_ids=sorted(recheck))
    return counts


def _apply_rules(session: Session, entry_ids_by_user: dict[int, list[int]]) -> set[int]:
    """Apply each reader's rules to their new entries; returns the readers who have rules."""
    if not entry_ids_by_user:
        return set()
    with_rules = set(session.execute(
        select(FeedRule.user_id).where(FeedRule.user_id.in_(list(entry_ids_by_user))).distinct()).scalars())
    for user_id in with_rules:
        try:
            rules.apply_rules(session, user_id=user_id, entry_ids=entry_ids_by_user[user_id])
        except rules.PatternTooSlow:
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
    report.entries_new = counts.entries_new
    report.duplicates_merged = counts.duplicates_merged
    report.near_duplicates = counts.near_duplicates
    return report


# ---- the round -------------------------------------------------------------------------------

@dataclass
class _Fetched:
    """A claimed round, fetched and parsed, waiting to be stored."""

    claimed: list[ClaimedSource]
    outcomes: list[FetchResult | FeedError]
    prepared: dict[int, PreparedFeed | ParseFailure]
    at: datetime


def _claim_and_fetch(session_factory: SessionFactory, *, limit: int, source_ids: list[int] | None,
                     user_id: int | None, now: datetime | None, pool, timeout: float | None) -> _Fetched:
    """Steps 1–3 of a round. Claims are released if fetching or parsing fails."""
    with session_factory() as session:
        claimed = claim_sources(session, limit=limit, now=now or utcnow(), source_ids=source_ids, user_id=user_id)
    if not claimed:
        return _Fetched([], [], {}, utcnow())
    try:
        started = time.perf_counter()
        outcomes = fetch_sources(claimed, timeout=timeout)
        fetched = time.perf_counter()
        at = utcnow()
        prepared = parse_results(claimed, outcomes, now=at, pool=pool)
        log.debug("round of %d sources: fetch %.2fs, parse %.2fs", len(claimed), fetched - started,
                  time.perf_counter() - fetched)
        return _Fetched(claimed, outcomes, prepared, at)
    except BaseException:
        _release(session_factory, claimed)
        raise


def _store(session_factory: SessionFactory, fetched: _Fetched, window: StoryWindow | None) -> RefreshReport:
    """Step 4 of a round."""
    try:
        started = time.perf_counter()
        with session_factory() as session:
            report = store_results(session, fetched.claimed, fetched.outcomes, fetched.prepared, now=fetched.at,
                                   window=window)
        log.debug("round of %d sources: store %.2fs", len(fetched.claimed), time.perf_counter() - started)
        return report
    except BaseException:
        _release(session_factory, fetched.claimed)
        raise


def _release(session_factory: SessionFactory, claimed: list[ClaimedSource]) -> None:
    with session_factory() as session:
        release_claims(session, source_ids=[c.id for c in claimed])


def refresh_sources(*, session_factory: SessionFactory = session_scope, limit: int = BATCH,
                    source_ids: list[int] | None = None, user_id: int | None = None,
                    now: datetime | None = None, pool=None, timeout: float | None = None,
                    window: StoryWindow | None = None) -> RefreshReport:
    """One round: claim up to `limit` due sources (or these ids), fetch, parse, store."""
    fetched = _claim_and_fetch(session_factory, limit=limit, source_ids=source_ids, user_id=user_id, now=now,
                               pool=pool, timeout=timeout)
    if not fetched.claimed:
        return RefreshReport()
    return _store(session_factory, fetched, window)


def refresh_due_sources(*, session_factory: SessionFactory = session_scope, batch: int = BATCH,
                        time_budget_s: float = 50.0, workers: int | None = None,
                        timeout: float | None = None) -> RefreshReport:
    """Rounds until nothing is due or the time budget is spent, overlapping them: while one
    round is stored, the next is claimed, fetched and parsed in a helper thread (the network
    and the parsing processes work while the database does).

    The scheduler runs this every minute. The parsing processes start only when enough is due
    to be worth them, and stop at the end.
    """
    total = RefreshReport()
    started = time.monotonic()
    window = StoryWindow()
    with session_factory() as session:
        due = session.execute(
            select(func.count()).select_from(FeedSource.__table__)
            .where(FeedSource.enabled, FeedSource.next_fetch_at <= utcnow())).scalar_one()
    if due == 0:
        return total
    pool = new_pool(workers) if due >= POOL_AFTER and workers != 0 else None

    def next_round() -> _Fetched:
        return _claim_and_fetch(session_factory, limit=batch, source_ids=None, user_id=None, now=None, pool=pool,
                                timeout=timeout)

    try:
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="feed-fetch") as helper:
            upcoming = helper.submit(next_round)
            while True:
                fetched = upcoming.result()
                if not fetched.claimed:
                    break  # nothing due, or everything due is claimed by another process
                more = time.monotonic() - started < time_budget_s
                upcoming = helper.submit(next_round) if more else None
                try:
                    total.add(_store(session_factory, fetched, window))
                except BaseException:
                    if upcoming is not None:  # give back what the helper claimed meanwhile
                        with contextlib.suppress(BaseException):
                            _release(session_factory, upcoming.result().claimed)
                    raise
                if upcoming is None:
                    break
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    if total.entries_new >= ANALYZE_AFTER:
        # Fresh statistics now rather than at autovacuum's next pass: a planner that still
        # thinks these tables are small picks plans that take seconds instead of milliseconds.
        with session_factory() as session:
            session.execute(text("ANALYZE feed_items, feed_item_sources, feed_item_states"))
    return total
