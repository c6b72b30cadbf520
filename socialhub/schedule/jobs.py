"""Schedule's scheduler jobs: thin wrappers over `publisher/`, `channels.accounts` and `timing`.

- `publish_due` (every second, in every process, local store): one tick of this process's
  publishing engine. Each tick claims due targets with SKIP LOCKED and sleeps until the next
  due target within the second, so posts go out on time and processes never share a target.
  The first tick also starts `PUBLISH_PROCESSES - 1` publishing worker processes
  (`publisher/workers.py`) so that one scheduler process uses every core.
- `refresh_tokens` (every minute, shared): refresh tokens that expire soon, one account at a time.
- `materialize_recurrences` (every minute, shared): create the next occurrence of recurring posts.
- `sweep_missed` (every 15 seconds, shared): mark posts whose time passed long ago as missed.
The shared jobs lock their rows with SKIP LOCKED, so several processes may run them at once.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from socialhub.channels import accounts
from socialhub.schedule.publisher import engine, workers
from socialhub.schedule import timing

# httpx logs every request at INFO: one line per published post. The publisher's activity log
# and attempt log already record each one.
logging.getLogger("httpx").setLevel(logging.WARNING)

# The first tick runs as soon as the process starts, not a second later: a process started to
# replace one that died takes over its work at once.
START_NOW = datetime.now(UTC)


def publish_due() -> None:
    engine.engine().tick()
    if threading.current_thread() is not threading.main_thread():  # the running scheduler, not --once
        workers.ensure_started()


def refresh_tokens() -> None:
    accounts.refresh_expiring_tokens()


def materialize_recurrences() -> None:
    timing.materialize_recurrences()


def sweep_missed() -> None:
    timing.sweep_missed()


JOBS = {
    "publish_due": (publish_due, {"trigger": "interval", "seconds": 1, "next_run_time": START_NOW}, "local"),
    "refresh_tokens": (refresh_tokens, {"trigger": "interval", "minutes": 1}, "shared"),
    "materialize_recurrences": (materialize_recurrences, {"trigger": "interval", "minutes": 1}, "shared"),
    "sweep_missed": (sweep_missed, {"trigger": "interval", "seconds": 15}, "shared"),
}
