"""Identity jobs: pruning of expired sessions, sign-in tickets, login attempts, invites and
e-mail verification links."""

from __future__ import annotations

from sqlalchemy import delete

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.identity.models import AuthSession, EmailVerification, Invite, LoginAttempt, LoginTicket
from socialhub.identity import users


def cleanup_expired() -> None:
    now = utcnow()
    with session_scope() as session:
        session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
        session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
        session.execute(delete(EmailVerification).where(EmailVerification.expires_at < now))
        session.execute(delete(Invite).where(Invite.expires_at < now, Invite.accepted_at.is_(None)))
        session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - users.LOGIN_WINDOW))


JOBS = {
    "cleanup_expired": (cleanup_expired, {"trigger": "interval", "minutes": 15}, "shared"),
}
