"""The scheduler process for real: heartbeat, its job store in the `scheduler` schema, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from sqlalchemy import text
from sqlmodel import select

from socialhub.core.config import ROOT
from socialhub.core.db import session_scope
from socialhub.core.models import SchedulerHeartbeat
from socialhub.core import system


def start_scheduler(database_url: str) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=database_url, SCHEDULER_HEARTBEAT_SECONDS="1")
    return subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wait_until(predicate, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def heartbeats(session):
    session.expire_all()
    session.rollback()
    return session.exec(select(SchedulerHeartbeat)).all()


def test_two_schedulers_beat_then_stop_cleanly_on_sigterm(database_url, session):
    procs = [start_scheduler(database_url) for _ in range(2)]
    try:
        assert wait_until(lambda: len(heartbeats(session)) == 2), "both processes should write a heartbeat row"
        first = {row.instance_id: row.beat_at for row in heartbeats(session)}
        assert wait_until(lambda: all(row.beat_at > first[row.instance_id] for row in heartbeats(session))), \
            "heartbeats keep moving"

        healthy, report = system.health_report(session_scope)
        assert healthy and report["scheduler"]["live_instances"] == 2
        assert report["scheduler"]["heartbeat_age_s"] < 10

        jobs = session.execute(text("SELECT id FROM scheduler.apscheduler_jobs")).scalars().all()
        assert "cleanup_expired" in jobs  # the shared job lives in PostgreSQL, in its own schema
        assert "heartbeat" not in jobs  # per-process jobs stay in memory
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        codes = [proc.wait(timeout=20) for proc in procs]
    assert codes == [0, 0], [p.stdout.read() for p in procs]
    assert heartbeats(session) == [], "a clean shutdown removes its heartbeat row"


def test_alembic_autogenerate_ignores_the_scheduler_schema_and_models_match(database_url):
    """`alembic check` is clean even after APScheduler created its table."""
    proc = start_scheduler(database_url)
    try:
        from sqlmodel import Session

        from socialhub.core.db import get_engine

        with Session(get_engine()) as s:
            assert wait_until(lambda: len(heartbeats(s)) == 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=20)
    result = subprocess.run([sys.executable, "-m", "alembic", "check"], cwd=ROOT, capture_output=True, text=True,
                            env=dict(os.environ, DATABASE_URL=database_url))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr


def test_once_runs_a_single_job_and_exits(database_url, session):
    env = dict(os.environ, DATABASE_URL=database_url)
    result = subprocess.run([sys.executable, "-m", "scheduler", "--once", "--only", "heartbeat"], cwd=ROOT,
                            env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert len(heartbeats(session)) == 1


def shared_jobs_holder(session) -> list[int]:
    """OS pids of the scheduler processes holding the shared-jobs lock (from its connection's name)."""
    import scheduler.main

    lock_class = getattr(scheduler.main, "SHARED_LOCK_CLASS", 0x5348)
    lock_key = getattr(scheduler.main, "SHARED_LOCK_KEY", 0)
    session.rollback()
    names = session.execute(text(
        "SELECT a.application_name FROM pg_locks AS l JOIN pg_stat_activity AS a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :c AND l.objid = :k AND l.objsubid = 2 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ), {"c": lock_class, "k": lock_key}).scalars().all()
    return [int(n.rsplit("-", 1)[1]) for n in names]


def test_one_scheduler_runs_the_shared_jobs_and_another_takes_over_when_it_dies(database_url, session):
    procs = [start_scheduler(database_url) for _ in range(2)]
    try:
        assert wait_until(lambda: len(heartbeats(session)) == 2), "both run their local jobs"
        assert wait_until(lambda: len(shared_jobs_holder(session)) == 1)
        time.sleep(5)  # the standby keeps trying; still only one holder
        [holder] = shared_jobs_holder(session)
        assert holder in [p.pid for p in procs]
        jobs = session.execute(text("SELECT id FROM scheduler.apscheduler_jobs")).scalars().all()
        assert "sweep_missed" in jobs and "publish_due" not in jobs
        leader = next(p for p in procs if p.pid == holder)
        standby = next(p for p in procs if p.pid != holder)
        leader.send_signal(signal.SIGKILL)
        leader.wait(timeout=10)
        killed_at = time.monotonic()
        assert wait_until(lambda: shared_jobs_holder(session) == [standby.pid], timeout=10), "the standby took over"
        assert time.monotonic() - killed_at < 10
        beat = {row.instance_id: row.beat_at for row in heartbeats(session)}
        assert wait_until(lambda: any(row.beat_at > beat.get(row.instance_id, row.beat_at) for row in heartbeats(session))), \
            "the survivor keeps running its local jobs"
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=30)
    out = {p.pid: p.stdout.read() for p in procs}
    assert "this process runs the shared jobs" in out[leader.pid]
    log = out[standby.pid]
    assert "standing by for the shared jobs" in log and "this process runs the shared jobs" in log
    assert log.index("standing by") < log.index("this process runs the shared jobs")
