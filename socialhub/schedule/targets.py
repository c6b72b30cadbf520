"""What happens to a post's targets when its account changes, registered with channels.

Channels owns accounts and never imports Schedule; it calls the handlers registered here in the
transaction that changes the account:
- disconnected: every waiting target of the account is cancelled;
- needs reconnecting: waiting targets are paused (not failed), so nothing is lost;
- reconnected: paused targets go on, or are missed if their time passed long ago.
`socialhub/schedule/__init__.py` imports this module, so the handlers are registered in every
process that uses Schedule.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update
from sqlmodel import Session, select

from socialhub.channels import accounts
from socialhub.channels.models import PlatformAccount
from socialhub.core.models import utcnow
from socialhub.schedule import status
from socialhub.schedule.config import publishing_settings
from socialhub.schedule.models import PostTarget

WAITING_TARGET_STATUSES = ("pending", "retrying", "unconfirmed")


def _set_waiting_targets(session: Session, *, account: PlatformAccount, statuses: tuple[str, ...], new_status: str,
                         message: str, actor_id: int | None = None) -> list[int]:
    rows = session.execute(
        update(PostTarget)
        .where(PostTarget.account_id == account.id, PostTarget.status.in_(statuses))
        .values(status=new_status, claimed_by=None, claimed_until=None, updated_at=utcnow())
        .returning(PostTarget.id, PostTarget.post_id)
    ).all()
    if not rows:
        return []
    status.log_activities(session, [
        {"post_id": post_id, "target_id": target_id, "kind": f"target_{new_status}", "message": message, "actor_id": actor_id}
        for target_id, post_id in rows
    ])
    post_ids = sorted({post_id for _, post_id in rows})
    changes = status.refresh_post_statuses(session, post_ids=post_ids)
    status.announce(session, team_post_ids={account.team_id: post_ids}, changes=changes)
    return post_ids




def resume_paused_targets(session: Session, *, account: PlatformAccount, actor_id: int | None = None) -> list[int]:
    """After a reconnect: paused targets go on, or become missed if their time is long gone."""
    now = utcnow()
    window = timedelta(minutes=publishing_settings().missed_after_minutes)
    targets = list(session.exec(select(PostTarget).where(PostTarget.account_id == account.id, PostTarget.status == "paused")))
    if not targets:
        return []
    activities = []
    for target in targets:
        late = target.scheduled_at is not None and target.scheduled_at < now - window
        target.status = "missed" if late else "pending"
        target.due_at = None if late else max(target.scheduled_at or now, now)
        target.updated_at = now
        session.add(target)
        activities.append({"post_id": target.post_id, "target_id": target.id, "actor_id": actor_id,
                           "kind": "target_missed" if late else "target_resumed",
                           "message": f"{account.handle} reconnected; " + ("its time had passed, so it is missed." if late else "publishing resumes.")})
    session.flush()
    status.log_activities(session, activities)
    post_ids = sorted({t.post_id for t in targets})
    changes = status.refresh_post_statuses(session, post_ids=post_ids)
    status.announce(session, team_post_ids={account.team_id: post_ids}, changes=changes)
    return post_ids


def cancel_waiting_targets(session: Session, *, account: PlatformAccount, actor_id: int | None = None) -> list[int]:
    return _set_waiting_targets(session, account=account, statuses=(*WAITING_TARGET_STATUSES, "paused", "draft"),
                                new_status="cancelled", message=f"{account.handle} was disconnected.", actor_id=actor_id)


def pause_waiting_targets(session: Session, *, account: PlatformAccount, actor_id: int | None = None) -> list[int]:
    name = accounts.platform_display_name(account.platform)
    return _set_waiting_targets(session, account=account, statuses=WAITING_TARGET_STATUSES, new_status="paused",
                                message=f"Paused: {name} {account.handle} needs to be reconnected.", actor_id=actor_id)


accounts.on_account_event("disconnected", cancel_waiting_targets)
accounts.on_account_event("needs_reconnect", pause_waiting_targets)
accounts.on_account_event("reconnected", resume_paused_targets)
