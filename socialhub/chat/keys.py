"""Devices and conversation keys: register a browser's public key, post the content key of an
epoch wrapped for devices, and hand each device what it needs to unwrap.

The server never sees a private key or a content key. It checks only who may post what:
- a device belongs to its user, is not revoked, and its key is a base64 SPKI blob;
- a *fresh* key for an epoch (`fresh=True`) is accepted only while that epoch has no key yet
  (the conversation row is locked), so two clients racing to start an epoch cannot split it —
  the loser is told to reload and uses the winner's key;
- more wraps of an existing key (new devices, new members) come only from a device that
  already holds a wrap of that epoch;
- every target device belongs to an active member, so a member who left never gets a new key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.chat import access
from socialhub.chat.config import BASE64, MAX_WRAPPED_KEY_CHARS
from socialhub.chat.models import ChatDevice, ChatMember, ChatWrappedKey
from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.models import utcnow

MAX_DEVICES_PER_USER = 20
SPKI_P256_LENGTH = 91  # DER SubjectPublicKeyInfo of an uncompressed P-256 point


def decode_b64(value: str, what: str, max_chars: int) -> bytes:
    value = str(value)
    if not value or len(value) > max_chars or not BASE64.match(value):
        raise ValidationError(f"The {what} is not valid.")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise ValidationError(f"The {what} is not valid.") from None


def register_device(session: Session, *, user_id: int, public_key: str, label: str = "") -> ChatDevice:
    """The user's device with this public key: the existing one, or a new one."""
    raw = decode_b64(public_key, "device key", 200)
    if len(raw) != SPKI_P256_LENGTH or raw[:2] != b"\x30\x59":
        raise ValidationError("The device key is not a P-256 public key.")
    fingerprint = hashlib.sha256(raw).hexdigest()
    device = session.exec(select(ChatDevice).where(ChatDevice.user_id == user_id,
                                                   ChatDevice.fingerprint == fingerprint)).first()
    if device is not None:
        if device.revoked_at is not None:
            raise ValidationError("This browser's chat key was revoked. Clear this site's data to make a new one.")
        return device
    active = session.exec(select(ChatDevice.id).where(ChatDevice.user_id == user_id, ChatDevice.revoked_at.is_(None))).all()
    if len(active) >= MAX_DEVICES_PER_USER:
        raise ValidationError(f"You have {MAX_DEVICES_PER_USER} browsers set up for chat. Revoke one first.")
    device = ChatDevice(user_id=user_id, public_key=public_key, fingerprint=fingerprint,
                        label=" ".join(str(label).split())[:100])
    session.add(device)
    session.flush()
    return device


def own_device(session: Session, *, user_id: int, device_id: int) -> ChatDevice:
    device = session.get(ChatDevice, device_id) if isinstance(device_id, int) else None
    if device is None or device.user_id != user_id or device.revoked_at is not None:
        raise NotFound("This browser is not set up for chat yet. Reload the page.")
    return device


def revoke_device(session: Session, *, user_id: int, device_id: int) -> None:
    device = own_device(session, user_id=user_id, device_id=device_id)
    device.revoked_at = utcnow()
    session.add(device)


@dataclass
class DeviceKey:
    device_id: int
    user_id: int
    public_key: str


def member_devices(session: Session, *, user_id: int, conversation_id: int) -> list[DeviceKey]:
    """Every usable device of the conversation's active members (the targets of a new key)."""
    access.membership(session, conversation_id=conversation_id, user_id=user_id)
    return [DeviceKey(d.id, d.user_id, d.public_key) for d in session.exec(
        select(ChatDevice).join(ChatMember, ChatMember.user_id == ChatDevice.user_id)
        .where(ChatMember.conversation_id == conversation_id, ChatMember.left_at.is_(None),
               ChatDevice.revoked_at.is_(None)).order_by(ChatDevice.id))]


def devices_missing_key(session: Session, *, user_id: int, conversation_id: int) -> list[DeviceKey]:
    """Member devices with no wrap of the current epoch's key (empty when the epoch has no key yet)."""
    conversation, _ = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    have = set(session.exec(select(ChatWrappedKey.device_id).where(
        ChatWrappedKey.conversation_id == conversation_id, ChatWrappedKey.epoch == conversation.epoch)).all())
    if not have:
        return []
    return [d for d in member_devices(session, user_id=user_id, conversation_id=conversation_id) if d.device_id not in have]


def post_epoch_keys(session: Session, *, user_id: int, conversation_id: int, epoch: int, device_id: int,
                    wraps: dict[int, str], fresh: bool) -> int:
    """Store the current epoch's key wrapped by `device_id` for other devices; returns how many were new."""
    conversation, _ = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    own_device(session, user_id=user_id, device_id=device_id)
    if epoch != conversation.epoch:
        raise ValidationError("This conversation has a newer key. Reload and try again.")
    existing = session.exec(select(ChatWrappedKey.device_id).where(
        ChatWrappedKey.conversation_id == conversation_id, ChatWrappedKey.epoch == epoch)).all()
    if fresh and existing:
        raise ValidationError("Someone already started this conversation's key. Reload to use it.")
    if not fresh and device_id not in existing:
        raise ValidationError("This browser does not hold this conversation's key.")
    allowed = {d.device_id for d in member_devices(session, user_id=user_id, conversation_id=conversation_id)}
    if fresh and device_id not in wraps:
        raise ValidationError("A new key must be wrapped for this browser too.")
    rows = []
    for target, wrapped in wraps.items():
        if target not in allowed:
            raise NotFound("One of those browsers is not in this conversation.")
        if len(decode_b64(wrapped, "wrapped key", MAX_WRAPPED_KEY_CHARS)) != 40:  # AES-KW of 32 bytes
            raise ValidationError("The wrapped key is not valid.")
        rows.append({"conversation_id": conversation_id, "epoch": epoch, "device_id": target,
                     "wrapped_by_device_id": device_id, "wrapped_key": wrapped, "created_at": utcnow()})
    if not rows:
        return 0
    result = session.execute(insert(ChatWrappedKey).values(rows).on_conflict_do_nothing(
        constraint="uq_chat_wrapped_keys").returning(ChatWrappedKey.id))
    added = len(result.all())
    access.tell_members(session, conversation_id=conversation_id, what="keys", exclude=user_id)
    return added


@dataclass
class KeyForDevice:
    epoch: int
    wrapped_key: str
    wrapped_by_device_id: int
    wrapped_by_public_key: str


def keys_for_device(session: Session, *, user_id: int, conversation_id: int, device_id: int) -> list[KeyForDevice]:
    """Every epoch key of the conversation wrapped for this (own) device, with the wrapper's public key."""
    access.membership(session, conversation_id=conversation_id, user_id=user_id)
    own_device(session, user_id=user_id, device_id=device_id)
    wrapper = ChatDevice.__table__.alias("wrapper")
    rows = session.execute(
        select(ChatWrappedKey.epoch, ChatWrappedKey.wrapped_key, ChatWrappedKey.wrapped_by_device_id,
               wrapper.c.public_key)
        .join(wrapper, wrapper.c.id == ChatWrappedKey.wrapped_by_device_id)
        .where(ChatWrappedKey.conversation_id == conversation_id, ChatWrappedKey.device_id == device_id)
        .order_by(ChatWrappedKey.epoch)).all()
    return [KeyForDevice(*row) for row in rows]
