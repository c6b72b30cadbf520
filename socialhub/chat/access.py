"""Who may see and do what in Chat, and how other members hear of it.

Every service resolves a conversation through `membership(…)`: a conversation the user is not
an active member of does not exist for them (`NotFound`, the same message whether it exists or
not), so ids cannot be probed. `announce(…)` publishes one `chat` event on the bus to the
conversation's active members, inside the caller's transaction; payloads carry ids only, and
each browser's state re-reads through these same checks.

Blocks: the Social package adds blocking later. Until then `on_block_check(fn)` is the hook:
`fn(session, a_id, b_id) -> bool` says whether either user blocked the other; `is_blocked` asks
every registered check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from sqlmodel import Session, select

from socialhub.chat.models import ChatConversation, ChatMember
from socialhub.core import events
from socialhub.core.errors import NotFound, PermissionDenied

EVENT_KIND = "chat"
NOT_FOUND = "This conversation does not exist or you are not in it."

_block_checks: list[Callable[[Session, int, int], bool]] = []


def on_block_check(check: Callable[[Session, int, int], bool]) -> None:
    if check not in _block_checks:
        _block_checks.append(check)


def is_blocked(session: Session, a_id: int, b_id: int) -> bool:
    return any(check(session, a_id, b_id) for check in _block_checks)


def membership(session: Session, *, conversation_id: int, user_id: int,
               lock: bool = False) -> tuple[ChatConversation, ChatMember]:
    """The conversation and the user's active member row, or NotFound."""
    if not isinstance(conversation_id, int) or conversation_id <= 0:
        raise NotFound(NOT_FOUND)
    query = (select(ChatConversation, ChatMember).join(ChatMember, ChatMember.conversation_id == ChatConversation.id)
             .where(ChatConversation.id == conversation_id, ChatMember.user_id == user_id, ChatMember.left_at.is_(None)))
    if lock:
        query = query.with_for_update(of=ChatConversation)
    row = session.exec(query).first()
    if row is None:
        raise NotFound(NOT_FOUND)
    return row[0], row[1]


def require_role(member: ChatMember, *roles: str) -> None:
    if member.role not in roles:
        raise PermissionDenied("Only the group's owner or admins can do that.")


def active_members(session: Session, conversation_id: int) -> list[ChatMember]:
    return list(session.exec(select(ChatMember).where(
        ChatMember.conversation_id == conversation_id, ChatMember.left_at.is_(None)).order_by(ChatMember.id)))


def announce(session: Session, *, conversation_id: int, what: str, user_ids: Iterable[int],
             exclude: int | None = None, **data: int | str) -> None:
    """Tell these users' browsers that something of `what` changed in the conversation."""
    recipients = [u for u in user_ids if u != exclude]
    if recipients:
        events.publish(session, kind=EVENT_KIND, user_ids=recipients,
                       data={"conversation_id": conversation_id, "what": what, **data})


def tell_members(session: Session, *, conversation_id: int, what: str, exclude: int | None = None,
                 **data: int | str) -> None:
    """`announce` to every active member of the conversation (but `exclude`)."""
    announce(session, conversation_id=conversation_id, what=what, exclude=exclude,
             user_ids=[m.user_id for m in active_members(session, conversation_id)], **data)
