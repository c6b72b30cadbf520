"""Extra publishing engines beside a scheduler process, so one scheduler uses every core.

One Python process runs Python code on one core at a time, and the publisher spends most of
its time in Python (building requests, parsing answers). A scheduler process therefore starts
`PUBLISH_PROCESSES - 1` worker processes (`python -m socialhub.schedule.publisher.workers`),
each running its own `engine.Engine` with its own claims and liveness lock: they share the
work through the database exactly as separate scheduler processes do.

Life cycle:
- started by the scheduler's `publish_due` job (never by `scheduler --once` or inline calls);
- a supervisor thread restarts a worker that exits unexpectedly (with a pause);
- on a clean exit of the scheduler (SIGTERM, Ctrl-C) the workers get SIGTERM, finish what they
  hold and exit; if the scheduler is killed outright, the kernel kills them with it
  (`PR_SET_PDEATHSIG`), so killing a scheduler really stops all of its publishing.
"""

from __future__ import annotations

import atexit
import ctypes
import logging
import os
import signal
import subprocess
import sys
import threading
import time

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1
RESTART_PAUSE_SECONDS = 2.0


def _die_with_parent() -> None:
    """Ask the kernel to SIGKILL this process when the thread that started it dies (Linux).

    Called by the worker itself at start-up (not between fork and exec, which is unsafe in a
    process with threads); `main` then checks that its parent did not die in the meantime.
    """
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass  # not Linux: the worker also watches its parent itself (see `main`)


class Supervisor:
    """Starts and keeps `count` worker processes for this scheduler process."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.procs: list[subprocess.Popen] = []
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        # The thread that forks the workers must live as long as the process: the kernel's
        # parent-death signal follows the forking *thread*.
        self._thread = threading.Thread(target=self._run, name="publishing-workers", daemon=True)
        self._thread.start()
        atexit.register(self.stop)

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ, SOCIALHUB_PUBLISHING_PARENT=str(os.getpid()))
        return subprocess.Popen([sys.executable, "-m", "socialhub.schedule.publisher.workers"], env=env)

    def _run(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]
        log.info("started %d publishing worker process(es): %s", self.count, [p.pid for p in self.procs])
        while not self._stopping.wait(1.0):
            for index, proc in enumerate(self.procs):
                if proc.poll() is not None and not self._stopping.is_set():
                    log.warning("publishing worker %s exited with %s; starting another", proc.pid, proc.returncode)
                    time.sleep(RESTART_PAUSE_SECONDS)
                    self.procs[index] = self._spawn()

    def stop(self, timeout: float = 60.0) -> None:
        self._stopping.set()
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + timeout
        for proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()


_supervisor: Supervisor | None = None
_lock = threading.Lock()


def ensure_started() -> Supervisor | None:
    """Start this process's worker processes once (none when `PUBLISH_PROCESSES` is 1)."""
    global _supervisor
    from socialhub.schedule.config import publishing_settings

    count = publishing_settings().processes - 1
    with _lock:
        if _supervisor is None and count > 0:
            _supervisor = Supervisor(count)
            _supervisor.start()
        return _supervisor


def main() -> int:
    """A worker process: tick an engine every second until SIGTERM (or the scheduler is gone)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s publishing-worker %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    from socialhub.schedule.publisher import engine

    parent = int(os.environ.get("SOCIALHUB_PUBLISHING_PARENT", "0") or 0)
    _die_with_parent()
    if parent and os.getppid() != parent:
        return 0  # the scheduler died before we could tie ourselves to it
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    running = engine.Engine()
    try:
        while not stopping.is_set():
            if parent and os.getppid() != parent:
                log.warning("the scheduler process is gone; stopping")
                break
            started = time.monotonic()
            try:
                running.tick()
            except Exception:
                log.exception("publishing tick failed")
            stopping.wait(max(0.0, 1.0 - (time.monotonic() - started)))
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
