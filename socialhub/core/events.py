"""The event bus: tell other processes that something changed for some users.

`publish` runs `pg_notify` inside the caller's transaction, so PostgreSQL delivers the event
only if (and when) that transaction commits — a listener never hears of a row it cannot read
yet. Payloads carry ids only (NOTIFY payloads are limited to 8 kB); listeners re-read the rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session

CHANNEL = "socialhub_events"


def publish(session: Session, *, kind: str, user_ids: Iterable[int], data: dict | None = None) -> None:
    payload = json.dumps({"kind": kind, "user_ids": sorted(set(user_ids)), "data": data or {}})
    session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


def parse(payload: str) -> dict:
    event = json.loads(payload)
    if not isinstance(event, dict) or "kind" not in event:
        raise ValueError("not a SocialHub event")
    event.setdefault("user_ids", [])
    event.setdefault("data", {})
    return event
