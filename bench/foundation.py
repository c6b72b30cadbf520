"""Foundation benchmark: sign-in cost and event-bus latency on a real PostgreSQL.

    python -m bench.foundation [--rounds N] [--json OUT]

Measures (medians and p95 over N rounds, in milliseconds):
- `password_hash_ms`: one scrypt hash (the deliberate cost of a sign-up or password change);
- `sign_in_ms`: `accounts.authenticate` + login ticket, as the sign-in handler does;
- `session_check_ms`: `accounts.user_for_token`, which every event handler runs;
- `bus_latency_ms`: from `notifications.notify` + commit to a LISTENing connection receiving it.
Uses DATABASE_URL, or the embedded PostgreSQL, in a scratch database it drops afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import time

import psycopg


def _stats(samples: list[float]) -> dict:
    from bench.common import percentile

    ordered = sorted(samples)
    return {
        "median": round(statistics.median(ordered), 3),
        "p95": round(percentile(ordered, 95), 3),
        "n": len(ordered),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--json", dest="out")
    args = parser.parse_args(argv)

    from bench.common import report, scratch_database

    with scratch_database() as url:
        results = _run(url, args.rounds)
    return report(results, args.out)


def _run(url: str, rounds: int) -> dict:
    from socialhub.core import db
    from socialhub.core.db import session_scope
    from socialhub.identity import notifications, users
    from socialhub.core import events
    from socialhub.core.secrets import hash_password

    password = "timing many sign ins"
    hash_ms = []
    for _ in range(max(5, rounds // 5)):
        t = time.perf_counter()
        hash_password(password)
        hash_ms.append((time.perf_counter() - t) * 1000)

    with session_scope() as s:
        user = users.sign_up(s, name="Bench", email="bench@example.com", password=password)
        user_id = user.id
    sign_in_ms, check_ms = [], []
    token = ""
    for i in range(rounds):
        t = time.perf_counter()
        with session_scope() as s:
            u = users.authenticate(s, email="bench@example.com", password=password, ip="127.0.0.1")
            ticket = users.create_login_ticket(s, user_id=u.id)
        sign_in_ms.append((time.perf_counter() - t) * 1000)
        with session_scope() as s:
            token, _ = users.redeem_login_ticket(s, ticket=ticket)
        t = time.perf_counter()
        with session_scope() as s:
            assert users.user_for_token(s, token=token) is not None
        check_ms.append((time.perf_counter() - t) * 1000)

    bus_ms = []
    with psycopg.connect(db.libpq_url(url), autocommit=True) as listener:
        listener.execute(f"LISTEN {events.CHANNEL}")
        for i in range(rounds):
            t = time.perf_counter()
            with session_scope() as s:
                notifications.notify(s, user_id=user_id, title=f"bench {i}")
            for _ in listener.notifies(timeout=5, stop_after=1):
                bus_ms.append((time.perf_counter() - t) * 1000)
    return {
        "benchmark": "foundation",
        "rounds": rounds,
        "password_hash_ms": _stats(hash_ms),
        "sign_in_ms": _stats(sign_in_ms),
        "session_check_ms": _stats(check_ms),
        "bus_latency_ms": _stats(bus_ms),
    }


if __name__ == "__main__":
    raise SystemExit(main())
