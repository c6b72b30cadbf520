"""The Chat page's state handlers, called directly: device set-up, a fresh key made through the
module's callback, sending ciphertext, live delivery to the other member, ticks, and that
non-members and signed-out browsers get nothing — and no state var ever holds plaintext."""

from __future__ import annotations

import os
from collections import defaultdict

import pytest

from socialhub.chat import conversations
from socialhub.chat.state.chat import ChatState
from socialhub.core import ratelimit
from socialhub.core.db import session_scope
from socialhub.ui import clients
from tests.chat import chat_format as fmt
from tests.chat.support import person, read_all, unwrap_all
from tests.identity.test_state import login_token, make_state, redirect_target, script_of


@pytest.fixture(autouse=True)
def fresh(monkeypatch, database_url):
    monkeypatch.setattr(clients, "_clients", defaultdict(set))
    ratelimit.reset()


def page(p, **query):
    state = make_state(ChatState, token=login_token(p.user), path="/chat", query=query)
    result = state.load()
    assert "ensureDevice" in script_of(result)
    state.device_ready({"public_key": p.public_key})
    assert state.device_id == p.device_id
    return state


def test_send_through_the_state_and_live_delivery_with_ticks():
    ann, bob = person("Ann"), person("Bob")
    a = page(ann)
    a.search_people({"query": "bob"})
    assert [x["name"] for x in a.people] == ["Bob"]
    work = a.start_direct(a.people[0]["id"])
    conv = a.open_id
    assert conv and "makeWraps(" in script_of(work) and ", true)" in script_of(work)  # a fresh key is needed
    key = os.urandom(32)
    with session_scope() as session:
        from socialhub.chat import keys
        devices = keys.member_devices(session, user_id=ann.id, conversation_id=conv)
    wraps = {str(d.device_id): fmt.wrap(key, ann.private_key, d.public_key, conv, 1, d.device_id) for d in devices}
    accepted = a.post_keys({"conversation_id": conv, "epoch": 1, "wraps": wraps, "fresh": True})
    assert a.error == "" and "keyAccepted" in script_of(accepted) and a.key_blob.startswith("[")
    assert "sendComposer('chat-composer'" in script_of(a.send())
    secret = "meet at the old mill"
    ct, iv = fmt.encrypt(key, conv, 1, secret)
    a.send_encrypted({"ciphertext": ct, "iv": iv, "epoch": 1})
    assert a.error == "" and [r["tick"] for r in a.rows] == ["sent"]

    b = page(bob)
    assert b.conversations[0]["unread"] == "1" and b.conversations[0]["title"] == "Ann"
    b.open_conversation(str(conv))
    unwrap_all(bob, conv)
    assert [t for _, t in read_all(bob, conv)] == [secret]
    a._on_chat_event({"conversation_id": conv, "what": "receipt"})
    assert [r["tick"] for r in a.rows] == ["read"]
    ct2, iv2 = fmt.encrypt(key, conv, 1, "on my way")
    b.send_encrypted({"ciphertext": ct2, "iv": iv2, "epoch": 1})
    a._on_chat_event({"conversation_id": conv, "what": "typing", "user_id": bob.id})
    assert a.typing_line == "Bob is typing…"
    a._on_chat_event({"conversation_id": conv, "what": "message"})
    assert len(a.rows) == 2 and a.typing_line == ""
    for state in (a, b):
        assert secret not in repr(state.dict()) and "on my way" not in repr(state.dict())


def test_non_members_get_nothing_through_the_state():
    ann, bob, eve = person("Ann"), person("Bob"), person("Eve")
    with session_scope() as session:
        conv = conversations.create_direct(session, user_id=ann.id, other_id=bob.id).id
    e = page(eve)
    assert e.conversations == []
    e.open_conversation(str(conv))
    assert "does not exist" in e.error and e.open_id == 0 and e.rows == []
    e.open_id = conv  # a forged id in a tampered client state
    ct, iv = fmt.encrypt(os.urandom(32), conv, 1, "spam")
    e.send_encrypted({"ciphertext": ct, "iv": iv, "epoch": 1})
    assert "does not exist" in e.error
    e.react("1", "👍")
    assert "does not exist" in e.error
    e._on_chat_event({"conversation_id": conv, "what": "message"})
    assert e.rows == [] and e.open_id == 0
    e.post_keys({"conversation_id": conv, "epoch": 1, "wraps": {}, "fresh": True})
    assert "does not exist" in e.error


def test_signed_out_browser_is_sent_to_sign_in():
    state = make_state(ChatState, path="/chat")
    assert redirect_target(state.load()).startswith("/signin")
    assert redirect_target(state.send_encrypted({"ciphertext": "x", "iv": "y", "epoch": 1})).startswith("/signin")
    assert state.conversations == [] and state.rows == []


def test_privacy_settings_are_saved():
    ann = person("Ann")
    a = page(ann)
    a.set_privacy("read_receipts", False)
    a.set_privacy("show_last_seen", False)
    again = page(ann)
    assert again.read_receipts is False and again.show_last_seen is False
