"""Sending e-mail: through SMTP when configured, otherwise into the outbox. Both are logged.

Every message becomes an `emails` row (status sent, outbox or failed), which is the delivery
log and, without SMTP, the outbox that the Settings page lists (`identity.users.list_outbox`).
"""

from __future__ import annotations

from sqlmodel import Session

from socialhub.core.config import get_settings
from socialhub.core import mail as smtp
from socialhub.core.models import Email


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


