"""System jobs: the heartbeat `/health` reads, and pruning of expired sign-in rows."""

from __future__ import annotations

import os
import socket
import uuid

from sqlalchemy import delete

from socialhub.db import session_scope
from socialhub.models._base import utcnow
from socialhub.models.accounts import AuthSession, Invite, LoginAttempt, LoginTicket
from socialhub.services import accounts, system

# One id per process, so several schedulers each keep their own heartbeat row.
INSTANCE_ID = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def heartbeat() -> None:
    with session_scope() as session:
        system.beat(session, instance_id=INSTANCE_ID)


def forget_instance() -> None:
    with session_scope() as session:
        system.forget_instance(session, instance_id=INSTANCE_ID)


def cleanup_expired() -> None:
    now = utcnow()
    with session_scope() as session:
        session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
        session.execute(delete(LoginTicket).where(LoginTicket.expires_at < now))
        session.execute(delete(Invite).where(Invite.expires_at < now, Invite.accepted_at.is_(None)))
        session.execute(delete(LoginAttempt).where(LoginAttempt.created_at < now - accounts.LOGIN_WINDOW))
