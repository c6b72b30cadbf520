"""E-mail delivery through the service: SMTP (a real aiosmtpd server) when set up, else the outbox."""

from __future__ import annotations

import email
import socket

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from socialhub.core import config
from socialhub.core.models import Email
from socialhub.identity import teams, users
from socialhub.core import outbox


class Recorder:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    recorder = Recorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(port))
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    config.get_settings.cache_clear()
    yield recorder
    controller.stop()
    config.get_settings.cache_clear()


def test_without_smtp_mail_goes_to_the_outbox(session):
    row = outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    assert row.status == "outbox" and row.error == ""


def test_invite_is_delivered_by_smtp_when_configured(database_url, session, smtp):
    owner = users.sign_up(session, name="Owner", email="owner@example.com", password="correct horse battery")
    _, link = teams.invite_member(session, team_id=owner.active_team_id, actor_id=owner.id,
                                  email="new@example.com", role="editor")
    session.commit()
    assert session.exec(select(Email.status)).all() == ["sent"]
    (message,) = smtp.messages
    assert message["To"] == "new@example.com"
    assert "Owner invited you" in message["Subject"]
    assert not message.is_multipart()
    assert link in message.get_payload(decode=True).decode()


def test_smtp_failure_is_logged_and_nothing_is_lost(database_url, session, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(dead_port))
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    config.get_settings.cache_clear()
    row = outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    session.commit()
    assert row.status == "failed" and "127.0.0.1" in row.error
    assert session.exec(select(Email.text_body)).all() == ["Body"]
