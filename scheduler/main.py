"""Entry point of the scheduler process (`python -m scheduler` or `socialhub scheduler`).

APScheduler 3 with two job stores: `shared`, the SQLAlchemy job store in PostgreSQL's
`scheduler` schema (which Alembic never touches), and `local`, in memory, for per-process jobs.
SIGTERM and SIGINT shut down cleanly: running jobs finish and the heartbeat row is removed.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import text

from scheduler.jobs import JOBS
from socialhub.core import jobs
from socialhub.core.config import get_settings
from socialhub.core.db import get_engine

log = logging.getLogger("scheduler")
SCHEMA = "scheduler"


def build_scheduler() -> BlockingScheduler:
    engine = get_engine()
    shared = SQLAlchemyJobStore(engine=engine, tablename="apscheduler_jobs", tableschema=SCHEMA)
    # Several schedulers may start at once on a fresh database: create the schema and the job
    # table under one advisory lock, so no two processes race on CREATE (APScheduler's own
    # "create if missing" is check-then-create and fails with a unique violation).
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('socialhub.scheduler.schema'))"))
        conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        shared.jobs_t.create(conn, checkfirst=True)
    scheduler = BlockingScheduler(
        jobstores={"shared": shared, "local": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(8)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone="UTC",
    )
    for name, (func, trigger, store) in JOBS.items():
        trigger = dict(trigger)
        if name == "heartbeat":
            trigger["seconds"] = get_settings().heartbeat_seconds
        scheduler.add_job(func, id=name, name=name, jobstore=store, replace_existing=True, **trigger)
    return scheduler


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

    def stop(signum, _frame):
        log.info("signal %s: shutting down", signum)
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    jobs.heartbeat()  # beat at once so /health is green as soon as the process is up
    log.info("scheduler %s started", jobs.INSTANCE_ID)
    try:
        scheduler.start()
    finally:
        jobs.forget_instance()
        get_engine().dispose()
        log.info("scheduler stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
