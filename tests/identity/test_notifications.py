"""Notifications: the bell's rows, the NOTIFY that reaches other processes after commit, scoping."""

from __future__ import annotations

import json

import psycopg
import pytest
from sqlmodel import select

from socialhub.core import db
from socialhub.identity.models import Notification
from socialhub.identity import notifications, users
from socialhub.core import events

PASSWORD = "correct horse battery"


def make_user(session, name: str):
    user = users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD)
    session.commit()
    return user


@pytest.fixture
def listener(database_url):
    """Another process's view of the bus: a separate connection LISTENing on the channel."""
    with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
        conn.execute(f"LISTEN {events.CHANNEL}")
        yield conn


def received(conn, timeout: float = 0.3, stop_after: int | None = None) -> list[dict]:
    notes = conn.notifies(timeout=timeout, stop_after=stop_after)
    return [json.loads(n.payload) for n in notes if n.channel == events.CHANNEL]


def test_notify_stores_the_row(session):
    ada = make_user(session, "Ada")
    note = notifications.notify(session, user_id=ada.id, title="Hello", body="World", link="/feed", kind="test")
    session.commit()
    row = session.exec(select(Notification)).one()
    assert (row.id, row.user_id, row.title, row.body, row.link, row.kind, row.read_at) == (
        note.id, ada.id, "Hello", "World", "/feed", "test", None)


def test_notify_truncates_to_column_limits(session):
    ada = make_user(session, "Ada")
    notifications.notify(session, user_id=ada.id, title="t" * 500, body="b" * 5000, link="/" + "l" * 500,
                         kind="k" * 50)
    session.commit()
    row = session.exec(select(Notification)).one()
    assert (len(row.title), len(row.body), len(row.link), len(row.kind)) == (200, 2000, 300, 30)


def test_event_is_delivered_only_after_commit(session, listener):
    ada = make_user(session, "Ada")
    assert received(listener, 0.2) == []  # sign-up announces nothing
    note = notifications.notify(session, user_id=ada.id, title="New follower")
    session.flush()
    assert received(listener) == [], "a listener must not hear of a row it cannot read yet"
    session.commit()
    events_seen = received(listener, 5.0, stop_after=1)
    assert events_seen == [{"kind": "notification", "user_ids": [ada.id], "team_ids": [], "data": {"id": note.id}}]


def test_rolled_back_notification_is_never_announced(session, listener):
    ada = make_user(session, "Ada")
    notifications.notify(session, user_id=ada.id, title="Never mind")
    session.rollback()
    assert received(listener, 0.5) == []
    assert session.exec(select(Notification)).all() == []


def test_event_payload_parses_and_dedupes_users(session, listener):
    events.publish(session, kind="post", user_ids=[3, 1, 3, 2], data={"post": 9})
    session.commit()
    (raw,) = [n.payload for n in listener.notifies(timeout=2.0, stop_after=1)]
    assert events.parse(raw) == {"kind": "post", "user_ids": [1, 2, 3], "team_ids": [], "data": {"post": 9}}
    with pytest.raises(ValueError):
        events.parse("[1, 2]")


def test_unread_count_and_mark_all_read_are_per_user(session):
    ada, bob = make_user(session, "Ada"), make_user(session, "Bob")
    for i in range(3):
        notifications.notify(session, user_id=ada.id, title=f"a{i}")
    for i in range(2):
        notifications.notify(session, user_id=bob.id, title=f"b{i}")
    session.commit()
    assert notifications.unread_count(session, user_id=ada.id) == 3
    assert notifications.unread_count(session, user_id=bob.id) == 2

    assert notifications.mark_all_read(session, user_id=ada.id) == 3
    session.commit()
    assert notifications.unread_count(session, user_id=ada.id) == 0
    assert notifications.unread_count(session, user_id=bob.id) == 2
    session.expire_all()
    bobs = session.exec(select(Notification).where(Notification.user_id == bob.id)).all()
    assert [n.read_at for n in bobs] == [None, None]
    assert notifications.mark_all_read(session, user_id=ada.id) == 0  # nothing left to mark


def test_list_notifications_shows_only_own_newest_first_and_limited(session):
    ada, bob = make_user(session, "Ada"), make_user(session, "Bob")
    for i in range(5):
        notifications.notify(session, user_id=ada.id, title=f"a{i}")
    notifications.notify(session, user_id=bob.id, title="for bob")
    session.commit()
    titles = [n.title for n in notifications.list_notifications(session, user_id=ada.id, limit=3)]
    assert titles == ["a4", "a3", "a2"]
    assert [n.title for n in notifications.list_notifications(session, user_id=bob.id)] == ["for bob"]
