"""Jobs of every scheduler process: the heartbeat `/health` reads (one row per process), and
the e-mail delivery job that sends the outbox's queued rows (shared: claims rows, safe in parallel)."""

from __future__ import annotations

import os
import socket
import uuid

from socialhub.core.db import session_scope
from socialhub.core import outbox, system

# One id per process, so several schedulers each keep their own heartbeat row.
INSTANCE_ID = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def heartbeat() -> None:
    with session_scope() as session:
        system.beat(session, instance_id=INSTANCE_ID)


def deliver_email() -> None:
    outbox.deliver_queued(session_scope)


def forget_instance() -> None:
    with session_scope() as session:
        system.forget_instance(session, instance_id=INSTANCE_ID)


# The heartbeat's interval is the SCHEDULER_HEARTBEAT_SECONDS setting, filled in by the scheduler.
JOBS = {
    "heartbeat": (heartbeat, {"trigger": "interval", "seconds": None}, "local"),
    "deliver_email": (deliver_email, {"trigger": "interval", "seconds": 10}, "shared"),
}
