"""Every e-mail the app sends: delivered by SMTP, or kept in the outbox when SMTP is not set up."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from socialhub.models._base import created_at_field, fk_field, pk_field


class Email(SQLModel, table=True):
    __tablename__ = "emails"

    id: int | None = pk_field()
    sender_user_id: int | None = fk_field("users.id", nullable=True)
    to_address: str = Field(max_length=254, index=True)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str = ""
    status: str = Field(default="outbox", max_length=10)  # outbox | sent | failed
    error: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
