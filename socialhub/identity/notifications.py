"""The bell: create notifications for a user (from any process) and read/mark them."""

from __future__ import annotations

from sqlalchemy import func, update
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import Notification
from socialhub.core import events


def notify(
    session: Session, *, user_id: int, title: str, body: str = "", link: str = "", kind: str = "info"
) -> Notification:
    """Store a notification and announce it; it reaches open pages when the caller commits."""
    note = Notification(user_id=user_id, title=title[:200], body=body[:2000], link=link[:300], kind=kind[:30])
    session.add(note)
    session.flush()
    events.publish(session, kind="notification", user_ids=[user_id], data={"id": note.id})
    return note


def list_notifications(session: Session, *, user_id: int, limit: int = 20) -> list[Notification]:
    stmt = (
        select(Notification)
        .where(Notification.user_id == user_id)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .limit(limit)
    )
    return list(session.exec(stmt))


def unread_count(session: Session, *, user_id: int) -> int:
    stmt = select(func.count()).select_from(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return session.exec(stmt).one()


def mark_all_read(session: Session, *, user_id: int) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return result.rowcount or 0
