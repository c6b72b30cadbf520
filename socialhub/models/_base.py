"""Column helpers shared by every model: aware UTC timestamps and cascading foreign keys."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Column, DateTime, ForeignKey
from sqlmodel import Field


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
