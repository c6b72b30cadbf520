"""Media's table: one row per uploaded file, owned by a team; the bytes live in storage."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field

class Media(SQLModel, table=True):
    """An uploaded image or video, checked by content; the bytes live in storage under `storage_key`."""

    __tablename__ = "media"

    id: int | None = pk_field()
    team_id: int = fk_field("teams.id")
    uploaded_by_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    storage_key: str = Field(max_length=200, unique=True)
    content_type: str = Field(max_length=50)
    kind: str = Field(max_length=10)  # image | gif | video
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = None
    alt_text: str = Field(default="", max_length=5000)
    filename: str = Field(default="", max_length=200)  # for display only; never used as a path
    sha256: str = Field(max_length=64)
    created_at: datetime = created_at_field()
