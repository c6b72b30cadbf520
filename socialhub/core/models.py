"""Column helpers shared by every model (aware UTC timestamps, cascading foreign keys) and the
tables no product owns: scheduler heartbeats, one-time flags, and every e-mail sent (the outbox).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey, Index, text
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def created_at_field() -> Any:
    return Field(default_factory=utcnow, sa_type=DateTime(timezone=True), nullable=False)


def timestamp_field(*, nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_type=DateTime(timezone=True), nullable=nullable, index=index)


def fk_field(target: str, *, nullable: bool = False, index: bool = True, ondelete: str = "CASCADE") -> Any:
    """A BIGINT foreign key that disappears with its parent (deleting a user removes their data)."""
    return Field(
        default=None,
        sa_column=Column(
            BigInteger, ForeignKey(target, ondelete=ondelete), nullable=nullable, index=index
        ),
    )


def pk_field() -> Any:
    return Field(default=None, sa_column=Column(BigInteger, primary_key=True, autoincrement=True))


class SchedulerHeartbeat(SQLModel, table=True):
    __tablename__ = "scheduler_heartbeats"

    instance_id: str = Field(primary_key=True, max_length=64)
    hostname: str = Field(max_length=255)
    pid: int
    started_at: datetime = created_at_field()
    beat_at: datetime = timestamp_field(nullable=False, index=True)


class AppFlag(SQLModel, table=True):
    __tablename__ = "app_flags"

    name: str = Field(primary_key=True, max_length=64)
    value: str = Field(default="", max_length=200)
    set_at: datetime = created_at_field()


class Email(SQLModel, table=True):
    __tablename__ = "emails"
    # The delivery job's scan: only rows still to be sent are in it.
    __table_args__ = (
        Index("ix_emails_pending", "next_attempt_at", postgresql_where=text("status IN ('queued', 'sending')")),
    )

    id: int | None = pk_field()
    sender_user_id: int | None = fk_field("users.id", nullable=True)
    to_address: str = Field(max_length=254, index=True)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str = ""
    # queued (SMTP set up, waiting for the delivery job) | sending (claimed) | sent | failed (gave up)
    # | outbox (no SMTP: it stays here, shown in Settings)
    status: str = Field(default="outbox", max_length=10)
    error: str = Field(default="", max_length=1000)
    attempts: int = Field(default=0)
    next_attempt_at: datetime | None = timestamp_field()
    claimed_until: datetime | None = timestamp_field()
    sent_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
