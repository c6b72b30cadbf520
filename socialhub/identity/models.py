"""Users, sign-in sessions, teams, members, invites, per-user AI provider keys and notifications (the bell).

Invariants: e-mail addresses are stored lower-cased and unique; session tokens, login tickets,
their browser nonces, invite tokens and e-mail verification tokens are stored only as SHA-256
hashes; provider keys only as ciphertext. `User.email_verified_at` is set only by following a
link sent to the address (or for accounts the operator vouches for: demo, existing users).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field, timestamp_field

ROLES = ("owner", "admin", "editor", "viewer")
THEMES = ("system", "light", "dark")


class User(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = pk_field()
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=100)
    password_hash: str = Field(max_length=255)
    timezone: str = Field(default="UTC", max_length=64)
    theme: str = Field(default="system", max_length=10)
    active_team_id: int | None = Field(default=None)
    is_demo: bool = Field(default=False)
    email_verified_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class AuthSession(SQLModel, table=True):
    """A signed-in browser. The cookie holds the token; the row holds its hash."""

    __tablename__ = "auth_sessions"

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    token_hash: str = Field(max_length=64, unique=True, index=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    last_seen_at: datetime | None = timestamp_field()
    user_agent: str = Field(default="", max_length=300)


class LoginTicket(SQLModel, table=True):
    """A one-time, one-minute ticket a page exchanges for the HttpOnly session cookie."""

    __tablename__ = "login_tickets"

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    ticket_hash: str = Field(max_length=64, unique=True, index=True)
    expires_at: datetime = timestamp_field(nullable=False)
    next_path: str = Field(default="/feed", max_length=300)
    # Hash of the sign-in browser's nonce cookie: only that browser can redeem the ticket.
    nonce_hash: str = Field(default="", max_length=64)


class EmailVerification(SQLModel, table=True):
    """A link sent to an address; following it before `expires_at` proves the user reads it."""

    __tablename__ = "email_verifications"

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    email: str = Field(max_length=254)
    token_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)


class LoginAttempt(SQLModel, table=True):
    """Failed sign-ins, counted per e-mail and per IP for rate limiting."""

    __tablename__ = "login_attempts"

    id: int | None = pk_field()
    email: str = Field(max_length=254, index=True)
    ip: str = Field(max_length=64, index=True)
    created_at: datetime = created_at_field()


class Team(SQLModel, table=True):
    __tablename__ = "teams"

    id: int | None = pk_field()
    name: str = Field(max_length=100)
    personal_owner_id: int | None = fk_field("users.id", nullable=True)
    created_at: datetime = created_at_field()


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_members"
    __table_args__ = (UniqueConstraint("team_id", "user_id"),)

    id: int | None = pk_field()
    team_id: int = fk_field("teams.id")
    user_id: int = fk_field("users.id")
    role: str = Field(max_length=10)
    created_at: datetime = created_at_field()


class Invite(SQLModel, table=True):
    __tablename__ = "invites"

    id: int | None = pk_field()
    team_id: int = fk_field("teams.id")
    email: str = Field(max_length=254, index=True)
    role: str = Field(max_length=10)
    token_hash: str = Field(max_length=64, unique=True)
    invited_by_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    created_at: datetime = created_at_field()
    expires_at: datetime = timestamp_field(nullable=False)
    accepted_at: datetime | None = timestamp_field()


class ProviderKey(SQLModel, table=True):
    """A user's own AI provider key (OpenAI, Anthropic, Google), encrypted at rest."""

    __tablename__ = "provider_keys"
    __table_args__ = (UniqueConstraint("user_id", "provider"),)

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    provider: str = Field(max_length=20)
    ciphertext: str
    last4: str = Field(max_length=4)
    updated_at: datetime = created_at_field()


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
