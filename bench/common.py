"""What every benchmark shares: a scratch database of its own, percentiles, JSON printed last."""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator

import psycopg


@contextlib.contextmanager
def scratch_database(prefix: str = "sh_bench", *, keep: bool = False) -> Iterator[str]:
    """A migrated database on DATABASE_URL's server (or the embedded one), dropped afterwards.

    Inside the block DATABASE_URL points at it, so services and child processes use it.
    """
    from alembic import command
    from alembic.config import Config
    from sqlalchemy.engine import make_url

    from socialhub.core import db
    from socialhub.core.config import ROOT
    from socialhub.launcher import ensure_database

    with ensure_database() as server_url:
        server = db.libpq_url(server_url)
        name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = make_url(server).set(database=name).render_as_string(hide_password=False)
        os.environ["DATABASE_URL"] = url
        try:
            command.upgrade(Config(str(ROOT / "alembic.ini")), "heads")
            yield url
        finally:
            db.reset_engines()
            if keep:
                print(f"kept database {name}")
            else:
                with psycopg.connect(server, autocommit=True) as conn:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def report(results: dict, out: str | None) -> int:
    """Write the results to `out` (if given) and print them as the last thing on stdout."""
    text = json.dumps(results, indent=2)
    if out:
        with open(out, "w") as fh:
            fh.write(text)
    print(text)
    return 0


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0–100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))
    return ordered[index]
