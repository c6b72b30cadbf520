"""The backend's end of the event bus: LISTEN to PostgreSQL and update the affected pages.

Each backend worker keeps, in memory, which of *its* connected browsers belong to which user
(`register` runs on every protected page load). A lifespan task LISTENs on the bus channel and,
for each event, updates the state of those browsers; Reflex sends the delta down their
websockets. An event names users and/or teams; a team's members are looked up here (one query,
reused for `TEAM_CACHE_SECONDS`), so events stay small whatever the size of the team. Several
workers each do this for their own browsers, so it scales with Redis.
"""

from __future__ import annotations

import asyncio
import logging
import time

import psycopg
import reflex as rx

from socialhub.core.db import database_url, libpq_url
from socialhub.core import events
from socialhub.ui import clients
from socialhub.ui.state import AppState

log = logging.getLogger(__name__)


TEAM_CACHE_SECONDS = 5.0  # how long a team's member list is reused
_members: dict[int, tuple[float, frozenset[int]]] = {}  # team id → (looked up at, member ids)


def _team_members(team_ids: list[int]) -> set[int]:
    """Members of these teams: one query for the teams not looked up in the last few seconds."""
    from sqlalchemy import select

    from socialhub.core.db import session_scope
    from socialhub.identity.models import TeamMember

    now = time.monotonic()
    stale = [t for t in team_ids if now - _members.get(t, (-1e9, frozenset()))[0] > TEAM_CACHE_SECONDS]
    if stale:
        found: dict[int, set[int]] = {t: set() for t in stale}
        with session_scope() as session:
            for team_id, user_id in session.execute(
                    select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(stale))):
                found[team_id].add(user_id)
        for team_id, members in found.items():
            _members[team_id] = (now, frozenset(members))
    return set().union(*(_members[t][1] for t in team_ids)) if team_ids else set()


async def _recipients(event: dict) -> list[int]:
    """The event's users, and the members of its teams (only if this worker has browsers open)."""
    users = set(event.get("user_ids") or ())
    team_ids = sorted({int(t) for t in event.get("team_ids") or ()})
    if team_ids and clients.any_clients():
        users |= await asyncio.to_thread(_team_members, team_ids)
    return sorted(users)


async def _deliver(app: rx.App, event: dict) -> None:
    for user_id in await _recipients(event):
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
