"""The publisher: takes due post targets and publishes each exactly once, on time.

This module owns the loop that runs the steps below: the `Engine` (claiming rounds, holding
claimed work until its time, worker threads, the writer thread, the liveness lock) and the
synchronous `publish_due`. The steps themselves live beside it: `claims.py` (1, 2, 6),
`sends.py` (3), `sending.py` (4), `recording.py` (5).

The loop, step by step (`Engine` runs it in every scheduler process and in its publishing
worker processes; the synchronous `publish_due` runs the same steps inline for tests and
`scheduler --once`):

1. Claim. One statement per platform:
   `UPDATE post_targets SET status='publishing', claimed_by, claimed_until … FROM (SELECT …
   FOR UPDATE OF post_targets SKIP LOCKED LIMIT n) … RETURNING …`. It takes targets that are
   due, or due within `PUBLISH_PREFETCH_SECONDS` (`pending` inside the missed window,
   `retrying`, `unconfirmed`), and, first, claims left by processes that died (their liveness
   lock is gone) or hung (their `claimed_until` passed). SKIP LOCKED lets any number of
   processes claim side by side; a row is held by one process at a time. Accounts that need
   reconnecting or are rate limited (`rate_limited_until`) are left out.
2. Load and build, in the claiming transaction: the post, its variant for the account, media,
   and the account's decrypted credentials → one `PublishRequest` per target
   (`content.build_request`, the same code the composer validates with). Claimed
   work waits in memory, ordered by due time, until its time.
3. Record "possibly sent", then send. When its time comes a batch is first written to
   `publish_sends` (`mark_sending`, a durable commit), then handed to the senders. Whoever
   takes over the claims of a process that died checks exactly those targets with the
   platform; the rest it sends directly.
4. Publish, in worker threads (the adapters are blocking httpx):
   - a target that already has a `platform_post_id` is published; nothing is sent;
   - if an earlier attempt may have reached the platform (`needs_check`: its answer never
     came, or its process died after step 3), ask the platform first (`find_existing`):
     found → published; found in part → continue after the parts that exist; only "not
     there" publishes;
   - a token about to expire is refreshed first (one refresh per account: a row lock);
   - `AuthError` → a forced refresh, then one more try; refused again → the account needs
     reconnecting, its waiting targets are paused (not failed) and the owners are told.
5. Record, one transaction per batch of results (`apply_outcomes`): each target's status
   together with its `platform_post_id` (one statement: never one without the other), the
   attempt log, the activity log, the post roll-up, one event per team for live pages, and
   in-app + e-mail alerts for posts that failed, partly failed or were missed. A result is
   written only if this process still holds the claim (`claimed_by = me AND status =
   'publishing'`).
6. Keep claims alive: an engine renews its claims every third of `PUBLISH_CLAIM_SECONDS` (also
   while results cannot be written) and holds an advisory lock for its whole life; only a dead
   or hung process loses its claims. The lock's connection can be lost without the process
   dying (a PostgreSQL restart or failover, an idle-connection kill): the engine checks it
   every half second, reconnects and takes the lock again, and while it does not hold its own
   lock it neither claims nor judges others dead (after a restart every engine's lock is gone
   at once). Another engine counts as dead only once its lock has been missing for
   `DEAD_GRACE_SECONDS`, long enough for a live one to take its lock back.

Outcomes of an attempt and who owns the statuses:
- published: the platform has it (or already had it) → `published` (+ id, url).
- a retryable error (5xx, network, 429) → `retrying` at now + backoff: exponential from
  `PUBLISH_RETRY_BASE_SECONDS`, with jitter, never sooner than the platform's Retry-After (a
  429 also holds back the whole account until then, across processes).
- sent but no answer (`UnknownOutcomeError`) → `unconfirmed`, checked before any retry.
- after `PUBLISH_MAX_ATTEMPTS` (5) attempts, or a non-retryable error (validation, media
  rejected) → `failed`; the error is on the target and the owners are alerted.
- the account needs reconnecting → `paused`.
The publisher owns `publishing`, `retrying`, `unconfirmed`, `published`, `failed` and `paused`
(with `platform_accounts`); people own `draft`, `pending` (through `timing`) and
`cancelled`; the missed sweep (`timing.sweep_missed`) owns `missed`. Adding a platform
never touches the publisher: adapters come from the registry by the account's platform name.
"""

from __future__ import annotations

import atexit
import logging
import queue
import random
import sys
import threading
import time
from datetime import datetime

from sqlalchemy import text
from sqlmodel import select

from socialhub.channels import accounts as platform_accounts
from socialhub.channels.models import PlatformAccount
from socialhub.core.models import utcnow
from socialhub.schedule.config import publishing_settings, PublishingSettings
from socialhub.schedule.publisher.claims import (
    claim_and_load,
    dead_workers,
    extend_claims,
    Job,
    LIVENESS_LOCK_CLASS,
    next_due_in,
    worker_name,
)
from socialhub.schedule.publisher.recording import apply_outcomes
from socialhub.schedule.publisher.sending import attempt, Outcome
from socialhub.schedule.publisher.sends import forget_sends, mark_sending, still_claimed

log = logging.getLogger(__name__)

WRITE_BATCH = 500  # outcomes written per transaction at most
DEAD_CHECK_SECONDS = 0.5  # how often an engine checks its own lock and looks for claims of processes that died
DEAD_GRACE_SECONDS = 3.0  # another engine's lock must be missing this long before its claims are taken
LIVENESS_CONNECT_TIMEOUT = 5  # seconds
MARK_BATCH = 100  # targets recorded as being sent per write
WRITE_MAX_DELAY_SECONDS = 0.5  # while sending is busy, results wait at most this long to be written


# ---- the synchronous path (tests, `scheduler --once`) ---------------------------------------------

def publish_due(*, now: datetime | None = None, worker: str | None = None, limit: int = 100, client=None) -> list[Outcome]:
    """Run steps 1-5 inline until nothing is due; returns every outcome (tests and debugging)."""
    from socialhub.core.db import session_scope

    worker = worker or worker_name()
    settings = publishing_settings()
    outcomes: list[Outcome] = []
    for _ in range(10_000):
        jobs = claim_and_load(worker=worker, limit=limit, now=now, settings=settings)
        if not jobs:
            break
        batch = [attempt(job, client=client) for job in jobs]
        with session_scope() as session:
            apply_outcomes(session, batch, worker=worker, now=now, settings=settings)
        outcomes.extend(batch)
    return outcomes


# ---- the engine (one per scheduler process) ---------------------------------------------------------


class Engine:
    """One per scheduler process: claims due work in batches, holds it until its exact time,
    publishes it from a pool of worker threads, and writes results in batches.

    - `tick()` (every second, from the scheduler) claims work due within
      `PUBLISH_PREFETCH_SECONDS`, up to `PUBLISH_MAX_HELD` targets not yet sent, and between
      claims sleeps until the next target is due. Claimed work waits in a queue ordered by due
      time; workers send each at its time (so a burst of posts due at one moment is loaded
      before it and only sent at it).
    - Liveness: the engine holds an advisory lock on a connection of its own for as long as it
      lives, and its worker name carries the lock's key. When a process dies its lock vanishes
      at once, and the other engines take its claims without waiting for them to expire
      (checking each with the platform first, since it may have been sent). Claims of a process
      that hangs without dying expire after `PUBLISH_CLAIM_SECONDS`, as they are no longer renewed.
    - Worker threads send; a per-platform semaphore caps each platform's concurrency.
    - One writer thread writes results in batches and renews the claims this process holds.
      While sending is busy, results wait up to `WRITE_MAX_DELAY_SECONDS` (CPU goes to sending
      first); that is safe because an unwritten result only means its target is checked with
      the platform again after the claim is taken over.
    """

    def __init__(self, *, worker: str | None = None, settings: PublishingSettings | None = None) -> None:
        self.settings = settings or publishing_settings()
        self._key = random.randrange(1, 2**31)
        self.worker = f"{worker or worker_name()}#{self._key}"
        self._ready: queue.PriorityQueue = queue.PriorityQueue()
        self._sequence = 0
        self._results: queue.Queue[Outcome] = queue.Queue()
        self._lock = threading.Lock()
        self._held: dict[int, str] = {}  # claimed and not yet written: target id → platform
        self._unsent = 0  # waiting or being sent
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._releaser: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._liveness = None
        self._platforms: list[str] = []
        self._platforms_checked = 0.0
        self._dead: list[str] = []
        self._dead_checked = 0.0
        self._lock_held = False  # this engine's liveness lock, as last checked
        self._missing_since: dict[str, float] = {}  # worker → when its lock was first seen missing
        self._expired_checked: dict[str, float] = {}
        self._sendable: queue.Queue[tuple[int, Job] | None] = queue.Queue()  # (lock epoch, job): due, recorded as being sent
        self._epoch = 0  # +1 each time the liveness lock is lost
        self._sends: dict[int, set[int]] = {}  # publish_sends row → its targets not yet written
        self._send_of: dict[int, int] = {}  # target id → its publish_sends row
        self._release_wake = threading.Event()

    # -- capacity ----------------------------------------------------------------------------

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def unsent(self) -> int:
        with self._lock:
            return self._unsent

    def _room(self) -> int:
        with self._lock:
            return min(self.settings.batch_size, self.settings.max_held - self._unsent)

    # -- threads -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._hold_liveness_lock()
        # Sending is short bursts of CPU between waits; hand the GIL over sooner than the
        # default 5 ms so threads returning from the network or the database are not queued.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        self._client = platform_accounts.new_http_client(max_connections=self.settings.concurrency)
        for n in range(self.settings.concurrency):
            thread = threading.Thread(target=self._work_loop, name=f"publish-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._releaser = threading.Thread(target=self._release_loop, name="publish-release", daemon=True)
        self._releaser.start()
        self._writer = threading.Thread(target=self._write_loop, name="publish-writer", daemon=True)
        self._writer.start()
        log.info("publishing engine %s started with %d workers", self.worker, self.settings.concurrency)

    def _hold_liveness_lock(self) -> bool:
        """Connect and take this engine's liveness lock; False (logged) when that fails now."""
        import psycopg

        from socialhub.core.db import database_url, libpq_url

        self._drop_liveness()
        try:
            conn = psycopg.connect(libpq_url(database_url()), autocommit=True, connect_timeout=LIVENESS_CONNECT_TIMEOUT,
                                   keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2,
                                   tcp_user_timeout=10_000)
        except Exception as exc:
            log.warning("publishing engine %s cannot reach the database for its liveness lock: %s", self.worker, exc)
            return False
        try:
            # The key is this engine's own, so nobody else holds it, except the old session of
            # this engine while the server has not yet noticed it is gone: then try again later.
            got = conn.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)", (LIVENESS_LOCK_CLASS, self._key)).fetchone()[0]
        except Exception as exc:
            log.warning("publishing engine %s could not take its liveness lock: %s", self.worker, exc)
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._liveness = conn
        self._lock_held = True
        return True

    def _drop_liveness(self) -> None:
        if self._lock_held:
            self._epoch += 1  # what was queued to send before this is verified again before sending
        self._lock_held = False
        self._missing_since.clear()
        if self._liveness is not None:
            try:
                self._liveness.close()
            except Exception:
                pass
            self._liveness = None

    def _check_liveness(self) -> bool:
        """Is this engine's liveness lock still held? Re-take it when its connection was lost."""
        if self._liveness is not None:
            try:
                held = self._liveness.execute(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
                    "AND classid = %s AND objid = %s)", (LIVENESS_LOCK_CLASS, self._key)).fetchone()[0]
            except Exception as exc:
                log.warning("publishing engine %s lost its liveness lock's connection (%s); reconnecting",
                            self.worker, type(exc).__name__)
                held = False
            if held:
                return True
            self._drop_liveness()
        if self._hold_liveness_lock():
            log.info("publishing engine %s holds its liveness lock again", self.worker)
            return True
        return False

    def _semaphore(self, platform: str) -> threading.BoundedSemaphore:
        with self._lock:
            if platform not in self._semaphores:
                self._semaphores[platform] = threading.BoundedSemaphore(self.settings.concurrency_for(platform))
            return self._semaphores[platform]

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        due = job.due_at.timestamp() if job.due_at is not None else 0.0
        self._ready.put((due, sequence, job))
        self._release_wake.set()

    def _work_loop(self) -> None:
        # One connection pool per engine (the egress client), shared by its workers.
        self._work(self._client)

    def _work(self, client) -> None:
        while True:
            item = self._sendable.get()
            if item is None:
                self._sendable.put(None)  # let the other workers see it too
                return
            epoch, job = item
            if not self._lock_held:  # others may be taking our claims: send nothing until the lock is back
                self._sendable.put((epoch, job))
                time.sleep(0.05)
                continue
            if epoch != self._epoch:
                # The lock was lost after this job was marked: another engine may have taken the
                # claim meanwhile. Send it only if the claim is still ours.
                if not self._reverify(job):
                    continue
                epoch = self._epoch
            semaphore = self._semaphore(job.platform)
            if not semaphore.acquire(blocking=False):
                self._sendable.put((epoch, job))  # its platform is at its limit: take another
                time.sleep(0.002)
                continue
            try:
                outcome = attempt(job, client=client)
            except BaseException as exc:  # attempt() catches what it expects; this is a last resort
                outcome = Outcome(job=job, status="retrying", attempt="retry", started_at=utcnow(), duration_ms=0,
                                  error=f"Unexpected error: {type(exc).__name__}")
            finally:
                semaphore.release()
            with self._lock:
                self._unsent -= 1
            self._results.put(outcome)
            self._wake.set()

    def _reverify(self, job: Job) -> bool:
        """After a lost liveness lock: is this claim still ours? If not, drop the job (its new
        holder checks with the platform first); if the database cannot say, hold it."""
        from socialhub.core.db import session_scope

        try:
            with session_scope() as session:
                held = job.target_id in still_claimed(session, worker=self.worker, target_ids=[job.target_id])
        except Exception:
            time.sleep(0.2)
            self._sendable.put((-1, job))  # ask again later
            return False
        if held:
            return True
        log.warning("the claim on target %s was taken over while the liveness lock was lost; not sending it", job.target_id)
        with self._lock:
            self._held.pop(job.target_id, None)
            self._unsent -= 1
        return False

    def _release_loop(self) -> None:
        """Move jobs whose time has come from the waiting queue to the workers, a batch at a
        time, after recording them as being sent (one durable write per batch). Jobs whose
        claim this process lost in the meantime are dropped, not sent."""
        from socialhub.core.db import session_scope

        while True:
            due, sequence, job = self._ready.get()
            if job is None:
                self._sendable.put(None)
                return
            wait = due - time.time()
            if wait > 0:
                self._ready.put((due, sequence, job))
                self._release_wake.wait(min(wait, 0.05))
                self._release_wake.clear()
                continue
            if self._sendable.qsize() >= 2 * self.settings.concurrency:
                self._ready.put((due, sequence, job))  # workers are busy: mark no further ahead
                time.sleep(0.002)
                continue
            batch = [(due, sequence, job)]
            while len(batch) < MARK_BATCH:
                try:
                    item = self._ready.get_nowait()
                except queue.Empty:
                    break
                if item[2] is None or item[0] > time.time():
                    self._ready.put(item)
                    break
                batch.append(item)
            ids = [item[2].target_id for item in batch]
            epoch = self._epoch  # taken before marking: a lock lost from here on is noticed by the senders
            try:
                with session_scope() as session:
                    kept, send_id = mark_sending(session, worker=self.worker, target_ids=ids)
            except Exception:
                log.exception("recording targets as being sent failed; trying again")
                for item in batch:
                    self._ready.put(item)
                time.sleep(0.5)
                continue
            lost = set(ids) - kept
            if lost:
                log.warning("%d claim(s) were taken over before sending; not sending them", len(lost))
                with self._lock:
                    for target_id in lost:
                        self._held.pop(target_id, None)
                    self._unsent -= len(lost)
            if send_id is not None:
                with self._lock:
                    self._sends[send_id] = set(kept)
                    for target_id in kept:
                        self._send_of[target_id] = send_id
            for item in batch:
                if item[2].target_id in kept:
                    self._sendable.put((epoch, item[2]))

    # -- the loop ----------------------------------------------------------------------------

    def tick(self, budget: float = 0.9) -> int:
        """Claim and dispatch for up to `budget` seconds; returns how many targets were claimed."""
        from socialhub.core.db import session_scope

        self.start()
        deadline = time.monotonic() + budget
        claimed_total = 0
        while not self._stopping:
            claimed, more = self._claim_round()
            claimed_total += claimed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if claimed and more:
                continue
            if self._room() <= 0:
                self._wait(min(remaining, 0.05))  # woken as workers finish
                continue
            with session_scope() as session:
                due_in = next_due_in(session, settings=self.settings)
            horizon = (due_in - self.settings.prefetch_seconds) if due_in is not None else None
            if horizon is None or horizon > remaining:
                break
            if horizon <= 0:
                if claimed == 0:  # due but not claimable here (rate limited, missed): look again soon
                    self._wait(min(remaining, 0.1))
                continue
            self._wait(horizon)
        return claimed_total

    def _wait(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _refresh_views(self) -> None:
        """Own liveness lock and dead workers' claims (every half second), platforms with
        accounts (every 2 s)."""
        from socialhub.core.db import session_scope

        now = time.monotonic()
        check_dead = now - self._dead_checked > DEAD_CHECK_SECONDS
        if check_dead:
            self._dead_checked = now
            if not self._check_liveness():
                self._dead = []  # without our own lock, everyone looks dead: judge nobody
                return
        if now - self._platforms_checked > 2 or check_dead:
            with session_scope() as session:
                if now - self._platforms_checked > 2:
                    self._platforms = sorted(session.exec(
                        select(PlatformAccount.platform).where(PlatformAccount.status == "ok").distinct()))
                    self._platforms_checked = now
                if check_dead:
                    self._dead = self._confirmed_dead(dead_workers(session, me=self.worker), now)

    def _confirmed_dead(self, missing: list[str], now: float) -> list[str]:
        """Workers whose lock has been missing for `DEAD_GRACE_SECONDS` (a live engine whose
        connection was cut takes its lock back well within that)."""
        self._missing_since = {w: self._missing_since.get(w, now) for w in missing}
        return [w for w, since in self._missing_since.items() if now - since >= DEAD_GRACE_SECONDS]

    def _claim_round(self) -> tuple[int, bool]:
        """One claim per platform while there is room: (claimed, more may be due)."""
        try:
            self._refresh_views()
        except Exception:
            log.exception("reading publishing state failed; trying again next tick")
            return 0, False
        if not self._lock_held:
            return 0, False  # others may take what we claim now: claim again once the lock is back
        claimed, more = 0, False
        for platform in self._platforms:
            room = self._room()
            if room <= 0:
                return claimed, True
            expired = bool(self._dead) or time.monotonic() - self._expired_checked.get(platform, 0.0) > 1.0
            try:
                jobs = claim_and_load(worker=self.worker, limit=room, platform=platform, settings=self.settings,
                                      prefetch_seconds=self.settings.prefetch_seconds, include_expired=expired,
                                      dead_workers=self._dead, mark_sending=False)
            except Exception:
                log.exception("claiming due targets failed; trying again next tick")
                return claimed, False
            if expired:
                self._expired_checked[platform] = time.monotonic()
            claimed += len(jobs)
            more = more or len(jobs) == room
            with self._lock:
                for job in jobs:
                    self._held[job.target_id] = job.platform
                self._unsent += len(jobs)
            for job in jobs:
                self._enqueue(job)
        return claimed, more

    def _write_loop(self) -> None:
        from socialhub.core.db import session_scope

        last_extend = time.monotonic()
        pending: list[Outcome] = []
        oldest = 0.0
        retry_at = 0.0  # after a failed write, not before this
        while True:
            try:
                outcome = self._results.get(timeout=0.05)
                if not pending:
                    oldest = time.monotonic()
                pending.append(outcome)
                while len(pending) < WRITE_BATCH:
                    pending.append(self._results.get_nowait())
            except queue.Empty:
                pass
            busy = self.unsent() > 0 and not self._stopping
            due = pending and (len(pending) >= WRITE_BATCH or not busy or time.monotonic() - oldest > WRITE_MAX_DELAY_SECONDS)
            written_ok = False
            if due and time.monotonic() >= retry_at:
                try:
                    with session_scope() as session:
                        # A lost result is re-checked with the platform (the claim is durable), so
                        # this commit need not wait for the disk.
                        session.execute(text("SET LOCAL synchronous_commit = off"))
                        apply_outcomes(session, pending, worker=self.worker, settings=self.settings)
                    written_ok = True
                except Exception:
                    # Not written (the database is away): try again shortly; the claims below are
                    # still renewed, so nobody takes these targets over meanwhile.
                    log.exception("writing %d publish result(s) failed; retrying", len(pending))
                    retry_at = time.monotonic() + 1.0
            if written_ok:
                done: list[int] = []
                with self._lock:
                    for written in pending:
                        self._held.pop(written.job.target_id, None)
                        send_id = self._send_of.pop(written.job.target_id, None)
                        if send_id is not None:
                            remaining = self._sends.get(send_id)
                            remaining.discard(written.job.target_id)
                            if not remaining:
                                del self._sends[send_id]
                                done.append(send_id)
                if done:
                    try:
                        with session_scope() as session:
                            forget_sends(session, send_ids=done)
                    except Exception:
                        log.exception("dropping send records failed; the daily sweep will")
                pending = []
                self._wake.set()
            if time.monotonic() - last_extend > self.settings.claim_seconds / 3:
                with self._lock:
                    ids = list(self._held)
                try:
                    with session_scope() as session:
                        extend_claims(session, worker=self.worker, target_ids=ids, settings=self.settings)
                    last_extend = time.monotonic()
                except Exception:
                    log.exception("renewing claims failed")
            if self._stopping and not pending and self.held() == 0 and self._results.empty():
                return

    def stop(self, timeout: float = 60.0) -> None:
        """Stop claiming, let claimed targets go out, write their results, release the liveness lock."""
        self._stopping = True
        self._wake.set()
        self._ready.put((float("inf"), 0, None))  # after everything claimed: the releaser passes it on
        self._release_wake.set()
        deadline = time.monotonic() + timeout
        if self._releaser is not None:
            self._releaser.join(max(0.0, deadline - time.monotonic()))
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._threads and not any(thread.is_alive() for thread in self._threads):
            self._client.close()
        if self._writer is not None:
            self._writer.join(max(0.0, deadline - time.monotonic()))
        self._drop_liveness()


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """This process's engine, created (and stopped at exit) on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
            atexit.register(_engine.stop)
        return _engine
