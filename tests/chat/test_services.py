"""Chat's services: isolation, no plaintext in the database, re-sync since an id, epochs on
leave/remove, receipts and privacy settings, edits, deletes, reactions, limits."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import text

from socialhub.chat import access, conversations, keys, messages, receipts
from socialhub.core import ratelimit
from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, PermissionDenied, RateLimited, ValidationError
from tests.chat import chat_format as fmt
from tests.chat.support import person, read_all, say, start_epoch, unwrap_all


@pytest.fixture(autouse=True)
def _fresh_limits(database_url):
    ratelimit.reset()
    yield
    ratelimit.reset()


def direct(a, b) -> int:
    with session_scope() as session:
        conversation_id = conversations.create_direct(session, user_id=a.id, other_id=b.id).id
    start_epoch(a, conversation_id, 1, [a, b])
    return conversation_id


def group(owner, *others, title="Team") -> int:
    with session_scope() as session:
        conversation_id = conversations.create_group(session, user_id=owner.id, title=title,
                                                     member_ids=[o.id for o in others]).id
    start_epoch(owner, conversation_id, 1, [owner, *others])
    return conversation_id


def test_direct_conversation_round_trip_and_no_plaintext_in_the_database():
    ann, bob = person("Ann"), person("Bob")
    conv = direct(ann, bob)
    with session_scope() as session:
        assert conversations.create_direct(session, user_id=bob.id, other_id=ann.id).id == conv  # one per pair
    secret = "The launch code is PINEAPPLE-42"
    say(ann, conv, 1, secret)
    say(bob, conv, 1, "Got it: " + secret)
    assert [t for _, t in read_all(bob, conv)] == [secret, "Got it: " + secret]
    with session_scope() as session:
        tables = [r[0] for r in session.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE 'chat_%'"))]
        dump = " ".join(str(row) for t in tables for row in session.execute(text(f'SELECT * FROM "{t}"')))
    assert "PINEAPPLE" not in dump and "launch" not in dump
    assert base64.b64encode(b"PINEAPPLE").decode()[:8] not in dump


def test_non_members_cannot_read_post_react_or_learn_of_a_conversation():
    ann, bob, eve = person("Ann"), person("Bob"), person("Eve")
    conv = direct(ann, bob)
    message_id = say(ann, conv, 1, "private")
    ct, iv = fmt.encrypt(b"\0" * 32, conv, 1, "spam")
    with session_scope() as session:
        assert conversations.list_conversations(session, user_id=eve.id) == []
        calls = [
            lambda: messages.list_messages(session, user_id=eve.id, conversation_id=conv),
            lambda: messages.send_message(session, user_id=eve.id, conversation_id=conv, device_id=eve.device_id,
                                          epoch=1, ciphertext=ct, iv=iv),
            lambda: messages.toggle_reaction(session, user_id=eve.id, conversation_id=conv, message_id=message_id, emoji="👍"),
            lambda: messages.delete_message(session, user_id=eve.id, conversation_id=conv, message_id=message_id,
                                            for_everyone=False),
            lambda: receipts.mark_read(session, user_id=eve.id, conversation_id=conv),
            lambda: receipts.signal_typing(session, user_id=eve.id, conversation_id=conv),
            lambda: keys.keys_for_device(session, user_id=eve.id, conversation_id=conv, device_id=eve.device_id),
            lambda: keys.member_devices(session, user_id=eve.id, conversation_id=conv),
            lambda: conversations.list_members(session, user_id=eve.id, conversation_id=conv),
            lambda: receipts.presence_of(session, viewer_id=eve.id, user_id=ann.id),
            lambda: messages.list_messages(session, user_id=eve.id, conversation_id=999999),
        ]
        for call in calls:
            with pytest.raises(NotFound) as err:
                call()
            assert "does not exist" in str(err.value) or "no such" in str(err.value)
        # Ann cannot use Bob's device, nor post wraps for a device outside the conversation.
        with pytest.raises(NotFound):
            messages.send_message(session, user_id=ann.id, conversation_id=conv, device_id=bob.device_id,
                                  epoch=1, ciphertext=ct, iv=iv)
        with pytest.raises((NotFound, ValidationError)):
            keys.post_epoch_keys(session, user_id=ann.id, conversation_id=conv, epoch=1, device_id=ann.device_id,
                                 wraps={eve.device_id: base64.b64encode(b"x" * 40).decode()}, fresh=False)


def test_resync_since_an_id_loses_nothing():
    ann, bob = person("Ann"), person("Bob")
    conv = direct(ann, bob)
    seen = read_all(bob, conv)
    sent = [say(ann if i % 2 else bob, conv, 1, f"m{i}") for i in range(30)]
    last_seen = sent[9]
    missed = read_all(bob, conv, after_id=last_seen)
    assert [i for i, _ in missed] == sent[10:] and [t for _, t in missed] == [f"m{i}" for i in range(10, 30)]
    assert seen == []


def test_leaving_and_removal_start_new_epochs_the_departed_never_get():
    ann, bob, cat = person("Ann"), person("Bob"), person("Cat")
    conv = group(ann, bob, cat)
    say(bob, conv, 1, "hello all")
    with session_scope() as session:
        conversations.leave(session, user_id=cat.id, conversation_id=conv)
        assert conversations.list_conversations(session, user_id=cat.id) == []
    ct, iv = fmt.encrypt(ann.keys[(conv, 1)], conv, 1, "old key")
    with session_scope() as session, pytest.raises(ValidationError):  # epoch 1 is over
        messages.send_message(session, user_id=ann.id, conversation_id=conv, device_id=ann.device_id, epoch=1,
                              ciphertext=ct, iv=iv)
    with session_scope() as session:
        targets = {d.user_id for d in keys.member_devices(session, user_id=ann.id, conversation_id=conv)}
    assert targets == {ann.id, bob.id}
    start_epoch(bob, conv, 2, [ann, bob])
    with session_scope() as session, pytest.raises(ValidationError):  # a second fresh key for epoch 2 is refused
        keys.post_epoch_keys(session, user_id=ann.id, conversation_id=conv, epoch=2, device_id=ann.device_id,
                             wraps={ann.device_id: base64.b64encode(b"k" * 40).decode()}, fresh=True)
    say(ann, conv, 2, "after cat left")
    with session_scope() as session:
        conversations.remove_member(session, user_id=ann.id, conversation_id=conv, member_user_id=bob.id)
        with pytest.raises(NotFound):
            keys.keys_for_device(session, user_id=cat.id, conversation_id=conv, device_id=cat.device_id)
        epoch = conversations.list_conversations(session, user_id=ann.id)[0].epoch
    assert epoch == 3
    assert [t for _, t in read_all(ann, conv)] == ["hello all", "after cat left"]


def test_roles_rename_add_and_a_late_member_sees_only_later_messages():
    ann, bob, dan = person("Ann"), person("Bob"), person("Dan")
    conv = group(ann, bob)
    say(ann, conv, 1, "before dan")
    with session_scope() as session:
        with pytest.raises(PermissionDenied):
            conversations.rename(session, user_id=bob.id, conversation_id=conv, title="Mine")
        conversations.rename(session, user_id=ann.id, conversation_id=conv, title="  <b>Ours</b> ")
        conversations.add_member(session, user_id=ann.id, conversation_id=conv, new_user_id=dan.id)
        missing = keys.devices_missing_key(session, user_id=ann.id, conversation_id=conv)
        assert [d.user_id for d in missing] == [dan.id]
        key = ann.keys[(conv, 1)]
        keys.post_epoch_keys(session, user_id=ann.id, conversation_id=conv, epoch=1, device_id=ann.device_id,
                             wraps={dan.device_id: fmt.wrap(key, ann.private_key, dan.public_key, conv, 1, dan.device_id)},
                             fresh=False)
        assert conversations.list_conversations(session, user_id=dan.id)[0].title == "<b>Ours</b>"
    unwrap_all(dan, conv)
    say(bob, conv, 1, "welcome dan")
    assert [t for _, t in read_all(dan, conv)] == ["welcome dan"]


def test_unread_counts_receipts_and_read_receipts_off():
    ann, bob, cat = person("Ann"), person("Bob"), person("Cat")
    conv = group(ann, bob, cat)
    first = say(ann, conv, 1, "one")
    last = say(ann, conv, 1, "two")
    with session_scope() as session:
        assert conversations.list_conversations(session, user_id=bob.id)[0].unread == 2
        assert conversations.list_conversations(session, user_id=ann.id)[0].unread == 0
        assert receipts.read_state(session, user_id=ann.id, conversation_id=conv).delivered_upto == 0
    with session_scope() as session:
        receipts.mark_delivered(session, user_id=bob.id)
        receipts.mark_delivered(session, user_id=cat.id)
        receipts.mark_read(session, user_id=bob.id, conversation_id=conv, up_to_id=first)
        receipts.update_settings(session, user_id=cat.id, read_receipts=False)
    with session_scope() as session:
        receipts.mark_read(session, user_id=cat.id, conversation_id=conv)
        state = receipts.read_state(session, user_id=ann.id, conversation_id=conv)
        assert state.delivered_upto == last and state.read_upto == 0  # Cat reads in secret
        assert [(name, upto) for _, name, upto in state.readers] == [("Bob", first)]
        assert conversations.list_conversations(session, user_id=cat.id)[0].unread == 0
        assert conversations.list_conversations(session, user_id=bob.id)[0].unread == 1
        # Cat, with receipts off, sees no one's reads either.
        receipts.mark_read(session, user_id=bob.id, conversation_id=conv)
        assert receipts.read_state(session, user_id=cat.id, conversation_id=conv).readers == []


def test_presence_and_last_seen_hidden():
    ann, bob = person("Ann"), person("Bob")
    direct(ann, bob)
    with session_scope() as session:
        receipts.touch_presence(session, user_id=bob.id)
    with session_scope() as session:
        seen = receipts.presence_of(session, viewer_id=ann.id, user_id=bob.id)
        assert seen.online and seen.last_seen_at is not None
        receipts.update_settings(session, user_id=bob.id, show_last_seen=False)
    with session_scope() as session:
        assert receipts.presence_of(session, viewer_id=ann.id, user_id=bob.id).last_seen_at is None


def test_blocked_people_cannot_message_each_other():
    ann, bob = person("Ann"), person("Bob")
    conv = direct(ann, bob)
    check = lambda session, a, b: {a, b} == {ann.id, bob.id}  # noqa: E731
    access.on_block_check(check)
    try:
        with pytest.raises(PermissionDenied):
            say(bob, conv, 1, "hi")
        with session_scope() as session:
            assert receipts.presence_of(session, viewer_id=ann.id, user_id=bob.id).last_seen_at is None
    finally:
        access._block_checks.remove(check)


def test_edit_delete_and_reactions():
    ann, bob = person("Ann"), person("Bob")
    conv = direct(ann, bob)
    mid = say(ann, conv, 1, "helo")
    ct, iv = fmt.encrypt(ann.keys[(conv, 1)], conv, 1, "hello")
    with session_scope() as session:
        with pytest.raises(PermissionDenied):
            messages.edit_message(session, user_id=bob.id, conversation_id=conv, message_id=mid,
                                  device_id=bob.device_id, epoch=1, ciphertext=ct, iv=iv)
        messages.edit_message(session, user_id=ann.id, conversation_id=conv, message_id=mid, device_id=ann.device_id,
                              epoch=1, ciphertext=ct, iv=iv)
        assert messages.toggle_reaction(session, user_id=bob.id, conversation_id=conv, message_id=mid, emoji="👍")
        with pytest.raises(ValidationError):
            messages.toggle_reaction(session, user_id=bob.id, conversation_id=conv, message_id=mid, emoji="<img>")
    with session_scope() as session:
        view = messages.list_messages(session, user_id=ann.id, conversation_id=conv)[0]
        assert view.edited and view.reactions == {"👍": 1} and view.my_reactions == []
    assert read_all(bob, conv) == [(mid, "hello")]
    other = say(bob, conv, 1, "for me only")
    with session_scope() as session:
        messages.delete_message(session, user_id=ann.id, conversation_id=conv, message_id=other, for_everyone=False)
        with pytest.raises(PermissionDenied):
            messages.delete_message(session, user_id=bob.id, conversation_id=conv, message_id=mid, for_everyone=True)
        messages.delete_message(session, user_id=ann.id, conversation_id=conv, message_id=mid, for_everyone=True)
    assert read_all(ann, conv) == [(mid, "")]
    assert [t for _, t in read_all(bob, conv)] == ["", "for me only"]


def test_limits_on_size_format_and_rate(monkeypatch):
    ann, bob = person("Ann"), person("Bob")
    conv = direct(ann, bob)
    key = ann.keys[(conv, 1)]
    huge, iv = fmt.encrypt(key, conv, 1, "x" * 60_000)
    with session_scope() as session:
        for ciphertext, bad_iv in [(huge, iv), ("not base64!", iv), (huge[:10], "AAAA")]:
            with pytest.raises(ValidationError):
                messages.send_message(session, user_id=ann.id, conversation_id=conv, device_id=ann.device_id,
                                      epoch=1, ciphertext=ciphertext, iv=bad_iv)
        with pytest.raises(ValidationError):
            keys.register_device(session, user_id=ann.id, public_key=base64.b64encode(b"x" * 91).decode())
    monkeypatch.setenv("RATE_LIMITS", "chat_messages=3/minute")
    for i in range(3):
        say(ann, conv, 1, f"fast {i}")
    with pytest.raises(RateLimited) as err:
        say(ann, conv, 1, "one too many")
    assert "Too many chat messages" in str(err.value)
