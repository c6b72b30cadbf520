"""In-app notifications: the bell. Written by any process, pushed live through the event bus."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from socialhub.models._base import created_at_field, fk_field, pk_field, timestamp_field


class Notification(SQLModel, table=True):
    __tablename__ = "notifications"

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    kind: str = Field(default="info", max_length=30)
    title: str = Field(max_length=200)
    body: str = Field(default="", max_length=2000)
    link: str = Field(default="", max_length=300)
    created_at: datetime = created_at_field()
    read_at: datetime | None = timestamp_field()
