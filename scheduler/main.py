"""Entry point of the scheduler process (`python -m scheduler` or `socialhub scheduler`).

APScheduler 3 with two job stores: `shared`, the SQLAlchemy job store in PostgreSQL's
`scheduler` schema (which Alembic never touches), and `local`, in memory, for per-process jobs.
SIGTERM and SIGINT shut down cleanly: running jobs finish and the heartbeat row is removed.

APScheduler 3's persistent job store supports one scheduler at a time, so only one process
uses it: the one holding a PostgreSQL advisory lock (`SHARED_LOCK_KEY`) on a connection of its
own (`SharedStoreLeader`). The others stand by, trying the lock every `STANDBY_RETRY_SECONDS`;
when the holder dies its session ends, the lock is free and one of them takes over within a few
seconds. The holder checks its lock as often and, if its connection was lost (a PostgreSQL
restart), stops running the shared jobs until it holds the lock again. Every process runs its
`local` jobs all the time (the heartbeat; `publish_due`: the publishing engines run everywhere
and share the work through row claims).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.base import STATE_STOPPED
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from scheduler.jobs import JOBS
from socialhub.core import jobs
from socialhub.core.config import get_settings
from socialhub.core.db import get_engine

log = logging.getLogger("scheduler")
SCHEMA = "scheduler"
SHARED_LOCK_CLASS, SHARED_LOCK_KEY = 0x5348, 0  # advisory lock of the process that runs the shared jobs
STANDBY_RETRY_SECONDS = 2.0  # how often a standby tries the lock, and the holder checks it


def _shared_store() -> SQLAlchemyJobStore:
    return SQLAlchemyJobStore(engine=get_engine(), tablename="apscheduler_jobs", tableschema=SCHEMA)


def _job_args(name: str, trigger: dict) -> dict:
    trigger = dict(trigger)
    if name == "heartbeat":
        trigger["seconds"] = get_settings().heartbeat_seconds
    return trigger


def build_scheduler() -> BlockingScheduler:
    """The scheduler with its `local` jobs; the `shared` store is added by `SharedStoreLeader`
    while this process holds the lock."""
    engine = get_engine()
    shared = _shared_store()
    # Several schedulers may start at once on a fresh database: create the schema and the job
    # table under one advisory lock, so no two processes race on CREATE (APScheduler's own
    # "create if missing" is check-then-create and fails with a unique violation).
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('socialhub.scheduler.schema'))"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        shared.jobs_t.create(conn, checkfirst=True)
    scheduler = BlockingScheduler(
        jobstores={"local": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(8)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone="UTC",
    )
    for name, (func, trigger, store) in JOBS.items():
        if store == "local":
            scheduler.add_job(func, id=name, name=name, jobstore="local", replace_existing=True, **_job_args(name, trigger))
    return scheduler


class SharedStoreLeader:
    """Holds the shared-jobs lock for this process when it can, and adds or removes the
    `shared` job store to match (see the module docstring)."""

    def __init__(self, scheduler: BlockingScheduler) -> None:
        self.scheduler = scheduler
        self.conn = None
        self.leading = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="shared-store-leader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self._step_down()
        self._close()

    def _run(self) -> None:
        while self.scheduler.state == STATE_STOPPED and not self._stop.wait(0.05):
            pass  # add the store to a running scheduler only
        log.info("standing by for the shared jobs")
        while not self._stop.is_set():
            try:
                self._tick()
            except Exception:
                log.exception("checking the shared-jobs lock failed")
            self._stop.wait(STANDBY_RETRY_SECONDS)

    def _tick(self) -> None:
        if self._held():
            if not self.leading:
                self._lead()
            return
        if self.leading:
            log.warning("lost the shared-jobs lock (its connection is gone); no longer running the shared jobs")
            self._step_down()
        if self._try_lock():
            self._lead()

    def _held(self) -> bool:
        if self.conn is None:
            return False
        try:
            return bool(self.conn.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid() "
                "AND classid = %s AND objid = %s AND objsubid = 2)", (SHARED_LOCK_CLASS, SHARED_LOCK_KEY)).fetchone()[0])
        except Exception:
            self._close()
            return False

    def _try_lock(self) -> bool:
        import psycopg

        from socialhub.core.db import database_url, libpq_url

        if self.conn is None:
            try:
                self.conn = psycopg.connect(libpq_url(database_url()), autocommit=True, connect_timeout=5,
                                            application_name=f"socialhub-scheduler-{os.getpid()}",
                                            keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=2)
            except Exception as exc:
                log.warning("cannot reach the database for the shared-jobs lock: %s", exc)
                return False
        try:
            got = self.conn.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)",
                                    (SHARED_LOCK_CLASS, SHARED_LOCK_KEY)).fetchone()[0]
        except Exception:
            self._close()
            return False
        return bool(got)

    def _lead(self) -> None:
        self.scheduler.add_jobstore(_shared_store(), "shared")
        for name, (func, trigger, store) in JOBS.items():
            if store == "shared":
                self.scheduler.add_job(func, id=name, name=name, jobstore="shared", replace_existing=True,
                                       **_job_args(name, trigger))
        self.leading = True
        log.info("this process runs the shared jobs (pid %s)", os.getpid())

    def _step_down(self) -> None:
        if self.leading:
            self.leading = False
            try:
                self.scheduler.remove_jobstore("shared", shutdown=True)
            except Exception:
                pass
        self._close()

    def _close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scheduler", description="Run SocialHub's background jobs.")
    parser.add_argument("--once", action="store_true", help="run the jobs once and exit")
    parser.add_argument("--only", choices=sorted(JOBS), help="with --once: run only this job")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s scheduler %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

    if args.once:
        for name, (func, _, _) in JOBS.items():
            if args.only in (None, name):
                log.info("running %s once", name)
                func()
        return 0

    scheduler = build_scheduler()
    leader = SharedStoreLeader(scheduler)

    def stop(signum, _frame):
        log.info("signal %s: shutting down", signum)
        threading.Thread(target=leader.stop, daemon=True).start()
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jobs.heartbeat()  # beat at once so /health is green as soon as the process is up
    log.info("scheduler %s started", jobs.INSTANCE_ID)
    leader.start()
    try:
        scheduler.start()
    finally:
        leader.stop()
        jobs.forget_instance()
        get_engine().dispose()
        log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
