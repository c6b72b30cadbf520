"""Process health: scheduler heartbeats, the `/health` report, and one-time flags."""

from __future__ import annotations

import os
import socket
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.core.models import AppFlag, SchedulerHeartbeat


def beat(session: Session, *, instance_id: str) -> None:
    """Record that this scheduler process is alive (an upsert, one row per process)."""
    now = utcnow()
    stmt = insert(SchedulerHeartbeat).values(
        instance_id=instance_id, hostname=socket.gethostname()[:255], pid=os.getpid(), started_at=now, beat_at=now
    )
    session.execute(stmt.on_conflict_do_update(index_elements=["instance_id"], set_={"beat_at": now}))


def forget_instance(session: Session, *, instance_id: str) -> None:
    row = session.get(SchedulerHeartbeat, instance_id)
    if row is not None:
        session.delete(row)


def latest_heartbeat(session: Session) -> datetime | None:
    return session.exec(select(SchedulerHeartbeat.beat_at).order_by(SchedulerHeartbeat.beat_at.desc())).first()


def health_report(session_factory, *, stale_after_s: float = 30.0) -> tuple[bool, dict]:
    """(healthy, report) for `/health`: is the database reachable, how old is the heartbeat."""
    report: dict = {"database": {"ok": False}, "scheduler": {"ok": False, "heartbeat_age_s": None}}
    try:
        with session_factory() as session:
            session.execute(text("SELECT 1"))
            report["database"] = {"ok": True}
            last = latest_heartbeat(session)
            instances = session.exec(select(SchedulerHeartbeat)).all()
    except Exception as exc:  # any driver error means "unreachable" to a health check
        report["database"] = {"ok": False, "error": type(exc).__name__}
        return False, report
    if last is not None:
        age = round((utcnow() - last).total_seconds(), 3)
        live = sum(1 for row in instances if (utcnow() - row.beat_at).total_seconds() <= stale_after_s)
        report["scheduler"] = {"ok": age <= stale_after_s, "heartbeat_age_s": age, "live_instances": live}
    healthy = report["database"]["ok"] and report["scheduler"]["ok"]
    return healthy, report


def get_flag(session: Session, *, name: str) -> str | None:
    row = session.get(AppFlag, name)
    return None if row is None else row.value


def set_flag_once(session: Session, *, name: str, value: str = "1") -> bool:
    """Set a flag if nobody has; True for the one caller that set it (safe under concurrency)."""
    # RETURNING, not rowcount: through this driver rowcount is -1 here, and bool(-1) is True.
    result = session.execute(
        insert(AppFlag).values(name=name, value=value, set_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"]).returning(AppFlag.name)
    )
    return result.first() is not None
