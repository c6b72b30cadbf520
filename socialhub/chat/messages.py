"""Messages: send (ciphertext only), list a page or everything since an id (re-sync after a
reconnect), edit, delete for me / for everyone, and reactions.

The server checks what it can without reading: the sender is an active member, the device is
theirs, the epoch is the conversation's current one (so nobody writes with a key a departed
member still holds), the iv is 12 bytes, the ciphertext is base64 under `MAX_CIPHERTEXT_CHARS`
and at least a GCM tag long, the rate (`chat_messages`). Message ids grow, so "since id N"
is exact: a client that reconnects asks for everything after the last id it has and misses
nothing. A member added later sees messages after `joined_after_message_id` only.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.chat import access
from socialhub.chat.config import MAX_CIPHERTEXT_CHARS, PAGE
from socialhub.chat.keys import decode_b64, own_device
from socialhub.chat.models import MESSAGE_KINDS, ChatHidden, ChatMember, ChatMessage, ChatReaction
from socialhub.core import ratelimit
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core.models import utcnow
from socialhub.identity.models import User

ALLOWED_REACTIONS = ("👍", "❤️", "😂", "😮", "😢", "🙏")
MESSAGE_NOT_FOUND = "This message does not exist or was deleted."


def _check_payload(ciphertext: str, iv: str) -> None:
    if len(decode_b64(iv, "message", 24)) != 12:
        raise ValidationError("The message could not be sent (bad iv). Reload the page.")
    if len(str(ciphertext)) > MAX_CIPHERTEXT_CHARS:
        raise ValidationError("This message is too long. Split it into several.")
    if len(decode_b64(ciphertext, "message", MAX_CIPHERTEXT_CHARS)) < 17:
        raise ValidationError("The message is empty.")


def send_message(session: Session, *, user_id: int, conversation_id: int, device_id: int, epoch: int,
                 ciphertext: str, iv: str, kind: str = "text", reply_to_id: int | None = None) -> ChatMessage:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    own_device(session, user_id=user_id, device_id=device_id)
    if kind not in MESSAGE_KINDS:
        raise ValidationError("This kind of message is not supported yet.")
    if epoch != conversation.epoch:
        raise ValidationError("This conversation has a newer key. Your message was not sent; reload and resend it.")
    _check_payload(ciphertext, iv)
    if conversation.kind == "direct":
        others = [m.user_id for m in access.active_members(session, conversation.id) if m.user_id != user_id]
        if any(access.is_blocked(session, user_id, other) for other in others):
            raise PermissionDenied("You cannot message this person.")
    if reply_to_id is not None:
        _visible_message(session, user_id=user_id, member=me, message_id=reply_to_id)
    ratelimit.check("chat_messages", user_id)
    message = ChatMessage(conversation_id=conversation.id, sender_id=user_id, sender_device_id=device_id, epoch=epoch,
                          kind=kind, ciphertext=ciphertext, iv=iv, reply_to_id=reply_to_id)
    session.add(message)
    session.flush()
    conversation.last_message_id, conversation.last_message_at = message.id, message.created_at
    me.last_read_message_id = me.last_delivered_message_id = message.id  # one's own message is read
    session.add_all([conversation, me])
    access.tell_members(session, conversation_id=conversation.id, what="message", exclude=user_id, message_id=message.id)
    return message


def _visible_message(session: Session, *, user_id: int, member: ChatMember, message_id: int) -> ChatMessage:
    message = session.get(ChatMessage, message_id) if isinstance(message_id, int) else None
    if (message is None or message.conversation_id != member.conversation_id
            or message.id <= member.joined_after_message_id or session.get(ChatHidden, (message.id, user_id))):
        raise NotFound(MESSAGE_NOT_FOUND)
    return message


@dataclass
class MessageView:
    id: int
    sender_id: int | None
    sender_name: str
    sender_device_id: int | None
    epoch: int
    kind: str
    ciphertext: str
    iv: str
    reply_to_id: int | None
    created_at: datetime
    edited: bool
    deleted: bool
    reactions: dict[str, int] = field(default_factory=dict)
    my_reactions: list[str] = field(default_factory=list)


def list_messages(session: Session, *, user_id: int, conversation_id: int, after_id: int = 0,
                  before_id: int | None = None, limit: int = PAGE) -> list[MessageView]:
    """Messages in id order: the newest `limit` before `before_id` (or the end), or — with
    `after_id` — every message after it, oldest first, up to `limit` (call again for more)."""
    _, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    query = (select(ChatMessage, User.name).outerjoin(User, User.id == ChatMessage.sender_id)
             .where(ChatMessage.conversation_id == conversation_id,
                    ChatMessage.id > max(int(after_id or 0), me.joined_after_message_id),
                    ~ChatMessage.id.in_(select(ChatHidden.message_id).where(ChatHidden.user_id == user_id))))
    limit = max(1, min(int(limit), 500))
    if after_id:
        rows = list(session.exec(query.order_by(ChatMessage.id).limit(limit)))
    else:
        if before_id is not None:
            query = query.where(ChatMessage.id < before_id)
        rows = list(reversed(session.exec(query.order_by(ChatMessage.id.desc()).limit(limit)).all()))
    counts: dict[int, dict[str, int]] = defaultdict(dict)
    mine: dict[int, list[str]] = defaultdict(list)
    ids = [m.id for m, _ in rows]
    if ids:
        for message_id, emoji, who in session.exec(select(ChatReaction.message_id, ChatReaction.emoji, ChatReaction.user_id)
                                                   .where(ChatReaction.message_id.in_(ids)).order_by(ChatReaction.id)):
            counts[message_id][emoji] = counts[message_id].get(emoji, 0) + 1
            if who == user_id:
                mine[message_id].append(emoji)
    return [MessageView(m.id, m.sender_id, name or "Deleted account", m.sender_device_id, m.epoch, m.kind,
                        "" if m.deleted_for_everyone else m.ciphertext, "" if m.deleted_for_everyone else m.iv,
                        m.reply_to_id, m.created_at, m.edited_at is not None, m.deleted_for_everyone,
                        counts.get(m.id, {}), mine.get(m.id, [])) for m, name in rows]


def edit_message(session: Session, *, user_id: int, conversation_id: int, message_id: int, device_id: int,
                 epoch: int, ciphertext: str, iv: str) -> ChatMessage:
    """Replace one's own message with a new ciphertext (under the current epoch); shown "edited"."""
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    own_device(session, user_id=user_id, device_id=device_id)
    message = _visible_message(session, user_id=user_id, member=me, message_id=message_id)
    if message.sender_id != user_id or message.deleted_for_everyone:
        raise PermissionDenied("You can edit only your own messages.")
    if epoch != conversation.epoch:
        raise ValidationError("This conversation has a newer key. Reload and edit again.")
    _check_payload(ciphertext, iv)
    ratelimit.check("chat_messages", user_id)
    message.ciphertext, message.iv, message.epoch, message.sender_device_id = ciphertext, iv, epoch, device_id
    message.edited_at = utcnow()
    session.add(message)
    access.tell_members(session, conversation_id=conversation.id, what="edit", exclude=user_id, message_id=message.id)
    return message


def delete_message(session: Session, *, user_id: int, conversation_id: int, message_id: int, for_everyone: bool) -> None:
    """For me: hide it from my lists. For everyone (own messages): wipe its ciphertext for good."""
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    message = _visible_message(session, user_id=user_id, member=me, message_id=message_id)
    if not for_everyone:
        session.execute(insert(ChatHidden).values(message_id=message.id, user_id=user_id).on_conflict_do_nothing())
        return
    if message.sender_id != user_id:
        raise PermissionDenied("You can delete only your own messages for everyone.")
    message.ciphertext, message.iv, message.deleted_for_everyone = "", "", True
    session.add(message)
    session.execute(delete(ChatReaction).where(ChatReaction.message_id == message.id))
    access.tell_members(session, conversation_id=conversation.id, what="edit", exclude=user_id, message_id=message.id)


def toggle_reaction(session: Session, *, user_id: int, conversation_id: int, message_id: int, emoji: str) -> bool:
    """Add the reaction, or take it back if it was there; True when it is now on."""
    if emoji not in ALLOWED_REACTIONS:
        raise ValidationError("Pick one of the offered reactions.")
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    message = _visible_message(session, user_id=user_id, member=me, message_id=message_id)
    if message.deleted_for_everyone:
        raise NotFound(MESSAGE_NOT_FOUND)
    removed = session.execute(delete(ChatReaction).where(
        ChatReaction.message_id == message.id, ChatReaction.user_id == user_id, ChatReaction.emoji == emoji)).rowcount
    if not removed:
        session.add(ChatReaction(message_id=message.id, user_id=user_id, emoji=emoji))
    access.tell_members(session, conversation_id=conversation.id, what="reaction", exclude=user_id, message_id=message.id)
    return not removed
