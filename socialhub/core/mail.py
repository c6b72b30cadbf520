"""Outgoing email over SMTP, with the standard library only.

Owns the ``OutgoingEmail`` value and how it goes on the wire. Deciding *whether* to send
(or to write to the outbox folder instead when ``smtp_configured()`` is false) belongs to the
service that calls this.

Invariants:
- Header injection is impossible: ``to``, ``subject`` and the sender may not contain CR, LF or
  any other control character (``ValueError``), checked when the email is built and again
  before sending.
- With ``html`` the message is multipart/alternative (text first, so clients that cannot
  show HTML still have the whole message); without it, a single text/plain part.
- Every SMTP or network failure surfaces as ``MailError``; its message never includes the
  password.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr

from socialhub.core.config import get_settings

# C0 controls (CR and LF among them) and DEL: none belongs in a single-line header.
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class MailError(Exception):
    """The email could not be handed to the SMTP server."""


def _check_header(name: str, value: str) -> None:
    if not isinstance(value, str) or _CONTROL_RE.search(value):
        raise ValueError(f"{name} must be one line of text without control characters")


@dataclass(frozen=True)
class OutgoingEmail:
    to: str
    subject: str
    text: str
    html: str | None = None

    def __post_init__(self) -> None:
        _check_header("to", self.to)
        _check_header("subject", self.subject)
        if "@" not in parseaddr(self.to)[1]:
            raise ValueError("to must be an email address")


def build_message(email: OutgoingEmail, *, mail_from: str) -> EmailMessage:
    """The MIME message for an email; separate from sending so it can be inspected."""
    # Check again here: a dataclass can be bypassed (object.__setattr__), the wire cannot.
    _check_header("to", email.to)
    _check_header("subject", email.subject)
    _check_header("mail_from", mail_from)
    msg = EmailMessage()
    msg["From"] = mail_from
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Date"] = formatdate(usegmt=True)
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or None
    msg["Message-ID"] = make_msgid(domain=domain)
    msg.set_content(email.text)
    if email.html is not None:
        msg.add_alternative(email.html, subtype="html")
    return msg


def send_smtp(
    email: OutgoingEmail,
    *,
    host: str,
    port: int,
    user: str,
    password: str,
    starttls: bool,
    mail_from: str,
    timeout: float = 10,
) -> None:
    """Send one email; log in only when ``user`` is set. Raises MailError on any failure."""
    msg = build_message(email, mail_from=mail_from)
    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if user:
                smtp.login(user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        # OSError covers refused connections, DNS failures, timeouts and TLS errors.
        raise MailError(f"could not send mail via {host}:{port}: {_describe(exc)}") from exc


def smtp_configured() -> bool:
    """True when SMTP_HOST is set; otherwise mail goes to the outbox folder."""
    return bool(get_settings().smtp_host)


def _describe(exc: Exception) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        error = exc.smtp_error
        text = error.decode(errors="replace") if isinstance(error, bytes) else str(error)
        return f"server replied {exc.smtp_code} {text}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "recipient refused: " + ", ".join(
            f"{addr} ({code})" for addr, (code, _) in exc.recipients.items()
        )
    return f"{type(exc).__name__}: {exc}"
