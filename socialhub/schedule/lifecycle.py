"""Arming a post: every target that has not gone out waits for its time, and the post becomes
`scheduled`. Used by scheduling (`timing.py`) and by approval (`approvals.py`), which both
decide *when*; this module only does it, the same way for both.
"""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import Session, select

from socialhub.channels.models import PlatformAccount
from socialhub.core.errors import ValidationError
from socialhub.core.models import utcnow
from socialhub.schedule import status
from socialhub.schedule.models import Post, PostTarget
from socialhub.schedule.posts import touch
from socialhub.schedule.times import local_wall_time, next_occurrence


PAST_GRACE = timedelta(seconds=60)  # a time picked "now" in the composer is not "in the past"


# Targets that have not gone out and may be (re)armed with a new time.
ARMABLE = ("draft", "pending", "missed", "failed", "cancelled", "paused")


def arm_targets(session: Session, post: Post, *, actor_id: int | None, message: str, reset_attempts: bool = True) -> None:
    """Make every target that has not gone out wait for its time; the post becomes `scheduled`."""
    now = utcnow()
    armed = 0
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id).with_for_update().execution_options(populate_existing=True)):
        if target.status not in ARMABLE:
            continue
        account = session.get(PlatformAccount, target.account_id)
        at = target.scheduled_at or post.scheduled_at
        target.scheduled_at = at
        if account is None or account.status == "disconnected":
            target.status, target.due_at = "cancelled", None
        elif account.status == "needs_reconnect":
            target.status, target.due_at = "paused", None
        else:
            target.status, target.due_at = "pending", at
            armed += 1
        if reset_attempts:  # needs_check stays: an earlier attempt may still be on the platform
            target.attempts, target.last_error = 0, ""
        target.claimed_by = target.claimed_until = None
        target.updated_at = now
        session.add(target)
    if not armed and not session.exec(select(PostTarget.id).where(PostTarget.post_id == post.id,
                                                                  PostTarget.status == "paused")).first():
        raise ValidationError("None of this post's accounts can publish it; connect or choose an account first.")
    post.status = "scheduled"
    session.add(post)
    session.flush()
    set_next_recurrence(post)
    touch(session, post, actor_id=actor_id, kind="scheduled", message=message)
    changes = status.refresh_post_statuses(session, post_ids=[post.id])
    status.announce(session, team_post_ids={post.team_id: [post.id]}, changes=changes)


def set_next_recurrence(post: Post) -> None:
    """After the series' first post got its time (or the series was set): remember the series'
    local wall time, and when the next occurrence is due."""
    if post.recurrence_every and post.recurrence_unit and post.scheduled_at:
        post.recurrence_local_time = local_wall_time(post.scheduled_at, post.timezone).time()
    if post.recurrence_every and post.recurrence_unit and post.scheduled_at and post.status not in ("draft", "pending_approval", "approved", "cancelled"):
        nxt = next_occurrence(post.scheduled_at, every=post.recurrence_every, unit=post.recurrence_unit, timezone=post.timezone,
                              wall_time=post.recurrence_local_time)
        post.recurrence_next_at = None if post.recurrence_until and nxt > post.recurrence_until else nxt
    elif post.status in ("draft", "pending_approval", "approved", "cancelled"):
        post.recurrence_next_at = None
