"""The hub's own network, minimal for now: profiles, follows and timeline posts.

What the `hub` platform account publishes lands here: on the profile's page and in the home
feed of everyone who follows that profile. `SocialPost.idempotency_key` is unique, so the
publisher can never create the same hub post twice.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field


class Profile(SQLModel, table=True):
    __tablename__ = "social_profiles"

    id: int | None = pk_field()
    user_id: int | None = fk_field("users.id", nullable=True)
    handle: str = Field(max_length=50, unique=True)
    display_name: str = Field(max_length=100)
    bio: str = Field(default="", max_length=500)
    created_at: datetime = created_at_field()


class Follow(SQLModel, table=True):
    __tablename__ = "social_follows"
    __table_args__ = (UniqueConstraint("follower_id", "followee_id"),)

    id: int | None = pk_field()
    follower_id: int = fk_field("social_profiles.id")
    followee_id: int = fk_field("social_profiles.id")
    created_at: datetime = created_at_field()


class SocialPost(SQLModel, table=True):
    __tablename__ = "social_posts"
    __table_args__ = (Index("ix_social_posts_profile_created", "profile_id", "created_at"),)

    id: int | None = pk_field()
    profile_id: int = fk_field("social_profiles.id", index=False)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    media: list[dict] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    reply_to_id: int | None = fk_field("social_posts.id", nullable=True, ondelete="SET NULL")
    idempotency_key: str | None = Field(default=None, max_length=120, unique=True)
    created_at: datetime = created_at_field()
