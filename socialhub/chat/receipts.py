"""Delivery and read receipts (watermarks per member), typing, presence and the privacy settings
that govern all three.

- Delivered: a browser of the member has loaded the message (`mark_delivered`, called when the
  chat page loads or hears of new messages). Read: the conversation was open on screen
  (`mark_read`). Both only move forward; one's own messages count as read.
- `read_receipts=False` (WhatsApp's rule): the user's read watermark still drives their own
  unread counts but is never shown to others, and they see no one else's reads either.
- Typing is an event on the bus, never a row. Presence is `ChatSettings.last_seen_at`, shown
  only to people who share a conversation, and never when `show_last_seen` is off or either
  blocked the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.chat import access
from socialhub.chat.config import ONLINE_SECONDS
from socialhub.chat.models import ChatConversation, ChatMember, ChatSettings
from socialhub.core import ratelimit
from socialhub.core.errors import NotFound
from socialhub.core.models import utcnow
from socialhub.identity.models import User


def get_settings(session: Session, *, user_id: int) -> ChatSettings:
    return session.get(ChatSettings, user_id) or ChatSettings(user_id=user_id)


def update_settings(session: Session, *, user_id: int, read_receipts: bool | None = None,
                    show_last_seen: bool | None = None) -> ChatSettings:
    settings = get_settings(session, user_id=user_id)
    if read_receipts is not None:
        settings.read_receipts = bool(read_receipts)
    if show_last_seen is not None:
        settings.show_last_seen = bool(show_last_seen)
    session.merge(settings)
    return settings


def _others(session: Session, conversation_id: int, user_id: int) -> list[int]:
    return [m.user_id for m in access.active_members(session, conversation_id) if m.user_id != user_id]


def mark_delivered(session: Session, *, user_id: int) -> list[int]:
    """Everything in the user's conversations has reached a browser of theirs; returns the
    conversations whose watermark moved (their members are told)."""
    moved = list(session.execute(
        update(ChatMember)
        .where(ChatMember.user_id == user_id, ChatMember.left_at.is_(None),
               ChatMember.conversation_id == ChatConversation.id,
               ChatConversation.last_message_id > ChatMember.last_delivered_message_id)
        .values(last_delivered_message_id=ChatConversation.last_message_id)
        .returning(ChatMember.conversation_id)).scalars())
    for conversation_id in moved:
        access.announce(session, conversation_id=conversation_id, what="receipt",
                        user_ids=_others(session, conversation_id, user_id))
    return moved


def mark_read(session: Session, *, user_id: int, conversation_id: int, up_to_id: int | None = None) -> bool:
    """The user has seen the conversation up to `up_to_id` (default: its last message)."""
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    target = min(int(up_to_id), conversation.last_message_id or 0) if up_to_id else (conversation.last_message_id or 0)
    if target <= me.last_read_message_id:
        return False
    me.last_read_message_id = target
    me.last_delivered_message_id = max(me.last_delivered_message_id, target)
    session.add(me)
    if get_settings(session, user_id=user_id).read_receipts:
        access.announce(session, conversation_id=conversation_id, what="receipt",
                        user_ids=_others(session, conversation_id, user_id))
    return True


@dataclass
class ReadState:
    delivered_upto: int  # every other member has this message and those before it
    read_upto: int  # every other member has read up to here (0 when receipts are hidden)
    readers: list[tuple[int, str, int]]  # (user id, name, read up to) of members who show reads


def read_state(session: Session, *, user_id: int, conversation_id: int) -> ReadState:
    access.membership(session, conversation_id=conversation_id, user_id=user_id)
    rows = session.exec(
        select(ChatMember, User.name, func.coalesce(ChatSettings.read_receipts, True))
        .join(User, User.id == ChatMember.user_id).outerjoin(ChatSettings, ChatSettings.user_id == ChatMember.user_id)
        .where(ChatMember.conversation_id == conversation_id, ChatMember.left_at.is_(None),
               ChatMember.user_id != user_id)).all()
    if not rows:
        return ReadState(0, 0, [])
    i_show = get_settings(session, user_id=user_id).read_receipts
    delivered = min(m.last_delivered_message_id for m, _, _ in rows)
    readers = [(m.user_id, name, m.last_read_message_id) for m, name, shows in rows if shows and i_show]
    read = min(m.last_read_message_id if shows and i_show else 0 for m, _, shows in rows)
    return ReadState(delivered, read, readers)


def signal_typing(session: Session, *, user_id: int, conversation_id: int) -> None:
    """Tell the other members that the user is typing (no row is written)."""
    access.membership(session, conversation_id=conversation_id, user_id=user_id)
    ratelimit.check("chat_typing_signals", user_id)
    access.announce(session, conversation_id=conversation_id, what="typing", user_id=user_id,
                    user_ids=_others(session, conversation_id, user_id))


def touch_presence(session: Session, *, user_id: int) -> None:
    now = utcnow()
    session.execute(insert(ChatSettings).values(user_id=user_id, read_receipts=True, show_last_seen=True,
                                                last_seen_at=now)
                    .on_conflict_do_update(index_elements=["user_id"], set_={"last_seen_at": now}))


@dataclass
class Presence:
    online: bool
    last_seen_at: datetime | None  # None: hidden or never seen


def presence_of(session: Session, *, viewer_id: int, user_id: int) -> Presence:
    """What `viewer_id` may know of `user_id`'s presence: they must share an active conversation."""
    mine = select(ChatMember.conversation_id).where(ChatMember.user_id == viewer_id, ChatMember.left_at.is_(None))
    shared = session.exec(select(ChatMember.id).where(ChatMember.user_id == user_id, ChatMember.left_at.is_(None),
                                                      ChatMember.conversation_id.in_(mine)).limit(1)).first()
    if shared is None or viewer_id == user_id:
        raise NotFound("There is no such person in your conversations.")
    settings = get_settings(session, user_id=user_id)
    if not settings.show_last_seen or settings.last_seen_at is None or access.is_blocked(session, viewer_id, user_id):
        return Presence(False, None)
    online = utcnow() - settings.last_seen_at < timedelta(seconds=ONLINE_SECONDS)
    return Presence(online, settings.last_seen_at)
