"""The real app for browser tests: `socialhub run` (production build) on a free port, its own
database on the test server, driven by Playwright with Debian's Chromium."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from socialhub.core.config import ROOT

ARTIFACTS = ROOT / "tests" / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def app_server(new_database, tmp_path_factory):
    url = new_database("sh_browser")
    port = _free_port()
    data_dir = tmp_path_factory.mktemp("app-data")
    env = dict(os.environ, DATABASE_URL=url, PORT=str(port), PUBLIC_URL=f"http://localhost:{port}",
               SOCIALHUB_DATA_DIR=str(data_dir), SCHEDULER_HEARTBEAT_SECONDS="2")
    env.pop("SMTP_HOST", None)
    log = open(data_dir / "app.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "socialhub.cli", "run"], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://localhost:{port}"
    deadline = time.monotonic() + 900  # a cold first build installs the front end's packages
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the app exited:\n" + Path(log.name).read_text()[-4000:])
            try:
                if httpx.get(f"{base}/health", timeout=2).status_code == 200 and \
                        httpx.get(f"{base}/signin/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the app did not start:\n" + Path(log.name).read_text()[-4000:])
            time.sleep(1)
        # Outside the embedded database the demo password is random, printed once at start.
        found = re.search(r"sign in as \S+ / (\S+)", Path(log.name).read_text())
        yield {"base": base, "env": env, "log": Path(log.name), "demo_password": found.group(1) if found else ""}
    finally:
        # Ctrl-C equivalent: the launcher stops the scheduler and the app it started.
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            raise
        finally:
            log.close()
        assert code == 0, Path(log.name).read_text()[-3000:]
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"{base}/health", timeout=2)


@pytest.fixture(scope="session")
def playwright():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian chromium is missing: run scripts/ensure_chromium.sh")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


@pytest.fixture
def persistent_context(playwright, tmp_path):
    """A browser profile on disk (not incognito), as an installed PWA needs."""
    ctx = playwright.chromium.launch_persistent_context(
        str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
        viewport={"width": 1280, "height": 800})
    yield ctx
    ctx.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
