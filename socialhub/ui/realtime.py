"""The backend's end of the event bus: LISTEN to PostgreSQL and update the affected pages.

Each backend worker keeps, in memory, which of *its* connected browsers belong to which user
(`register` runs on every protected page load). A lifespan task LISTENs on the bus channel and,
for each event, updates the state of those browsers; Reflex sends the delta down their
websockets. Several workers each do this for their own browsers, so it scales with Redis.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
import reflex as rx

from socialhub.core.db import database_url, libpq_url
from socialhub.core import events
from socialhub.ui import clients
from socialhub.ui.state import AppState

log = logging.getLogger(__name__)


async def _deliver(app: rx.App, event: dict) -> None:
    for user_id in event["user_ids"]:
        for token in clients.clients_of(user_id):
            try:
                async with app.modify_state(rx.BaseStateToken(ident=token, cls=AppState)) as root:
                    state = await root.get_state(AppState)
                    if state._user_id != user_id:  # the browser signed out or in as someone else
                        clients.forget(user_id, token)
                        continue
                    state._refresh_bell()
                    for cls, method in clients.refreshers_of(event["kind"]):
                        getattr(await root.get_state(cls), method)(event.get("data") or {})
            except Exception:  # one broken client must not stop the others
                log.exception("could not deliver %s to a client", event["kind"])
                clients.forget(user_id, token)


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
