"""The publisher in real scheduler processes: on time to the second, never early, once each,
and a process killed mid-run loses nothing and doubles nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import timedelta

import httpx
from sqlalchemy import func
from sqlmodel import Session, select

from socialhub.core.config import ROOT
from socialhub.core.db import get_engine, session_scope
from socialhub.channels.adapters import OAuthTokens
from socialhub.core.models import utcnow
from socialhub.schedule.models import Post, PostTarget, PublishAttempt
from socialhub.schedule.hub.models import SocialPost
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule.hub import timeline
from socialhub.schedule import posts, timing
from tests.scheduler.test_scheduler_process import heartbeats, wait_until
from tests.schedule.support import make_crew

FINAL = ("published", "failed", "missed", "cancelled")


def start_scheduler(database_url: str, **env: str) -> subprocess.Popen:
    environment = dict(os.environ, DATABASE_URL=database_url, SCHEDULER_HEARTBEAT_SECONDS="1", **env)
    return subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=environment,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def start_all(database_url: str, n: int, **env: str) -> list[subprocess.Popen]:
    """Start `n` schedulers, the first alone until it has created the scheduler's job table."""
    procs = [start_scheduler(database_url, **env)]
    with Session(get_engine()) as s:
        assert wait_until(lambda: len(heartbeats(s)) >= 1, timeout=60), procs[0].stdout.read() if procs[0].poll() is not None else ""
        procs += [start_scheduler(database_url, **env) for _ in range(n - 1)]
        assert wait_until(lambda: len(heartbeats(s)) >= n, timeout=60)
    return procs


def open_targets() -> int:
    with session_scope() as s:
        return s.exec(select(func.count()).select_from(PostTarget).where(PostTarget.status.not_in(FINAL))).one()


def test_posts_go_out_within_a_second_or_two_of_their_time_and_never_early(database_url, session):
    crew = make_crew(session)
    hub = timeline.connect_hub_account(session, team_id=crew.team.id, actor_id=crew.owner.id)
    session.commit()
    procs = start_all(database_url, 1)
    try:
        due_posts = []
        for delay in (2.0, 3.3, 4.7):
            post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=f"at +{delay}",
                                     account_ids=[hub.id])
            timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                     when=utcnow() + timedelta(seconds=delay))
            due_posts.append(post)
        session.commit()
        assert wait_until(lambda: open_targets() == 0, timeout=30)
    finally:
        stop(procs)
    session.expire_all()
    for post in due_posts:
        scheduled = session.get(Post, post.id).scheduled_at
        created = session.exec(select(SocialPost.created_at).where(SocialPost.text == post.text)).one()
        late = (created - scheduled).total_seconds()
        assert 0 <= late < 1.5, f"{post.text}: {late:.3f} s late"


def test_two_schedulers_publish_every_post_exactly_once(database_url, session):
    crew = make_crew(session)
    hub = timeline.connect_hub_account(session, team_id=crew.team.id, actor_id=crew.owner.id)
    session.commit()
    procs = start_all(database_url, 2, PUBLISH_BATCH_SIZE="2", PUBLISH_MAX_HELD="4", PUBLISH_CONCURRENCY="2")
    try:
        due = utcnow() + timedelta(seconds=3)
        for i in range(60):
            post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=f"post {i}",
                                     account_ids=[hub.id])
            timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=due)
        session.commit()
        assert wait_until(lambda: open_targets() == 0, timeout=60)
    finally:
        stop(procs)
    assert session.exec(select(func.count()).select_from(SocialPost)).one() == 60
    per_target = session.exec(select(PublishAttempt.target_id, func.count()).group_by(PublishAttempt.target_id)).all()
    assert len(per_target) == 60 and all(n == 1 for _, n in per_target), "each target was attempted by one process, once"
    workers = session.exec(select(func.count(func.distinct(PublishAttempt.worker)))).one()
    assert workers >= 2, "the processes shared the work"


def test_a_scheduler_killed_mid_run_loses_and_doubles_nothing(database_url, session):
    server = subprocess.Popen([sys.executable, "-m", "bench.platform_server", "--accounts", "2", "--latency-ms", "60"],
                              cwd=ROOT, stdout=subprocess.PIPE, text=True)
    procs: list[subprocess.Popen] = []
    try:
        url = server.stdout.readline().strip()
        crew = make_crew(session)
        accounts = [
            platform_accounts.connect_account(session, team_id=crew.team.id, actor_id=crew.owner.id, platform="bluesky",
                                              tokens=OAuthTokens(access_token=f"bench-token-{k}", account_id=f"did:plc:bench{k}",
                                                                 handle=f"bench{k}.test"), base_url=url)
            for k in range(2)
        ]
        session.commit()
        procs = start_all(database_url, 2, PUBLISH_BATCH_SIZE="10", PUBLISH_CONCURRENCY="2", PUBLISH_PREFETCH_SECONDS="0")
        due = utcnow() + timedelta(seconds=2)
        for i in range(80):
            post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=f"Bench post #{i}",
                                     account_ids=[accounts[i % 2].id])
            timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=due)
        session.commit()
        http = httpx.Client()
        assert wait_until(lambda: http.get(f"{url}/count").json()["records"] >= 20, timeout=30)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        procs.append(start_scheduler(database_url, PUBLISH_BATCH_SIZE="10", PUBLISH_CONCURRENCY="2"))
        assert wait_until(lambda: open_targets() == 0, timeout=90)
        stats = http.get(f"{url}/stats").json()
    finally:
        stop(procs)
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    assert stats["records"] == 80 and stats["duplicates"] == 0
    statuses = session.exec(select(PostTarget.status, func.count()).group_by(PostTarget.status)).all()
    assert dict(statuses) == {"published": 80}


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry))
    return kids


def alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_a_scheduler_runs_publishing_workers_that_stop_with_it_however_it_ends(database_url, session):
    procs = start_all(database_url, 2, PUBLISH_PROCESSES="2")
    try:
        assert wait_until(lambda: all(len(children_of(p.pid)) == 1 for p in procs), timeout=30), "one worker each"
        killed_workers = children_of(procs[0].pid)
        stopped_workers = children_of(procs[1].pid)
        procs[0].send_signal(signal.SIGKILL)
        procs[0].wait()
        assert wait_until(lambda: not any(alive(w) for w in killed_workers), timeout=10), "killed with their scheduler"
        procs[1].send_signal(signal.SIGTERM)
        assert procs[1].wait(timeout=60) == 0
        assert not any(alive(w) for w in stopped_workers), "stopped cleanly with their scheduler"
    finally:
        stop(procs)
