"""Which connected browsers belong to which user in this backend worker, and which page states
want to hear of which event kinds. Filled on page loads and at import; read by `realtime.py`.
"""

from __future__ import annotations

from collections import defaultdict


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


def any_clients() -> bool:
    return any(_clients.values())


def clients_of(user_id: int) -> list[str]:
    return list(_clients.get(user_id, ()))


def forget(user_id: int, client_token: str) -> None:
    _clients[user_id].discard(client_token)


def refreshers_of(kind: str) -> list[tuple[type, str]]:
    return list(_refreshers.get(kind, ()))
