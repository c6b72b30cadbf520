"""When posts go out: schedule, publish now, add to queue, reschedule, cancel, retry,
recurrence, the missed sweep, and the weekly time slots of the queue.

Time rules:
- Stored times are aware UTC. A date and time picked in the composer is local to the given
  time zone (the user's by default); `to_utc` turns it into UTC. A local time that does not
  exist (the hour skipped in spring) moves forward by the skipped amount; one that happens
  twice (autumn) is the first of the two.
- Queue slots are a weekday and a local time in the account's own time zone, so "Tuesday
  09:00" stays 09:00 there across daylight-saving changes (its UTC time moves instead).
- A recurring post stores its series' local wall time (`recurrence_local_time`, in the post's
  time zone) and makes each occurrence at that wall time on its day, one at a time,
  `RECURRENCE_LOOKAHEAD_HOURS` ahead: a 02:30 series is 03:30 on the spring-forward night only
  (the skipped time moves forward) and 02:30 again the next day. Occurrences whose time
  passed more than the missed window ago while nothing ran are skipped, never created in a burst.
- A waiting target whose time passed more than `PUBLISH_MISSED_AFTER_MINUTES` ago before any
  attempt is `missed` (`sweep_missed`); the publisher never claims it, and the owner decides:
  publish now, pick a new time, or cancel.

Roles: admins and owners schedule, publish now, reschedule and cancel directly. An editor's
"schedule" or "add to queue" submits the post for approval with the time they chose.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import text as sql
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostMedia, PostTarget, PostVariant, TimeSlot
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule import status
from socialhub.identity import teams
from socialhub.core.errors import PermissionDenied, ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.schedule.posts import load_post, new_idempotency_key, require_editable, touch
from socialhub.schedule.config import publishing_settings
from socialhub.core.db import session_scope
from socialhub.schedule.approvals import submit_for_approval
from socialhub.schedule.content import check_publishable
from socialhub.schedule.lifecycle import ARMABLE, PAST_GRACE, arm_targets, set_next_recurrence
from socialhub.schedule.publisher.sends import sweep_sends
from socialhub.schedule.times import UTC, next_occurrence, series_wall_time, to_utc

QUEUE_SEARCH_WEEKS = 26
MAX_RECURRENCE_EVERY = 365
RECURRENCE_UNITS = ("day", "week")
# Targets that occupy a queue slot of their account.
SLOT_TAKING = ("draft", "pending", "publishing", "retrying", "unconfirmed", "paused", "published")


# ---- time -------------------------------------------------------------------------------------


# ---- arming targets ---------------------------------------------------------------------------


def _set_target_times(session: Session, post: Post, when: datetime | dict[int, datetime]) -> None:
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id)):
        if target.status in ARMABLE:
            target.scheduled_at = when.get(target.account_id) if isinstance(when, dict) else when
            session.add(target)
    times = list(when.values()) if isinstance(when, dict) else [when]
    post.scheduled_at = min(times)
    session.add(post)
    session.flush()


def _check_future(when: datetime, now: datetime | None = None) -> None:
    if when < (now or utcnow()) - PAST_GRACE:
        raise ValidationError("That time is in the past. Pick a later time, or use Publish now.")


def _require_targets(session: Session, post: Post) -> None:
    if not session.exec(select(PostTarget.id).where(PostTarget.post_id == post.id)).first():
        raise ValidationError("Choose at least one account to publish to.")


def _submit(session: Session, post: Post, actor_id: int, note: str = "") -> Post:
    return submit_for_approval(session, team_id=post.team_id, actor_id=actor_id, post_id=post.id, note=note)


# ---- scheduling -------------------------------------------------------------------------------

def schedule_post(session: Session, *, team_id: int, actor_id: int, post_id: int, when: datetime | str,
                  timezone: str | None = None) -> Post:
    """Publish the post at `when` (local to `timezone`, default the post's).

    Admins and owners schedule directly (every platform check must pass first); an editor's
    post goes to approval with this time.
    """
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    _require_targets(session, post)
    post.timezone = clean_timezone(timezone, post.timezone)
    at = to_utc(when, post.timezone)
    _check_future(at)
    check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    _set_target_times(session, post, at)
    if not teams.role_at_least(role, "admin"):
        return _submit(session, post, actor_id)
    arm_targets(session, post, actor_id=actor_id, message=f"Scheduled for {_describe(at, post.timezone)}.")
    return post


def publish_now(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    """Publish at once (within about a second). Admins and owners only; also the owner's answer
    to a missed or failed post."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if not teams.role_at_least(role, "admin"):
        raise PermissionDenied("Only an admin or owner can publish directly; submit the post for approval instead.")
    require_editable(session, post, role)
    _require_targets(session, post)
    check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    now = utcnow()
    _set_target_times(session, post, now)
    if post.status == "pending_approval":
        post.approved_by_id, post.approved_at = actor_id, now
    arm_targets(session, post, actor_id=actor_id, message="Publish now.")
    return post


def add_to_queue(session: Session, *, team_id: int, actor_id: int, post_id: int, after: datetime | None = None) -> Post:
    """Put the post in the next free weekly slot of each of its accounts (each in its own time zone)."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    _require_targets(session, post)
    check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    after = after or utcnow()
    times: dict[int, datetime] = {}
    missing = []
    rows = session.exec(select(PostTarget, PlatformAccount).join(PlatformAccount, PlatformAccount.id == PostTarget.account_id)
                        .where(PostTarget.post_id == post.id, PostTarget.status.in_(ARMABLE)))
    for target, account in rows:
        slot = next_free_slot(session, account=account, after=after, ignore_post_id=post.id)
        if slot is None:
            missing.append(f"{platform_accounts.platform_display_name(account.platform)} {account.handle}")
        else:
            times[account.id] = slot
    if missing:
        raise ValidationError("These accounts have no free time slot: " + ", ".join(missing) + ". Add slots in Settings → Accounts.")
    if not times:
        raise ValidationError("This post has no account left to queue.")
    _set_target_times(session, post, times)
    if not teams.role_at_least(role, "admin"):
        return _submit(session, post, actor_id)
    arm_targets(session, post, actor_id=actor_id, message=f"Added to the queue: {_describe(min(times.values()), post.timezone)}.")
    return post


def reschedule_post(session: Session, *, team_id: int, actor_id: int, post_id: int, when: datetime | str,
                    timezone: str | None = None) -> Post:
    """Move the post to a new time (dragging it on the calendar). A draft just keeps the time;
    a post waiting for approval stays there; an approved, scheduled, missed or paused post waits
    for the new time."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    if timezone:
        post.timezone = clean_timezone(timezone)
    at = to_utc(when, post.timezone)
    _check_future(at)
    _set_target_times(session, post, at)
    message = f"Moved to {_describe(at, post.timezone)}."
    if post.status in ("draft", "pending_approval"):
        set_next_recurrence(post)
        touch(session, post, actor_id=actor_id, kind="rescheduled", message=message)
        return post
    arm_targets(session, post, actor_id=actor_id, message=message, reset_attempts=post.status != "paused")
    return post


def unschedule_post(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    """Back to draft: nothing will be published until it is scheduled again."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if role == "editor" and not (post.status == "pending_approval" and post.author_id == actor_id):
        raise PermissionDenied("Editors can withdraw only their own posts waiting for approval.")
    require_editable(session, post, role)
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id, PostTarget.status.in_(ARMABLE))):
        target.status, target.due_at = "draft", None
        session.add(target)
    post.status = "draft"
    post.recurrence_next_at = None
    touch(session, post, actor_id=actor_id, kind="unscheduled", message="Back to draft.")
    return post


def cancel_post(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    """Stop the post: every target that has not gone out is cancelled (and a series stops)."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="admin", lock=True)
    require_editable(session, post, role)
    now = utcnow()
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id, PostTarget.status.in_(ARMABLE))):
        target.status, target.due_at, target.updated_at = "cancelled", None, now
        session.add(target)
    post.status = "cancelled"
    post.recurrence_next_at = None
    touch(session, post, actor_id=actor_id, kind="cancelled", message="Cancelled.")
    return post


def retry_post(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    """Try the failed and missed accounts of a post again, now (the owner's decision)."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="admin", lock=True)
    if post.status not in ("failed", "partial", "missed"):
        raise ValidationError("Only failed, partly published or missed posts can be retried.")
    now = utcnow()
    retried = 0
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id,
                                                        PostTarget.status.in_(("failed", "missed"))).with_for_update().execution_options(populate_existing=True)):
        target.status, target.due_at, target.scheduled_at = "pending", now, now
        target.attempts, target.last_error = 0, ""
        target.updated_at = now
        session.add(target)
        retried += 1
    if not retried:
        raise ValidationError("There is nothing to retry.")
    post.status = "scheduled"
    touch(session, post, actor_id=actor_id, kind="retried", message=f"Retrying {retried} account(s) now.")
    changes = status.refresh_post_statuses(session, post_ids=[post.id])
    status.announce(session, team_post_ids={post.team_id: [post.id]}, changes=changes)
    return post


def _describe(at: datetime, timezone: str) -> str:
    return at.astimezone(ZoneInfo(timezone)).strftime(f"%a %d %b %Y %H:%M ({timezone})")


# ---- recurrence -------------------------------------------------------------------------------


def set_recurrence(session: Session, *, team_id: int, actor_id: int, post_id: int, every: int, unit: str,
                   until: datetime | str | None = None) -> Post:
    """Repeat the post every `every` days or weeks from its scheduled time (until `until`, if given)."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    require_editable(session, post, role)
    if post.recurrence_source_id is not None:
        raise ValidationError("This post is one occurrence of a series; change the series' first post instead.")
    if unit not in RECURRENCE_UNITS:
        raise ValidationError("Repeat every so many days or weeks.")
    if not isinstance(every, int) or not 1 <= every <= MAX_RECURRENCE_EVERY:
        raise ValidationError(f"Repeat every 1 to {MAX_RECURRENCE_EVERY} {unit}s.")
    post.recurrence_every, post.recurrence_unit = every, unit
    post.recurrence_until = to_utc(until, post.timezone) if until else None
    set_next_recurrence(post)
    touch(session, post, actor_id=actor_id, kind="recurrence", message=f"Repeats every {every} {unit}(s).")
    return post


def clear_recurrence(session: Session, *, team_id: int, actor_id: int, post_id: int) -> Post:
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if not teams.role_at_least(role, "admin") and post.status not in ("draft", "pending_approval"):
        raise PermissionDenied("Only an admin or owner can stop a running series.")
    post.recurrence_every = post.recurrence_unit = post.recurrence_until = post.recurrence_next_at = None
    post.recurrence_local_time = None
    touch(session, post, actor_id=actor_id, kind="recurrence", message="No longer repeats.")
    return post


def materialize_recurrences(*, now: datetime | None = None, limit: int = 100) -> list[int]:
    """Create the next occurrence of every series whose next time is within the lookahead
    (the scheduler job). Returns the new post ids. Series are locked with SKIP LOCKED, so
    concurrent scheduler processes never create the same occurrence twice."""
    settings = publishing_settings()
    now = now or utcnow()
    horizon = now + timedelta(hours=settings.recurrence_lookahead_hours)
    window = timedelta(minutes=settings.missed_after_minutes)
    created: list[int] = []
    with session_scope() as session:
        roots = list(session.exec(
            select(Post).where(Post.recurrence_next_at.is_not(None), Post.recurrence_next_at <= horizon)
            .order_by(Post.recurrence_next_at).limit(limit).with_for_update(skip_locked=True)
        ))
        for root in roots:
            at, skipped = root.recurrence_next_at, 0
            wall = series_wall_time(root)
            while at < now - window:  # the scheduler was down: skip the backlog, never burst
                at = next_occurrence(at, every=root.recurrence_every, unit=root.recurrence_unit, timezone=root.timezone,
                                     wall_time=wall)
                skipped += 1
            if root.recurrence_until and at > root.recurrence_until:
                root.recurrence_next_at = None
                session.add(root)
                continue
            if at > horizon:
                root.recurrence_next_at = at
                session.add(root)
                if skipped:
                    status.log_activity(session, post_id=root.id, kind="recurrence_skipped",
                                        message=f"Skipped {skipped} occurrence(s) whose time passed while SocialHub was not running.")
                continue
            occurrence = _create_occurrence(session, root, at)
            created.append(occurrence.id)
            nxt = next_occurrence(at, every=root.recurrence_every, unit=root.recurrence_unit, timezone=root.timezone,
                                  wall_time=wall)
            root.recurrence_next_at = None if root.recurrence_until and nxt > root.recurrence_until else nxt
            session.add(root)
            message = f"Created occurrence #{occurrence.id} for {_describe(at, root.timezone)}."
            if skipped:
                message += f" Skipped {skipped} occurrence(s) whose time passed while SocialHub was not running."
            status.log_activity(session, post_id=root.id, kind="recurrence", message=message)
            status.announce(session, team_post_ids={root.team_id: [root.id, occurrence.id]})
    return created


def _create_occurrence(session: Session, root: Post, at: datetime) -> Post:
    post = Post(
        team_id=root.team_id, author_id=root.author_id, status="scheduled", text=root.text,
        first_comment=root.first_comment, tags=list(root.tags), timezone=root.timezone, scheduled_at=at,
        recurrence_source_id=root.id, approved_by_id=root.approved_by_id, approved_at=root.approved_at,
    )
    session.add(post)
    session.flush()
    for variant in session.exec(select(PostVariant).where(PostVariant.post_id == root.id)):
        session.add(PostVariant(post_id=post.id, scope=variant.scope, platform=variant.platform, account_id=variant.account_id,
                                text=variant.text, thread_parts=list(variant.thread_parts), first_comment=variant.first_comment))
    for link in session.exec(select(PostMedia).where(PostMedia.post_id == root.id)):
        session.add(PostMedia(post_id=post.id, media_id=link.media_id, position=link.position))
    accounts = session.exec(select(PlatformAccount).join(PostTarget, PostTarget.account_id == PlatformAccount.id)
                            .where(PostTarget.post_id == root.id, PlatformAccount.status != "disconnected"))
    for account in accounts:
        ok = account.status == "ok"
        session.add(PostTarget(post_id=post.id, team_id=post.team_id, account_id=account.id, idempotency_key=new_idempotency_key(),
                               status="pending" if ok else "paused", scheduled_at=at, due_at=at if ok else None))
    session.flush()
    status.log_activity(session, post_id=post.id, kind="created", message=f"Occurrence of the series started by post #{root.id}.")
    status.refresh_post_statuses(session, post_ids=[post.id])
    return post


# ---- missed -----------------------------------------------------------------------------------

def sweep_missed(*, now: datetime | None = None, limit: int = 1000) -> int:
    """Mark waiting targets whose time passed more than the missed window ago, before any
    attempt, as `missed`; the owners are told (the scheduler job). Returns how many.
    Also drops the publisher's send records of processes that died long ago."""
    now = now or utcnow()
    cutoff = now - timedelta(minutes=publishing_settings().missed_after_minutes)
    with session_scope() as session:
        sweep_sends(session)
    with session_scope() as session:
        rows = session.execute(sql(
            """
            UPDATE post_targets SET status = 'missed', due_at = NULL, claimed_by = NULL, claimed_until = NULL,
                   last_error = 'Its time passed while nothing could publish it.', updated_at = :now
            WHERE id IN (SELECT id FROM post_targets
                         WHERE status = 'pending' AND attempts = 0 AND due_at < :cutoff
                         ORDER BY due_at LIMIT :limit FOR UPDATE SKIP LOCKED)
            RETURNING id, post_id, team_id
            """
        ), {"now": now, "cutoff": cutoff, "limit": limit}).all()
        if not rows:
            return 0
        status.log_activities(session, [
            {"post_id": post_id, "target_id": target_id, "kind": "target_missed",
             "message": "Missed: its time passed more than the missed window ago while nothing could publish it."}
            for target_id, post_id, _ in rows
        ])
        by_team: dict[int, set[int]] = {}
        for _, post_id, team_id in rows:
            by_team.setdefault(team_id, set()).add(post_id)
        changes = status.refresh_post_statuses(session, post_ids={p for _, p, _ in rows})
        status.announce(session, team_post_ids=by_team, changes=changes)
    return len(rows)


# ---- queue slots --------------------------------------------------------------------------------

def slot_times(slots: list[TimeSlot], *, timezone: str, start: datetime, end: datetime) -> list[datetime]:
    """Every occurrence in [start, end) of weekly local slots, as UTC, in order (DST-correct)."""
    tz = ZoneInfo(timezone)
    first: date = start.astimezone(tz).date() - timedelta(days=1)
    last: date = end.astimezone(tz).date() + timedelta(days=1)
    out = []
    day = first
    by_weekday: dict[int, list[time]] = {}
    for slot in slots:
        by_weekday.setdefault(slot.weekday, []).append(slot.local_time)
    while day <= last:
        for at in sorted(by_weekday.get(day.weekday(), ())):
            moment = to_utc(datetime.combine(day, at), timezone)
            if start <= moment < end:
                out.append(moment)
        day += timedelta(days=1)
    return sorted(set(out))


def _minute(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(second=0, microsecond=0)


def next_free_slot(session: Session, *, account: PlatformAccount, after: datetime, ignore_post_id: int | None = None) -> datetime | None:
    """The account's first weekly slot after `after` that no other post of it occupies (None: no slots)."""
    slots = list(session.exec(select(TimeSlot).where(TimeSlot.account_id == account.id)))
    if not slots:
        return None
    end = after + timedelta(weeks=QUEUE_SEARCH_WEEKS)
    stmt = select(PostTarget.scheduled_at).where(
        PostTarget.account_id == account.id, PostTarget.status.in_(SLOT_TAKING),
        PostTarget.scheduled_at >= after - timedelta(minutes=1), PostTarget.scheduled_at < end,
    )
    if ignore_post_id is not None:
        stmt = stmt.where(PostTarget.post_id != ignore_post_id)
    taken = {_minute(at) for at in session.exec(stmt) if at is not None}
    for moment in slot_times(slots, timezone=account.timezone, start=after, end=end):
        if moment > after and _minute(moment) not in taken:
            return moment
    return None


def list_queue_slots(session: Session, *, team_id: int, user_id: int, account_id: int, start: datetime,
                     end: datetime) -> list[tuple[datetime, bool]]:
    """The account's slots in [start, end) for the calendar: (time, taken)."""
    account = platform_accounts.get_account(session, team_id=team_id, user_id=user_id, account_id=account_id)
    if end <= start or end - start > timedelta(days=45):
        raise ValidationError("A calendar range must be positive and at most 45 days long.")
    slots = list(session.exec(select(TimeSlot).where(TimeSlot.account_id == account.id)))
    taken = {_minute(at) for at in session.exec(select(PostTarget.scheduled_at).where(
        PostTarget.account_id == account.id, PostTarget.status.in_(SLOT_TAKING),
        PostTarget.scheduled_at >= start, PostTarget.scheduled_at < end)) if at is not None}
    return [(at, _minute(at) in taken) for at in slot_times(slots, timezone=account.timezone, start=start, end=end)]
