"""Chat's tables: devices and their public keys, conversations, members, key epochs with the
content key wrapped per device, messages (ciphertext only), hidden messages, reactions, and each
user's chat settings (privacy and presence).

Invariants:
- The server never holds a message's text or a content key in the clear: `ChatMessage.ciphertext`
  is AES-256-GCM output (base64) and `ChatWrappedKey.wrapped_key` is AES-KW output (base64); the
  format is in `assets/chat-crypto.js` and pinned by tests/chat/test_format.py.
- `ChatConversation.epoch` is the epoch new messages must use. It starts at 1 and goes up by one
  whenever a member leaves or is removed; `ChatEpoch` has one row per epoch, and a client that
  holds no key for the current epoch makes one and posts it wrapped for every active device.
- A member row is kept when someone leaves (`left_at` set): their old messages stay attributed;
  coming back clears `left_at`. Active member = `left_at IS NULL`.
- Receipts are watermarks per member (`last_delivered_message_id`, `last_read_message_id`),
  never rows per message; message ids grow with time inside a conversation.
- A direct conversation has exactly two members and a unique `direct_key` ("<low id>:<high id>").
- Datetimes are aware UTC.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field, timestamp_field

ROLES = ("owner", "admin", "member")
KINDS = ("direct", "group")
MESSAGE_KINDS = ("text",)  # attachment, poll, sticker, gift come later


class ChatDevice(SQLModel, table=True):
    """A browser of a user, known by its ECDH P-256 public key (SPKI, base64)."""

    __tablename__ = "chat_devices"
    __table_args__ = (UniqueConstraint("user_id", "fingerprint", name="uq_chat_devices_user_key"),)

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    label: str = Field(default="", max_length=100)
    public_key: str = Field(sa_column=Column(Text, nullable=False))
    fingerprint: str = Field(max_length=64)  # sha256 of the SPKI bytes, hex
    created_at: datetime = created_at_field()
    revoked_at: datetime | None = timestamp_field()


class ChatConversation(SQLModel, table=True):
    __tablename__ = "chat_conversations"

    id: int | None = pk_field()
    kind: str = Field(max_length=10)  # direct | group
    title: str = Field(default="", max_length=100)  # groups only; metadata the server sees
    direct_key: str | None = Field(default=None, max_length=41, unique=True)
    created_by_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    epoch: int = 1
    last_message_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    last_message_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class ChatMember(SQLModel, table=True):
    __tablename__ = "chat_members"
    __table_args__ = (
        UniqueConstraint("conversation_id", "user_id", name="uq_chat_members"),
        Index("ix_chat_members_user_active", "user_id", "left_at"),
    )

    id: int | None = pk_field()
    conversation_id: int = fk_field("chat_conversations.id", index=False)
    user_id: int = fk_field("users.id", index=False)
    role: str = Field(default="member", max_length=10)
    joined_at: datetime = created_at_field()
    left_at: datetime | None = timestamp_field()
    muted: bool = False
    archived: bool = False
    pinned: bool = False
    last_delivered_message_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    last_read_message_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    joined_after_message_id: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))


class ChatEpoch(SQLModel, table=True):
    """One content key generation of a conversation (the key itself only exists wrapped)."""

    __tablename__ = "chat_epochs"
    __table_args__ = (UniqueConstraint("conversation_id", "epoch", name="uq_chat_epochs"),)

    id: int | None = pk_field()
    conversation_id: int = fk_field("chat_conversations.id", index=False)
    epoch: int
    reason: str = Field(default="created", max_length=20)  # created | left | removed
    created_at: datetime = created_at_field()


class ChatWrappedKey(SQLModel, table=True):
    """The content key of one epoch, wrapped for one device by another (static ECDH)."""

    __tablename__ = "chat_wrapped_keys"
    __table_args__ = (UniqueConstraint("conversation_id", "epoch", "device_id", name="uq_chat_wrapped_keys"),)

    id: int | None = pk_field()
    conversation_id: int = fk_field("chat_conversations.id", index=False)
    epoch: int
    device_id: int = fk_field("chat_devices.id")
    wrapped_by_device_id: int = fk_field("chat_devices.id", index=False)
    wrapped_key: str = Field(max_length=200)
    created_at: datetime = created_at_field()


class ChatMessage(SQLModel, table=True):
    __tablename__ = "chat_messages"
    __table_args__ = (Index("ix_chat_messages_conversation", "conversation_id", "id"),)

    id: int | None = pk_field()
    conversation_id: int = fk_field("chat_conversations.id", index=False)
    sender_id: int | None = fk_field("users.id", nullable=True, index=False, ondelete="SET NULL")
    sender_device_id: int | None = fk_field("chat_devices.id", nullable=True, index=False, ondelete="SET NULL")
    epoch: int
    kind: str = Field(default="text", max_length=12)
    ciphertext: str = Field(sa_column=Column(Text, nullable=False))  # base64; '' once deleted for everyone
    iv: str = Field(max_length=24)  # base64 of 12 bytes
    reply_to_id: int | None = Field(default=None, sa_column=Column(
        BigInteger, ForeignKey("chat_messages.id", ondelete="SET NULL"), nullable=True))
    created_at: datetime = created_at_field()
    edited_at: datetime | None = timestamp_field()
    deleted_for_everyone: bool = False


class ChatHidden(SQLModel, table=True):
    """A message one user deleted for themselves."""

    __tablename__ = "chat_hidden"

    message_id: int = Field(sa_column=Column(BigInteger, ForeignKey("chat_messages.id", ondelete="CASCADE"),
                                             primary_key=True))
    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))


class ChatReaction(SQLModel, table=True):
    """One emoji from `reactions.ALLOWED` by one user on one message (metadata the server sees)."""

    __tablename__ = "chat_reactions"
    __table_args__ = (UniqueConstraint("message_id", "user_id", "emoji", name="uq_chat_reactions"),)

    id: int | None = pk_field()
    message_id: int = fk_field("chat_messages.id")
    user_id: int = fk_field("users.id", index=False)
    emoji: str = Field(max_length=16)
    created_at: datetime = created_at_field()


class ChatSettings(SQLModel, table=True):
    """A user's chat privacy settings and presence."""

    __tablename__ = "chat_settings"

    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    read_receipts: bool = True
    show_last_seen: bool = True
    last_seen_at: datetime | None = timestamp_field()
