"""Process bookkeeping: scheduler heartbeats and one-time flags such as "demo data loaded"."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from socialhub.models._base import created_at_field, timestamp_field


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
