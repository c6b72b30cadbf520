"""Sending e-mail through a transactional outbox: the caller's transaction only writes a row.

Every message becomes an `emails` row, which is the delivery log and, without SMTP, the outbox
that the Settings page lists (`identity.users.list_outbox`).

- `send_email` inserts the row in the caller's transaction and nothing else: status `queued`
  when SMTP is set up, `outbox` when it is not. A rolled-back transaction leaves no mail, and
  no SMTP conversation ever runs while a transaction holds locks.
- `deliver_queued` (the `deliver_email` job, every few seconds) claims due rows with
  `FOR UPDATE SKIP LOCKED` in a short transaction (status `sending` with a lease), sends them
  with no transaction open, then records `sent`, or `queued` again with a growing delay, or
  `failed` after `MAX_ATTEMPTS`. Two schedulers never claim the same row; a row whose claimer
  died is taken again once its lease has passed (it may then be sent twice: at least once).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from socialhub.core import mail as smtp
from socialhub.core.config import get_settings
from socialhub.core.models import Email, utcnow

MAX_ATTEMPTS = 5
BATCH = 20
LEASE = timedelta(minutes=5)
FIRST_RETRY = timedelta(seconds=30)  # then ×4: 30 s, 2 min, 8 min, 32 min


def send_email(
    session: Session, *, to: str, subject: str, text: str, html: str = "", sender_user_id: int | None = None
) -> Email:
    """Queue an e-mail in the caller's transaction; it is sent after commit by the delivery job."""
    queued = bool(get_settings().smtp_host)
    row = Email(sender_user_id=sender_user_id, to_address=to[:254], subject=subject[:300], text_body=text,
                html_body=html, status="queued" if queued else "outbox",
                next_attempt_at=utcnow() if queued else None)
    session.add(row)
    session.flush()
    return row


@dataclass(frozen=True)
class _Claimed:
    id: int
    to: str
    subject: str
    text: str
    html: str
    attempts: int


_CLAIM = text("""
    UPDATE emails SET status = 'sending', claimed_until = now() + make_interval(secs => :lease),
                      attempts = attempts + 1
    WHERE id IN (
        SELECT id FROM emails
        WHERE (status = 'queued' AND next_attempt_at <= now())
           OR (status = 'sending' AND claimed_until < now())
        ORDER BY id
        FOR UPDATE SKIP LOCKED
        LIMIT :limit)
    RETURNING id, to_address, subject, text_body, html_body, attempts
""")


def retry_delay(attempts: int) -> timedelta:
    return FIRST_RETRY * (4 ** max(0, attempts - 1))


def deliver_queued(session_factory: Callable[[], AbstractContextManager[Session]], *, limit: int = BATCH) -> int:
    """Send due queued e-mails; returns how many were sent. Safe to run in several processes at once."""
    settings = get_settings()
    if not settings.smtp_host:
        return 0
    with session_factory() as session:
        claimed = [_Claimed(*row) for row in session.execute(
            _CLAIM, {"lease": LEASE.total_seconds(), "limit": limit})]
    sent = 0
    for email in claimed:  # no transaction is open while we talk to the SMTP server
        error = ""
        try:
            smtp.send_smtp(
                smtp.OutgoingEmail(to=email.to, subject=email.subject, text=email.text, html=email.html or None),
                host=settings.smtp_host, port=settings.smtp_port, user=settings.smtp_user,
                password=settings.smtp_password, starttls=settings.smtp_starttls, mail_from=settings.mail_from,
            )
        except ValueError as exc:  # a malformed address or subject never gets better: give up now
            error, attempts_left = str(exc), False
        except smtp.MailError as exc:
            error, attempts_left = str(exc), email.attempts < MAX_ATTEMPTS
        with session_factory() as session:
            row = session.get(Email, email.id, with_for_update=True)
            if row is None or row.status != "sending":
                continue
            if not error:
                row.status, row.error, row.sent_at = "sent", "", utcnow()
                sent += 1
            elif attempts_left:
                row.status, row.error = "queued", error[:1000]
                row.next_attempt_at = utcnow() + retry_delay(email.attempts)
            else:
                row.status, row.error = "failed", error[:1000]
            row.claimed_until = None
            session.add(row)
    return sent
