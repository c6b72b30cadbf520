"""Conversations and their members: create direct and group chats, add, remove, leave, rename,
roles, per-member mute/archive/pin, and the conversation list with unread counts.

Removing or leaving starts a new key epoch (`ChatConversation.epoch += 1`, a `ChatEpoch` row):
messages from then on must be encrypted with a key the remaining members' clients make and wrap
for the remaining devices (`keys.post_epoch_keys`); the person who left never receives it.
Adding a member keeps the epoch: a member client wraps the current key for the newcomer's devices
(they can read from when they joined; older messages are hidden by `joined_after_message_id`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_
from sqlmodel import Session, select

from socialhub.chat import access
from socialhub.chat.config import MAX_GROUP_MEMBERS, MAX_TITLE_CHARS
from socialhub.chat.models import ChatConversation, ChatEpoch, ChatHidden, ChatMember, ChatMessage
from socialhub.core import ratelimit
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core.models import utcnow
from socialhub.identity.models import User


def _clean_title(title: str) -> str:
    title = " ".join(str(title).replace("\x00", "").split())
    if not title:
        raise ValidationError("Give the group a name.")
    if len(title) > MAX_TITLE_CHARS:
        raise ValidationError(f"A group name has at most {MAX_TITLE_CHARS} characters.")
    return title


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id) if isinstance(user_id, int) else None
    if user is None:
        raise NotFound("There is no such person on this SocialHub.")
    return user


def find_people(session: Session, *, user_id: int, query: str, limit: int = 8) -> list[User]:
    """People of this instance whose name or e-mail contains `query` (at least 2 characters)."""
    query = str(query).strip()[:100]
    if len(query) < 2:
        return []
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(session.exec(select(User).where(
        User.id != user_id, or_(User.name.ilike(pattern), User.email.ilike(pattern))).order_by(User.name).limit(limit)))


def _start(session: Session, *, kind: str, creator_id: int, title: str = "", direct_key: str | None = None) -> ChatConversation:
    conversation = ChatConversation(kind=kind, title=title, direct_key=direct_key, created_by_id=creator_id)
    session.add(conversation)
    session.flush()
    session.add(ChatEpoch(conversation_id=conversation.id, epoch=1, reason="created"))
    return conversation


def create_direct(session: Session, *, user_id: int, other_id: int) -> ChatConversation:
    """The direct conversation between two people: the existing one, or a new one."""
    if other_id == user_id:
        raise ValidationError("Pick someone other than yourself.")
    _user(session, other_id)
    if access.is_blocked(session, user_id, other_id):
        raise PermissionDenied("You cannot message this person.")
    key = f"{min(user_id, other_id)}:{max(user_id, other_id)}"
    existing = session.exec(select(ChatConversation).where(ChatConversation.direct_key == key)).first()
    if existing is not None:
        return existing
    ratelimit.check("chat_conversations", user_id)
    conversation = _start(session, kind="direct", creator_id=user_id, direct_key=key)
    session.add(ChatMember(conversation_id=conversation.id, user_id=user_id, role="member"))
    session.add(ChatMember(conversation_id=conversation.id, user_id=other_id, role="member"))
    session.flush()
    access.announce(session, conversation_id=conversation.id, what="members", user_ids=[other_id])
    return conversation


def create_group(session: Session, *, user_id: int, title: str, member_ids: list[int]) -> ChatConversation:
    title = _clean_title(title)
    others = sorted({m for m in member_ids if m != user_id})
    if len(others) + 1 > MAX_GROUP_MEMBERS:
        raise ValidationError(f"A group has at most {MAX_GROUP_MEMBERS} members.")
    for other in others:
        _user(session, other)
    ratelimit.check("chat_conversations", user_id)
    conversation = _start(session, kind="group", creator_id=user_id, title=title)
    session.add(ChatMember(conversation_id=conversation.id, user_id=user_id, role="owner"))
    for other in others:
        session.add(ChatMember(conversation_id=conversation.id, user_id=other, role="member"))
    session.flush()
    access.announce(session, conversation_id=conversation.id, what="members", user_ids=others)
    return conversation


def rename(session: Session, *, user_id: int, conversation_id: int, title: str) -> ChatConversation:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    if conversation.kind != "group":
        raise ValidationError("Only groups have a name.")
    access.require_role(me, "owner", "admin")
    conversation.title = _clean_title(title)
    session.add(conversation)
    access.tell_members(session, conversation_id=conversation.id, what="members", exclude=user_id)
    return conversation


def add_member(session: Session, *, user_id: int, conversation_id: int, new_user_id: int) -> ChatMember:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    if conversation.kind != "group":
        raise ValidationError("Start a group to talk with more people.")
    access.require_role(me, "owner", "admin")
    _user(session, new_user_id)
    members = access.active_members(session, conversation.id)
    if len(members) >= MAX_GROUP_MEMBERS:
        raise ValidationError(f"A group has at most {MAX_GROUP_MEMBERS} members.")
    row = session.exec(select(ChatMember).where(ChatMember.conversation_id == conversation.id,
                                                ChatMember.user_id == new_user_id)).first()
    if row is not None and row.left_at is None:
        raise ValidationError("They are already in this group.")
    row = row or ChatMember(conversation_id=conversation.id, user_id=new_user_id)
    row.left_at, row.role, row.joined_at = None, "member", utcnow()
    row.joined_after_message_id = conversation.last_message_id or 0
    row.last_read_message_id = row.last_delivered_message_id = conversation.last_message_id or 0
    session.add(row)
    session.flush()
    access.announce(session, conversation_id=conversation.id, what="members",
                    user_ids=[m.user_id for m in members] + [new_user_id], exclude=user_id)
    return row


def _depart(session: Session, conversation: ChatConversation, member: ChatMember, reason: str) -> None:
    """Mark `member` gone and start a new epoch for the rest."""
    member.left_at = utcnow()
    session.add(member)
    conversation.epoch += 1
    session.add(conversation)
    session.add(ChatEpoch(conversation_id=conversation.id, epoch=conversation.epoch, reason=reason))
    remaining = access.active_members(session, conversation.id)
    if member.role == "owner" and remaining and not any(m.role == "owner" for m in remaining if m.id != member.id):
        heir = next((m for m in remaining if m.id != member.id and m.role == "admin"), None) or \
            next((m for m in remaining if m.id != member.id), None)
        if heir is not None:
            heir.role = "owner"
            session.add(heir)
    session.flush()
    access.announce(session, conversation_id=conversation.id, what="members",
                    user_ids=[m.user_id for m in remaining] + [member.user_id])


def remove_member(session: Session, *, user_id: int, conversation_id: int, member_user_id: int) -> None:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    if conversation.kind != "group":
        raise ValidationError("No one can be removed from a direct conversation.")
    access.require_role(me, "owner", "admin")
    target = session.exec(select(ChatMember).where(ChatMember.conversation_id == conversation.id,
                                                   ChatMember.user_id == member_user_id,
                                                   ChatMember.left_at.is_(None))).first()
    if target is None:
        raise NotFound("They are not in this group.")
    if target.user_id == user_id:
        raise ValidationError("Use Leave to leave the group.")
    if target.role == "owner" and me.role != "owner":
        raise PermissionDenied("Admins cannot remove the owner.")
    _depart(session, conversation, target, "removed")


def leave(session: Session, *, user_id: int, conversation_id: int) -> None:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id, lock=True)
    if conversation.kind != "group":
        raise ValidationError("A direct conversation cannot be left; archive it instead.")
    _depart(session, conversation, me, "left")


def set_role(session: Session, *, user_id: int, conversation_id: int, member_user_id: int, role: str) -> None:
    conversation, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    access.require_role(me, "owner")
    if role not in ("admin", "member"):
        raise ValidationError("A role is admin or member.")
    target = session.exec(select(ChatMember).where(ChatMember.conversation_id == conversation.id,
                                                   ChatMember.user_id == member_user_id,
                                                   ChatMember.left_at.is_(None))).first()
    if target is None or target.role == "owner":
        raise NotFound("They are not in this group.")
    target.role = role
    session.add(target)


def set_flags(session: Session, *, user_id: int, conversation_id: int, muted: bool | None = None,
              archived: bool | None = None, pinned: bool | None = None) -> ChatMember:
    """The user's own mute, archive and pin of a conversation."""
    _, me = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    for name, value in (("muted", muted), ("archived", archived), ("pinned", pinned)):
        if value is not None:
            setattr(me, name, bool(value))
    session.add(me)
    return me


@dataclass
class ConversationSummary:
    id: int
    kind: str
    title: str  # the group's name, or the other person's name
    epoch: int
    last_message_at: datetime | None
    unread: int
    muted: bool
    archived: bool
    pinned: bool
    role: str


def list_conversations(session: Session, *, user_id: int, archived: bool = False, limit: int = 100) -> list[ConversationSummary]:
    """The user's active conversations, pinned first, then the latest message first, with unread counts."""
    rows = list(session.exec(
        select(ChatConversation, ChatMember).join(ChatMember, ChatMember.conversation_id == ChatConversation.id)
        .where(ChatMember.user_id == user_id, ChatMember.left_at.is_(None), ChatMember.archived == archived)
        .order_by(ChatMember.pinned.desc(),
                  func.coalesce(ChatConversation.last_message_at, ChatConversation.created_at).desc())
        .limit(limit)))
    if not rows:
        return []
    ids = [c.id for c, _ in rows]
    unread = dict(session.exec(
        select(ChatMessage.conversation_id, func.count()).join(
            ChatMember, (ChatMember.conversation_id == ChatMessage.conversation_id) & (ChatMember.user_id == user_id))
        .where(ChatMessage.conversation_id.in_(ids), ChatMessage.id > ChatMember.last_read_message_id,
               ChatMessage.sender_id != user_id, ChatMessage.deleted_for_everyone.is_(False),
               ~ChatMessage.id.in_(select(ChatHidden.message_id).where(ChatHidden.user_id == user_id)))
        .group_by(ChatMessage.conversation_id)).all())
    names = _direct_names(session, user_id, [c.id for c, _ in rows if c.kind == "direct"])
    return [ConversationSummary(c.id, c.kind, c.title if c.kind == "group" else names.get(c.id, "Someone"),
                                c.epoch, c.last_message_at, int(unread.get(c.id, 0)), m.muted, m.archived,
                                m.pinned, m.role) for c, m in rows]


def _direct_names(session: Session, user_id: int, conversation_ids: list[int]) -> dict[int, str]:
    if not conversation_ids:
        return {}
    return dict(session.exec(select(ChatMember.conversation_id, User.name).join(User, User.id == ChatMember.user_id)
                             .where(ChatMember.conversation_id.in_(conversation_ids), ChatMember.user_id != user_id)).all())


@dataclass
class MemberView:
    user_id: int
    name: str
    role: str


def list_members(session: Session, *, user_id: int, conversation_id: int) -> list[MemberView]:
    access.membership(session, conversation_id=conversation_id, user_id=user_id)
    return [MemberView(m.user_id, name, m.role) for m, name in session.exec(
        select(ChatMember, User.name).join(User, User.id == ChatMember.user_id)
        .where(ChatMember.conversation_id == conversation_id, ChatMember.left_at.is_(None)).order_by(User.name))]


def title_of(session: Session, *, user_id: int, conversation_id: int) -> str:
    conversation, _ = access.membership(session, conversation_id=conversation_id, user_id=user_id)
    if conversation.kind == "group":
        return conversation.title
    return _direct_names(session, user_id, [conversation.id]).get(conversation.id, "Someone")
