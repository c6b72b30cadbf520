"""Sending e-mail: through SMTP when configured, otherwise into the outbox. Both are logged.

Every message becomes an `emails` row (status sent, outbox or failed), which is the delivery
log and, without SMTP, the outbox that the Settings page lists.
"""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, select

from socialhub.config import get_settings
from socialhub.integrations import mail as smtp
from socialhub.models.accounts import User
from socialhub.models.mail import Email


def send_email(
    session: Session, *, to: str, subject: str, text: str, html: str = "", sender_user_id: int | None = None
) -> Email:
    row = Email(sender_user_id=sender_user_id, to_address=to, subject=subject[:300], text_body=text, html_body=html)
    settings = get_settings()
    if settings.smtp_host:
        try:
            smtp.send_smtp(
                smtp.OutgoingEmail(to=to, subject=subject, text=text, html=html or None),
                host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                password=settings.smtp_password, starttls=settings.smtp_starttls, mail_from=settings.mail_from,
            )
            row.status = "sent"
        except (smtp.MailError, ValueError) as exc:
            row.status, row.error = "failed", str(exc)[:1000]
    session.add(row)
    session.flush()
    return row


def list_outbox(session: Session, *, user_id: int, limit: int = 20) -> list[Email]:
    """E-mails this user sent (invites) or that were addressed to them."""
    user = session.get(User, user_id)
    stmt = (
        select(Email)
        .where(or_(Email.sender_user_id == user_id, Email.to_address == user.email))
        .order_by(Email.created_at.desc(), Email.id.desc())
        .limit(limit)
    )
    return list(session.exec(stmt))
