"""E-mail delivery: a transactional outbox. `send_email` only writes a row in the caller's
transaction; the delivery job sends queued rows over SMTP (a real aiosmtpd server) with no
transaction open, once, retrying failures with backoff."""

from __future__ import annotations

import email
import socket
import threading
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlmodel import select

from socialhub.core import config
from socialhub.core.db import session_scope
from socialhub.core.models import Email
from socialhub.identity import teams, users
from socialhub.core import outbox


class Recorder:
    def __init__(self) -> None:
        self.messages: list[email.message.Message] = []
        self.on_data = None  # called (in the server's thread) while a message is being received

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            self.on_data(email.message_from_bytes(envelope.content))
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


def deliver() -> int:
    return outbox.deliver_queued(session_scope)


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


def test_invite_is_queued_in_the_transaction_and_sent_by_the_job(database_url, session, smtp):
    owner = users.sign_up(session, name="Owner", email="owner@example.com", password="correct horse battery",
                          verified=True)
    _, link = teams.invite_member(session, team_id=owner.active_team_id, actor_id=owner.id,
                                  email="new@example.com", role="editor")
    assert smtp.messages == []  # nothing leaves while the transaction is open
    session.commit()
    assert session.exec(select(Email.status)).all() == ["queued"]
    assert smtp.messages == []
    assert deliver() == 1
    session.expire_all()
    row = session.exec(select(Email)).one()
    assert (row.status, row.attempts, row.error) == ("sent", 1, "") and row.sent_at is not None
    (message,) = smtp.messages
    assert message["To"] == "new@example.com"
    assert "Owner invited you" in message["Subject"]
    assert not message.is_multipart()
    assert link in message.get_payload(decode=True).decode()
    assert deliver() == 0 and len(smtp.messages) == 1  # sent once


def test_a_rolled_back_transaction_sends_nothing(database_url, session, smtp):
    outbox.send_email(session, to="a@example.com", subject="Never", text="Body")
    session.rollback()
    assert deliver() == 0
    assert smtp.messages == [] and session.exec(select(Email)).all() == []


def test_no_transaction_or_lock_is_held_while_talking_to_smtp(database_url, session, smtp):
    row = outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    session.commit()
    seen = []

    def during_send(_message):
        with session_scope() as other:  # another connection: the claim is committed, nothing is locked
            locked = other.exec(select(Email).where(Email.id == row.id).with_for_update(nowait=True)).one()
            seen.append(locked.status)

    smtp.on_data = during_send
    assert deliver() == 1
    assert seen == ["sending"]


def test_two_jobs_running_at_once_send_each_mail_once(database_url, session, smtp):
    for n in range(12):
        outbox.send_email(session, to=f"p{n}@example.com", subject=f"Mail {n}", text="Body")
    session.commit()
    smtp.on_data = lambda _m: __import__("time").sleep(0.05)  # keep both jobs busy at the same time
    start = threading.Barrier(2)
    counts: list[int] = []

    def job():
        start.wait()
        counts.append(outbox.deliver_queued(session_scope, limit=5))

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    while deliver():
        pass
    subjects = sorted(m["Subject"] for m in smtp.messages)
    assert subjects == sorted(f"Mail {n}" for n in range(12))  # every mail once, none twice
    assert sum(counts) == 10 and all(counts)  # both jobs worked, on different rows
    assert set(session.exec(select(Email.status)).all()) == {"sent"}


def test_without_smtp_the_job_leaves_the_outbox_alone(database_url, session):
    outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    session.commit()
    assert deliver() == 0
    assert session.exec(select(Email.status)).all() == ["outbox"]


def _dead_smtp(monkeypatch) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]  # nothing listens here once the socket closes
    monkeypatch.setenv("SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("SMTP_PORT", str(dead_port))
    monkeypatch.setenv("SMTP_STARTTLS", "0")
    config.get_settings.cache_clear()


def test_smtp_failures_are_retried_with_backoff_then_given_up_and_nothing_is_lost(database_url, session, monkeypatch):
    _dead_smtp(monkeypatch)
    row = outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    session.commit()
    for attempt in range(1, outbox.MAX_ATTEMPTS + 1):
        assert deliver() == 0
        session.expire_all()
        row = session.get(Email, row.id)
        assert row.attempts == attempt and "127.0.0.1" in row.error
        if attempt < outbox.MAX_ATTEMPTS:
            assert row.status == "queued"
            wait = row.next_attempt_at - row.created_at
            assert wait >= outbox.retry_delay(attempt) - timedelta(seconds=1)
            assert deliver() == 0 and session.get(Email, row.id).attempts == attempt  # not due yet
            row.next_attempt_at = row.created_at  # time passes
            session.add(row)
            session.commit()
    assert row.status == "failed"
    assert session.exec(select(Email.text_body)).all() == ["Body"]


def test_a_claim_whose_worker_died_is_taken_again_after_its_lease(database_url, session, smtp):
    row = outbox.send_email(session, to="a@example.com", subject="Hi", text="Body")
    session.commit()
    row.status, row.claimed_until = "sending", row.created_at + timedelta(minutes=1)  # a crashed claimer
    session.add(row)
    session.commit()
    assert deliver() == 0  # its lease has not run out yet … (created_at is now; lease ends in a minute)
    row.claimed_until = row.created_at - timedelta(seconds=1)
    session.add(row)
    session.commit()
    assert deliver() == 1 and len(smtp.messages) == 1
