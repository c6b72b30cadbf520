"""Refreshing sources: claim the due ones, fetch them politely, store what is new.

One round (`refresh_sources`), step by step:

1. Claim (one short transaction): due, enabled, unclaimed sources get `claimed_until = now +
   CLAIM_LEASE`, chosen with `FOR UPDATE SKIP LOCKED`, so several scheduler processes never
   fetch the same source twice; a crashed process's claims simply expire.
2. Fetch (no transaction open, a helper thread: `Round`): `fetch_many` through the egress
   client with a global and a per-host limit, conditional GET with the stored
   ETag/Last-Modified, redirects followed, a size limit and one overall deadline per feed.
3. Parse (no transaction open): each body becomes `PreparedItem`s as soon as it is in, in
   worker processes when many feeds are due.
4. Store (one short transaction per handful of feeds, as they come in: a slow server holds up
   nobody else's feed and keeps only its own claim): each source's items are matched by guid;
   changed ones are rewritten, new ones inserted (`COPY` into a temporary table, `INSERT … ON
   CONFLICT DO NOTHING`) and grouped into stories (the same link from another feed, or a
   near-duplicate in the recent window: `StoryIndex`), the readers' entries are inserted and
   their rules applied, and every source gets its outcome: validators, the new URL after a
   permanent redirect, the next fetch time (interval with jitter, or exponential backoff after
   an error), the error to show, and its claim released.

An exception between 1 and 4 releases the claims not stored yet before it propagates. The
scheduler's `refresh_due_sources` runs rounds until nothing is due, overlapping them: once
every feed of a round is in, the next round is claimed and fetched while the last of this one
is stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, text, update
from sqlmodel import Session

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.feed.ingest import (
    FeedError,
    FetchRequest,
    FetchResult,
    fetch_many,
)
from socialhub.feed.models import FeedSource
from socialhub.feed.prepare import (
    ParseFailure,
    PreparedFeed,
    new_pool,
    prepare_job,
)
from socialhub.feed.store import (
    ClaimedSource,
    RefreshReport,
    StoryWindow,
    store_results,
)

log = logging.getLogger(__name__)

BATCH = 200
CLAIM_LEASE = timedelta(minutes=10)
DEFAULT_INTERVAL_S = 1800
PER_HOST = 4
CONCURRENCY = 50
ANALYZE_AFTER = 5000
POOL_AFTER = 50
"""Start parsing processes for a run only when at least this many sources are due."""
LINGER_S = 1.0
"""How long a fetched feed may wait for others to be stored with it in one transaction."""

SessionFactory = Callable[[], AbstractContextManager[Session]]






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


@dataclass(frozen=True)
class Fetched:
    """One claimed source, fetched (and its body parsed), ready to store."""

    source: ClaimedSource
    outcome: FetchResult | FeedError
    prepared: PreparedFeed | ParseFailure | None


_OVER = object()


class Round:
    """Claimed sources being fetched and parsed by a helper thread, handed over feed by feed.

    The helper runs `fetch_many` (the egress client, one overall deadline per feed) and parses
    each body as soon as its feed is in, in the parsing processes when there are any; `take`
    gives the caller what is ready, so each feed is stored within moments of arriving instead of
    when the slowest feed of the round finally answers or times out.
    """

    def __init__(self, claimed: list[ClaimedSource], *, pool=None, timeout: float | None = None) -> None:
        self.claimed = claimed
        self.waiting = {c.id for c in claimed}  # not handed over yet
        self.fetched = threading.Event()  # every feed is in (only handing over is left)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pool, self._timeout = pool, timeout
        self._over = False
        self._thread = threading.Thread(target=self._work, name="feed-fetch", daemon=True)
        self._thread.start()

    @property
    def over(self) -> bool:
        return self._over

    def _work(self) -> None:
        try:
            asyncio.run(self._fetch())
        except BaseException as exc:  # noqa: BLE001 - a bug: the caller re-raises it
            self._queue.put(exc)
        finally:
            self.fetched.set()
            self._queue.put(_OVER)

    async def _fetch(self) -> None:
        loop = asyncio.get_running_loop()
        parser = self._pool or concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="feed-parse")

        async def arrived(index: int, outcome: FetchResult | FeedError) -> None:
            source, prepared = self.claimed[index], None
            if isinstance(outcome, FetchResult) and not outcome.not_modified:
                job = (outcome.content, outcome.content_type, outcome.final_url, outcome.next_url, utcnow())
                try:
                    prepared = await loop.run_in_executor(parser, prepare_job, job)
                except BrokenProcessPool:  # workers could not start: parse here
                    prepared = await asyncio.to_thread(prepare_job, job)
            self._queue.put(Fetched(source, outcome, prepared))

        requests = [FetchRequest(c.url, c.etag, c.last_modified) for c in self.claimed]
        extra = {"timeout": self._timeout} if self._timeout else {}
        try:
            await fetch_many(requests, concurrency=CONCURRENCY, per_host=PER_HOST, parse=False,
                             on_result=arrived, **extra)
        finally:
            if parser is not self._pool:
                parser.shutdown(wait=False)

    def take(self, *, linger: float = LINGER_S, most: int = BATCH) -> list[Fetched]:
        """What is ready: waits for the first feed, then up to `linger` seconds for more (fewer,
        bigger transactions: each has a fixed cost), at most `most`. Empty once the round is over."""
        ready: list[Fetched] = []
        deadline = None
        while not self._over and len(ready) < most:
            wait = None if deadline is None else deadline - time.monotonic()
            if wait is not None and wait <= 0:
                break
            try:
                got = self._queue.get(timeout=wait)
            except queue.Empty:
                break
            if got is _OVER:
                self._over = True
            elif isinstance(got, BaseException):
                raise got
            else:
                ready.append(got)
                self.waiting.discard(got.source.id)
                if deadline is None:
                    deadline = time.monotonic() + linger
        return ready


def fetch_sources(claimed: list[ClaimedSource], *, timeout: float | None = None) -> list[FetchResult | FeedError]:
    """Fetch these sources (no parsing, nothing stored); outcomes in the same order."""
    requests = [FetchRequest(c.url, c.etag, c.last_modified) for c in claimed]
    extra = {"timeout": timeout} if timeout else {}
    return _run(fetch_many(requests, concurrency=CONCURRENCY, per_host=PER_HOST, parse=False, **extra))


# ---- the round -------------------------------------------------------------------------------

def _claim(session_factory: SessionFactory, *, limit: int, source_ids: list[int] | None = None,
           user_id: int | None = None, now: datetime | None = None) -> list[ClaimedSource]:
    with session_factory() as session:
        return claim_sources(session, limit=limit, now=now or utcnow(), source_ids=source_ids, user_id=user_id)


def _store(session_factory: SessionFactory, ready: list[Fetched], window: StoryWindow | None) -> RefreshReport:
    """Step 4 for the feeds that are in: one short transaction."""
    started = time.perf_counter()
    with session_factory() as session:
        report = store_results(session, [f.source for f in ready], [f.outcome for f in ready],
                               {f.source.id: f.prepared for f in ready if f.prepared is not None},
                               now=utcnow(), window=window)
    log.debug("stored %d sources in %.2fs", len(ready), time.perf_counter() - started)
    return report


def _release(session_factory: SessionFactory, source_ids: Iterable[int]) -> None:
    ids = list(source_ids)
    if ids:
        with session_factory() as session:
            release_claims(session, source_ids=ids)


def _store_round(session_factory: SessionFactory, current: Round, window: StoryWindow | None,
                 total: RefreshReport, when_fetched: Callable[[], None] | None = None) -> None:
    """Store a round's feeds as they come in. If storing fails, the claims of the feeds not
    stored are released before the error propagates."""
    pending: list[Fetched] = []
    try:
        while not current.over:
            pending = current.take()
            if pending:
                total.add(_store(session_factory, pending, window))
            pending = []
            if when_fetched is not None and current.fetched.is_set():
                when_fetched()
                when_fetched = None
    except BaseException:
        with contextlib.suppress(BaseException):
            _release(session_factory, current.waiting | {f.source.id for f in pending})
        raise


def refresh_sources(*, session_factory: SessionFactory = session_scope, limit: int = BATCH,
                    source_ids: list[int] | None = None, user_id: int | None = None,
                    now: datetime | None = None, pool=None, timeout: float | None = None,
                    window: StoryWindow | None = None) -> RefreshReport:
    """One round: claim up to `limit` due sources (or these ids), fetch, parse and store each
    as it comes in. No transaction is open while fetching."""
    claimed = _claim(session_factory, limit=limit, source_ids=source_ids, user_id=user_id, now=now)
    report = RefreshReport()
    if claimed:
        _store_round(session_factory, Round(claimed, pool=pool, timeout=timeout), window, report)
    return report


def refresh_due_sources(*, session_factory: SessionFactory = session_scope, batch: int = BATCH,
                        time_budget_s: float = 50.0, workers: int | None = None,
                        timeout: float | None = None) -> RefreshReport:
    """Rounds until nothing is due or the time budget is spent. Each round's feeds are stored
    as they arrive; once every feed of a round is in, the next round is claimed and starts
    fetching while the last of this one is stored.

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
    upcoming: list[Round] = []

    def start_next() -> None:
        if time.monotonic() - started < time_budget_s:
            claimed = _claim(session_factory, limit=batch)
            if claimed:  # (none: nothing due, or everything due is claimed by another process)
                upcoming.append(Round(claimed, pool=pool, timeout=timeout))

    try:
        claimed = _claim(session_factory, limit=batch)
        current = Round(claimed, pool=pool, timeout=timeout) if claimed else None
        while current is not None:
            try:
                _store_round(session_factory, current, window, total, when_fetched=start_next)
            except BaseException:
                for later in upcoming:  # give back what was claimed meanwhile
                    later.fetched.wait()
                    with contextlib.suppress(BaseException):
                        _release(session_factory, [c.id for c in later.claimed])
                raise
            current = upcoming.pop() if upcoming else None
    finally:
        if pool is not None:
            pool.shutdown(wait=True)
    if total.entries_new >= ANALYZE_AFTER:
        # Fresh statistics now rather than at autovacuum's next pass: a planner that still
        # thinks these tables are small picks plans that take seconds instead of milliseconds.
        with session_factory() as session:
            session.execute(text("ANALYZE feed_items, feed_item_sources, feed_item_states"))
    return total
