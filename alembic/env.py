"""Alembic environment: our own models, the URL from DATABASE_URL, APScheduler's schema ignored.

APScheduler keeps its job table in the `scheduler` schema and creates it itself; autogenerate
only compares the default schema, and `include_name` refuses any other schema explicitly.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool
from sqlmodel import SQLModel

import socialhub.schema  # noqa: F401  (registers every table on SQLModel.metadata)
from socialhub.core.db import database_url, sqlalchemy_url

config = context.config
target_metadata = SQLModel.metadata


def include_name(name, type_, parent_names):
    if type_ == "schema":
        return name in (None, "public")
    return True


def run_migrations_online() -> None:
    connectable = context.config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    section = config.get_section(config.config_ini_section, {})
    section["sqlalchemy.url"] = sqlalchemy_url(database_url())
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_name=include_name,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
