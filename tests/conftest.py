"""Test database: one migrated template database, and a fresh copy of it for every test.

`TEST_DATABASE_URL` (or `DATABASE_URL`) names the server; without either, the embedded
PostgreSQL is started under `.data/test-pg`. Each test gets `CREATE DATABASE … TEMPLATE`, so
tests never see each other's rows and services may commit freely.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import psycopg
import pytest

from socialhub.core import db

ROOT = Path(__file__).resolve().parent.parent
# The fake platforms, feed servers, SMTP and S3 of the tests listen on 127.0.0.1: let the egress
# guard reach them (tests/core/test_egress.py unsets this to test the guard itself).
os.environ.setdefault("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "1")
TEMPLATE = f"sh_tmpl_{os.getpid()}"


def _server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return db.libpq_url(url)
    return db.libpq_url(db.start_embedded_postgres(ROOT / ".data" / "test-pg"))


def _with_db(url: str, name: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=name).render_as_string(hide_password=False)





@pytest.fixture(scope="session")
def pg_server() -> str:
    return _server_url()


@pytest.fixture(scope="session")
def template_db(pg_server: str):
    """Create and migrate the template once per test run."""
    from alembic import command
    from alembic.config import Config

    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}"')
        conn.execute(f'CREATE DATABASE "{TEMPLATE}"')
    url = _with_db(pg_server, TEMPLATE)
    old = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    try:
        command.upgrade(Config(str(ROOT / "alembic.ini")), "heads")
    finally:
        db.reset_engines()
        if old is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = old
    yield url
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')


def _create_from_template(pg_server: str, prefix: str) -> tuple[str, str]:
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return name, _with_db(pg_server, name)


def _drop(pg_server: str, name: str) -> None:
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def new_database(pg_server: str, template_db: str):
    """Make extra migrated databases (e.g. for the app under a browser test); dropped at the end."""
    created: list[str] = []

    def make(prefix: str = "sh_x") -> str:
        name, url = _create_from_template(pg_server, prefix)
        created.append(name)
        return url

    yield make
    for name in created:
        _drop(pg_server, name)


@pytest.fixture
def database_url(pg_server: str, template_db: str, monkeypatch, tmp_path):
    """A fresh database for this test; DATABASE_URL points at it and data lives in tmp_path."""
    name, url = _create_from_template(pg_server, "sh_t")
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("SOCIALHUB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PUBLIC_URL", "http://localhost:3000")
    for var in ("SOCIALHUB_KEYS", "SMTP_HOST", "S3_BUCKET"):
        monkeypatch.delenv(var, raising=False)
    _clear_caches()
    yield url
    db.reset_engines()
    _clear_caches()
    _drop(pg_server, name)


def _clear_caches() -> None:
    from socialhub.core import config, crypto
    from socialhub.core import storage

    config.get_settings.cache_clear()
    crypto.reset_keyring_cache()
    storage.get_storage.cache_clear()


@pytest.fixture
def session(database_url):
    """A session on the test's own database; commit as the services' callers do."""
    from sqlmodel import Session

    with Session(db.get_engine(), expire_on_commit=False) as s:
        yield s


def pytest_collection_modifyitems(config, items):
    """Run the browser tests last: Playwright's sync API keeps an event loop running in the
    main thread for as long as its session fixture lives, which breaks `asyncio.run` in the
    tests that would otherwise come after it."""
    items.sort(key=lambda item: "tests/browser/" in str(item.path).replace("\\", "/"))


@pytest.fixture(autouse=True)
def _fast_password_hashing(request, monkeypatch):
    """OWASP's scrypt cost takes ~0.3 s and 128 MiB a hash; tests that only need *a* password
    use a cheaper one. Tests marked `owasp_cost` (and every subprocess) use the real cost."""
    if request.node.get_closest_marker("owasp_cost") is None:
        from socialhub.core import secrets

        monkeypatch.setattr(secrets, "_N", 2**14)
