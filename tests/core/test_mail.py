"""socialhub.integrations.mail: emails reach a real SMTP server (aiosmtpd) intact and safely."""

from __future__ import annotations

import socket
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from socialhub.core import config
from socialhub.core import mail
from socialhub.core.mail import MailError, OutgoingEmail

SENDER = "SocialHub <no-reply@socialhub.test>"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RecordingHandler:
    """Keeps every message it accepts; refuses recipients at reject.test."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.endswith("@reject.test"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


def _authenticate(server, session, envelope, mechanism, auth_data) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"hub",
        b"s3cret-pass",
    )
    return AuthResult(success=ok, handled=False)  # handled=False: the server sends the 535


@pytest.fixture
def smtp_server():
    handler = RecordingHandler()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=_free_port(),
        authenticator=_authenticate,
        auth_require_tls=False,  # the test server has no TLS; starttls=False below
    )
    controller.start()
    try:
        yield handler, controller.port
    finally:
        controller.stop()


def _send(port: int, email: OutgoingEmail, **overrides) -> None:
    options = dict(
        host="127.0.0.1", port=port, user="", password="", starttls=False, mail_from=SENDER
    )
    mail.send_smtp(email, **(options | overrides), timeout=5)


def test_plain_text_email_arrives_with_headers_and_body(smtp_server):
    handler, port = smtp_server
    email = OutgoingEmail(
        to="ana@example.test", subject="Your digest – 3 new", text="Hi Ana,\nthree items.\n"
    )
    _send(port, email)

    [(envelope_from, envelope_to, msg)] = handler.received
    assert envelope_from == "no-reply@socialhub.test"
    assert envelope_to == ["ana@example.test"]
    assert msg["From"] == SENDER
    assert msg["To"] == "ana@example.test"
    assert msg["Subject"] == "Your digest – 3 new"
    assert msg["Date"] and msg["Message-ID"].endswith("@socialhub.test>")
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content().replace("\r\n", "\n") == "Hi Ana,\nthree items.\n"  # CRLF on the wire


def test_html_email_arrives_as_multipart_alternative_with_text_first(smtp_server):
    handler, port = smtp_server
    html = "<p>html <b>body</b></p>"
    _send(port, OutgoingEmail(to="ben@example.test", subject="Hello", text="plain body", html=html))

    [(_, _, msg)] = handler.received
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "plain body"
    assert parts[1].get_content().strip() == "<p>html <b>body</b></p>"


def test_login_is_used_when_a_user_is_set(smtp_server):
    handler, port = smtp_server
    email = OutgoingEmail(to="c@example.test", subject="s", text="t")
    _send(port, email, user="hub", password="s3cret-pass")
    assert len(handler.received) == 1


def test_wrong_password_raises_mail_error_without_the_password(smtp_server):
    handler, port = smtp_server
    with pytest.raises(MailError) as info:
        email = OutgoingEmail(to="c@example.test", subject="s", text="t")
        _send(port, email, user="hub", password="wrong-pass")
    assert "wrong-pass" not in str(info.value)
    assert handler.received == []


def test_recipient_refused_by_the_server_raises_mail_error(smtp_server):
    handler, port = smtp_server
    with pytest.raises(MailError, match="nobody@reject.test"):
        _send(port, OutgoingEmail(to="nobody@reject.test", subject="s", text="t"))
    assert handler.received == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("to", "victim@example.test\r\nBcc: everyone@example.test"),
        ("to", "victim@example.test\nBcc: everyone@example.test"),
        ("subject", "Hi\r\nBcc: everyone@example.test"),
        ("subject", "Hi\rX-Injected: yes"),
        ("subject", "Hi\nX-Injected: yes"),
    ],
)
def test_header_injection_is_rejected_before_anything_is_sent(smtp_server, field, value):
    handler, _ = smtp_server
    fields = {"to": "ok@example.test", "subject": "ok", "text": "body"} | {field: value}
    with pytest.raises(ValueError):
        OutgoingEmail(**fields)
    assert handler.received == []


def test_header_injection_through_a_bypassed_dataclass_is_still_rejected(smtp_server):
    handler, port = smtp_server
    email = OutgoingEmail(to="ok@example.test", subject="ok", text="body")
    object.__setattr__(email, "subject", "ok\r\nBcc: everyone@example.test")
    with pytest.raises(ValueError):
        _send(port, email)
    assert handler.received == []


def test_header_injection_through_the_sender_is_rejected(smtp_server):
    handler, port = smtp_server
    email = OutgoingEmail(to="ok@example.test", subject="ok", text="body")
    with pytest.raises(ValueError):
        _send(port, email, mail_from="a@b.test\r\nBcc: x@y.test")
    assert handler.received == []


def test_recipient_must_be_an_address():
    with pytest.raises(ValueError):
        OutgoingEmail(to="not an address", subject="s", text="t")


def test_connection_refused_raises_mail_error():
    port = _free_port()  # nothing listens here
    with pytest.raises(MailError, match=f"127.0.0.1:{port}"):
        _send(port, OutgoingEmail(to="a@example.test", subject="s", text="t"))


def test_smtp_configured_follows_smtp_host(monkeypatch):
    try:
        monkeypatch.delenv("SMTP_HOST", raising=False)
        config.get_settings.cache_clear()
        assert mail.smtp_configured() is False
        monkeypatch.setenv("SMTP_HOST", "smtp.example.test")
        config.get_settings.cache_clear()
        assert mail.smtp_configured() is True
    finally:
        config.get_settings.cache_clear()
