"""Helpers of the Chat tests (no tests here): people with a browser device each (a Python key
pair in the real format), conversations with their epoch key, and encrypted messages."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from socialhub.chat import keys, messages
from socialhub.core.db import session_scope
from socialhub.identity import users
from socialhub.identity.models import User
from tests.chat import chat_format as fmt


@dataclass
class Person:
    user: User
    device_id: int
    private_key: object
    public_key: str
    keys: dict = field(default_factory=dict)  # (conversation id, epoch) → content key

    @property
    def id(self) -> int:
        return self.user.id


def person(name: str) -> Person:
    private = fmt.new_device()
    with session_scope() as session:
        user = users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password="correct horse battery",
                             verified=True)
        device = keys.register_device(session, user_id=user.id, public_key=fmt.spki_b64(private))
        return Person(user, device.id, private, fmt.spki_b64(private))


def start_epoch(by: Person, conversation_id: int, epoch: int, everyone: list[Person]) -> bytes:
    """`by` makes the epoch's key and wraps it for every member device; each person learns it."""
    key = os.urandom(32)
    with session_scope() as session:
        devices = keys.member_devices(session, user_id=by.id, conversation_id=conversation_id)
        wraps = {d.device_id: fmt.wrap(key, by.private_key, d.public_key, conversation_id, epoch, d.device_id)
                 for d in devices}
        keys.post_epoch_keys(session, user_id=by.id, conversation_id=conversation_id, epoch=epoch,
                             device_id=by.device_id, wraps=wraps, fresh=True)
    for p in everyone:
        unwrap_all(p, conversation_id)
    return key


def unwrap_all(p: Person, conversation_id: int) -> None:
    with session_scope() as session:
        for k in keys.keys_for_device(session, user_id=p.id, conversation_id=conversation_id, device_id=p.device_id):
            p.keys[(conversation_id, k.epoch)] = fmt.unwrap(k.wrapped_key, p.private_key, k.wrapped_by_public_key,
                                                            conversation_id, k.epoch, p.device_id)


def say(p: Person, conversation_id: int, epoch: int, text: str) -> int:
    ct, iv = fmt.encrypt(p.keys[(conversation_id, epoch)], conversation_id, epoch, text)
    with session_scope() as session:
        return messages.send_message(session, user_id=p.id, conversation_id=conversation_id, device_id=p.device_id,
                                     epoch=epoch, ciphertext=ct, iv=iv).id


def read_all(p: Person, conversation_id: int, after_id: int = 0) -> list[tuple[int, str]]:
    with session_scope() as session:
        rows = messages.list_messages(session, user_id=p.id, conversation_id=conversation_id, after_id=after_id, limit=500)
    return [(m.id, "" if m.deleted else fmt.decrypt(p.keys[(conversation_id, m.epoch)], conversation_id, m.epoch,
                                                    m.ciphertext, m.iv)) for m in rows]
