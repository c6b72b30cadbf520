"""All tables, imported here so SQLModel.metadata (and Alembic) sees every one."""

from socialhub.models.accounts import (
    AuthSession,
    Invite,
    LoginAttempt,
    LoginTicket,
    ProviderKey,
    Team,
    TeamMember,
    User,
)
from socialhub.models.mail import Email
from socialhub.models.notifications import Notification
from socialhub.models.system import AppFlag, SchedulerHeartbeat

__all__ = [
    "AppFlag",
    "AuthSession",
    "Email",
    "Invite",
    "LoginAttempt",
    "LoginTicket",
    "Notification",
    "ProviderKey",
    "SchedulerHeartbeat",
    "Team",
    "TeamMember",
    "User",
]
