"""The backend's end of the event bus: LISTEN to PostgreSQL and update the affected pages.

Each backend worker keeps, in memory, which of *its* connected browsers belong to which user
(`register` runs on every protected page load). A lifespan task LISTENs on the bus channel and,
for each event, updates the state of those browsers; Reflex sends the delta down their
websockets. Several workers each do this for their own browsers, so it scales with Redis.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

import psycopg
import reflex as rx

from socialhub.db import database_url, libpq_url
from socialhub.services import events

log = logging.getLogger(__name__)
_clients: dict[int, set[str]] = defaultdict(set)
MAX_CLIENTS_PER_USER = 50
# Event kind → (state class, method name): page states that want to hear of that kind.
_refreshers: dict[str, list[tuple[type, str]]] = defaultdict(list)


def on_event(kind: str, state_cls: type, method: str) -> None:
    """Call `state_cls.<method>(event data)` for each browser of the event's users (the page
    state checks whether it is open and for that team)."""
    if (state_cls, method) not in _refreshers[kind]:
        _refreshers[kind].append((state_cls, method))


def register(client_token: str, user_id: int) -> None:
    if not client_token:
        return
    for tokens in _clients.values():
        tokens.discard(client_token)
    tokens = _clients[user_id]
    if len(tokens) >= MAX_CLIENTS_PER_USER:
        tokens.pop()
    tokens.add(client_token)


def clients_of(user_id: int) -> list[str]:
    return list(_clients.get(user_id, ()))


async def _deliver(app: rx.App, event: dict) -> None:
    from socialhub.state.app import AppState

    for user_id in event["user_ids"]:
        for token in clients_of(user_id):
            try:
                async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)) as root:
                    state = await root.get_state(AppState)
                    if state._user_id != user_id:  # the browser signed out or in as someone else
                        _clients[user_id].discard(token)
                        continue
                    state._refresh_bell()
                    for cls, method in _refreshers.get(event["kind"], ()):
                        getattr(await root.get_state(cls), method)(event.get("data") or {})
            except Exception:  # one broken client must not stop the others
                log.exception("could not deliver %s to a client", event["kind"])
                _clients[user_id].discard(token)


async def listen(app: rx.App) -> None:
    """Lifespan task: LISTEN forever, reconnecting after errors."""
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(libpq_url(database_url()), autocommit=True) as conn:
                await conn.execute(f"LISTEN {events.CHANNEL}")
                async for note in conn.notifies():
                    try:
                        event = events.parse(note.payload)
                    except ValueError:
                        continue
                    await _deliver(app, event)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("event listener lost its connection; reconnecting")
            await asyncio.sleep(1)
