"""Channels' tables: connected platform accounts, the OAuth apps SocialHub registers with a
server, and connect round trips in progress.

Tokens and other platform secrets are stored only as ciphertext, each bound to its row and
column by the encryption context (`channels/accounts.py`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field, timestamp_field

ACCOUNT_STATUSES = ("ok", "needs_reconnect", "disconnected")


class PlatformAccount(SQLModel, table=True):
    """A social account a team publishes to (the hub timeline, a Mastodon account, an X user…)."""

    __tablename__ = "platform_accounts"
    __table_args__ = (UniqueConstraint("team_id", "platform", "base_url", "external_id"),)

    id: int | None = pk_field()
    team_id: int = fk_field("teams.id")
    platform: str = Field(max_length=20, index=True)
    external_id: str = Field(max_length=255)  # the platform's id: DID, user id, URN, hub profile id
    handle: str = Field(default="", max_length=200)
    display_name: str = Field(default="", max_length=200)
    base_url: str = Field(default="", max_length=300)  # Mastodon instance, Bluesky PDS; "" = default
    timezone: str = Field(default="UTC", max_length=64)  # time slots are in this zone
    access_token_ciphertext: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    refresh_token_ciphertext: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    secrets_ciphertext: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    token_expires_at: datetime | None = timestamp_field(index=True)
    status: str = Field(default="ok", max_length=20, index=True)
    status_detail: str = Field(default="", max_length=500)
    limits: dict = Field(default_factory=dict, sa_column=Column(JSONB, nullable=False, server_default="{}"))
    limits_fetched_at: datetime | None = timestamp_field()
    rate_limited_until: datetime | None = timestamp_field()
    last_refreshed_at: datetime | None = timestamp_field()
    connected_by_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PlatformApp(SQLModel, table=True):
    """An OAuth client registered with one server (Mastodon registers an app per instance)."""

    __tablename__ = "platform_apps"
    __table_args__ = (UniqueConstraint("platform", "base_url", "redirect_uri"),)

    id: int | None = pk_field()
    platform: str = Field(max_length=20)
    base_url: str = Field(max_length=300)
    redirect_uri: str = Field(max_length=500)
    scopes: str = Field(default="", max_length=300)
    client_id: str = Field(max_length=255)
    client_secret_ciphertext: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()


class OAuthState(SQLModel, table=True):
    """One "connect an account" round trip in progress: single use, ten minutes, one user."""

    __tablename__ = "oauth_states"

    id: int | None = pk_field()
    state_hash: str = Field(max_length=64, unique=True, index=True)
    team_id: int = fk_field("teams.id")
    user_id: int = fk_field("users.id")
    platform: str = Field(max_length=20)
    base_url: str = Field(default="", max_length=300)
    redirect_uri: str = Field(max_length=500)
    code_verifier_ciphertext: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
