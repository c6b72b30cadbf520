"""The event bus: tell other processes that something changed for some users.

`publish` runs `pg_notify` inside the caller's transaction, so PostgreSQL delivers the event
only if (and when) that transaction commits — a listener never hears of a row it cannot read
yet. Payloads carry ids only; listeners re-read the rows.

Who is told: `user_ids` and/or `team_ids`. A team is sent as its id and the listener looks its
members up (`ui/realtime.py`, one query, cached briefly), so the payload does not grow with the
team. NOTIFY payloads are limited to 8000 bytes: an event whose user list would not fit is sent
as several events, each with a part of the users (`data` must stay small: ids of what changed,
chunked by the caller).
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from sqlalchemy import text
from sqlmodel import Session

CHANNEL = "socialhub_events"
MAX_PAYLOAD_BYTES = 7900  # PostgreSQL refuses a NOTIFY payload of 8000 bytes or more


def payloads(*, kind: str, user_ids: Iterable[int] = (), team_ids: Iterable[int] = (), data: dict | None = None) -> list[str]:
    """The NOTIFY payload(s) of one event: one, or several when the users do not fit in one."""
    users, teams = sorted(set(user_ids)), sorted(set(team_ids))

    def encode(part: list[int], with_teams: bool) -> str:
        return json.dumps({"kind": kind, "user_ids": part, "team_ids": teams if with_teams else [], "data": data or {}},
                          separators=(",", ":"))

    whole = encode(users, True)
    if len(whole.encode()) <= MAX_PAYLOAD_BYTES:
        return [whole]
    if len(encode([], True).encode()) > MAX_PAYLOAD_BYTES:
        raise ValueError(f"a {kind!r} event's data and teams do not fit in one NOTIFY: send ids, in chunks")
    out: list[str] = []
    step = max(1, (MAX_PAYLOAD_BYTES - len(encode([], True).encode())) // 12)  # an id is at most 11 bytes and a comma
    for start in range(0, len(users), step):
        out.append(encode(users[start:start + step], start == 0))
    return out


def publish(session: Session, *, kind: str, user_ids: Iterable[int] = (), team_ids: Iterable[int] = (),
            data: dict | None = None) -> None:
    for payload in payloads(kind=kind, user_ids=user_ids, team_ids=team_ids, data=data):
        session.execute(text("SELECT pg_notify(:channel, :payload)"), {"channel": CHANNEL, "payload": payload})


def parse(payload: str) -> dict:
    event = json.loads(payload)
    if not isinstance(event, dict) or "kind" not in event:
        raise ValueError("not a SocialHub event")
    event.setdefault("user_ids", [])
    event.setdefault("team_ids", [])
    event.setdefault("data", {})
    return event
