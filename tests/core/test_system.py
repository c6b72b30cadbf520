"""System service: scheduler heartbeats, the health report, and one-time flags."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import create_engine
from sqlmodel import Session, select

from socialhub.core import db
from socialhub.core.models import AppFlag, SchedulerHeartbeat
from socialhub.core import system


def test_beat_upserts_one_row_per_instance(session):
    system.beat(session, instance_id="sched-a")
    session.commit()
    first = session.get(SchedulerHeartbeat, "sched-a")
    first_beat, started = first.beat_at, first.started_at
    system.beat(session, instance_id="sched-a")
    system.beat(session, instance_id="sched-b")
    session.commit()
    session.expire_all()
    rows = {r.instance_id: r for r in session.exec(select(SchedulerHeartbeat))}
    assert sorted(rows) == ["sched-a", "sched-b"]
    assert rows["sched-a"].beat_at > first_beat
    assert rows["sched-a"].started_at == started  # the upsert only moves beat_at
    assert system.latest_heartbeat(session) == max(r.beat_at for r in rows.values())


def test_forget_instance_removes_its_heartbeat(session):
    system.beat(session, instance_id="sched-a")
    session.commit()
    system.forget_instance(session, instance_id="sched-a")
    system.forget_instance(session, instance_id="never-seen")  # no error
    session.commit()
    assert system.latest_heartbeat(session) is None


def test_health_report_without_heartbeat_is_degraded(database_url):
    healthy, report = system.health_report(db.session_scope)
    assert healthy is False
    assert report["database"] == {"ok": True}
    assert report["scheduler"] == {"ok": False, "heartbeat_age_s": None}


def test_health_report_with_fresh_heartbeat_is_healthy(session):
    system.beat(session, instance_id="sched-a")
    session.commit()
    healthy, report = system.health_report(db.session_scope)
    assert healthy is True
    assert report["database"]["ok"] is True
    assert report["scheduler"]["ok"] is True
    assert 0 <= report["scheduler"]["heartbeat_age_s"] < 5
    assert report["scheduler"]["live_instances"] == 1


def test_stale_heartbeat_marks_scheduler_not_ok(session):
    system.beat(session, instance_id="sched-a")
    system.beat(session, instance_id="sched-b")
    session.commit()
    for row in session.exec(select(SchedulerHeartbeat)):
        row.beat_at -= timedelta(seconds=120)
        session.add(row)
    session.commit()
    healthy, report = system.health_report(db.session_scope, stale_after_s=30)
    assert healthy is False
    assert report["database"]["ok"] is True
    assert report["scheduler"]["ok"] is False
    assert report["scheduler"]["heartbeat_age_s"] >= 120
    assert report["scheduler"]["live_instances"] == 0
    # One fresh instance among stale ones is enough.
    system.beat(session, instance_id="sched-b")
    session.commit()
    healthy, report = system.health_report(db.session_scope, stale_after_s=30)
    assert healthy is True and report["scheduler"]["live_instances"] == 1


def test_unreachable_database_is_reported_not_raised():
    # Port 1 on localhost: nothing listens there, the connection is refused at once.
    engine = create_engine("postgresql+psycopg://nobody@127.0.0.1:1/none", connect_args={"connect_timeout": 2})
    try:
        healthy, report = system.health_report(lambda: Session(engine))
    finally:
        engine.dispose()
    assert healthy is False
    assert report["database"]["ok"] is False
    assert report["database"]["error"]  # the error's type name, no connection details
    assert "nobody" not in str(report) and "127.0.0.1" not in str(report)
    assert report["scheduler"]["ok"] is False


def test_set_flag_once_is_true_only_for_the_first_caller(session):
    assert system.get_flag(session, name="demo_data_loaded") is None
    assert system.set_flag_once(session, name="demo_data_loaded", value="v1") is True
    session.commit()
    assert system.set_flag_once(session, name="demo_data_loaded", value="v2") is False
    session.commit()
    assert system.get_flag(session, name="demo_data_loaded") == "v1"
    assert system.set_flag_once(session, name="other_flag") is True
    session.commit()
    assert len(session.exec(select(AppFlag)).all()) == 2


def test_set_flag_once_across_two_sessions(database_url):
    """Two sessions, as two processes would: only the first one sets the flag."""
    engine = db.get_engine()
    with Session(engine) as one, Session(engine) as two:
        assert system.set_flag_once(one, name="race") is True
        one.commit()
        assert system.set_flag_once(two, name="race") is False
        two.commit()
