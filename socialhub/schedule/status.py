"""How a post's status follows from its targets, the activity log, and telling people.

Who owns which status:
- people (through `posts`, `approvals`, `timing`) own the editorial
  statuses of a post: draft, pending_approval, approved, and move it to scheduled/cancelled;
- once a post is scheduled its status is a roll-up of its targets (`rollup`), recomputed by
  `refresh_post_statuses` whenever the publisher, the missed sweep or a reconnect changes them.

Every change ends in `announce`: one event per team on the bus, addressed to the team (its
members are looked up by the listener; open calendars update live),
and, for outcomes the owner must act on (failed, partial, missed), an in-app notification and
an e-mail to the post's author and the team's owners.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, text, update
from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.schedule.models import Post, PostActivity, PostTarget
from socialhub.core import events, outbox
from socialhub.identity import notifications, teams

# Statuses a post is in while people edit it; the roll-up leaves these alone.
EDITORIAL_STATUSES = ("draft", "pending_approval", "approved")
# Post statuses that ask the owner to do something.
ALERT_STATUSES = {
    "failed": "could not be published",
    "partial": "was only partly published",
    "missed": "missed its time",
}
EVENT_KIND = "posts"
_EVENT_CHUNK = 400  # post ids per event, well under NOTIFY's 8 kB payload


@dataclass(frozen=True)
class StatusChange:
    post_id: int
    team_id: int
    old: str
    new: str


def rollup(counts: dict[str, int]) -> str | None:
    """The post status that a count of its target statuses stands for (None: leave it).

    In order: anything in flight → publishing; something still waiting → scheduled (or
    publishing when part of it already went out); waiting for a reconnect → paused; then the
    final mixes: all published → published, some → partial, a failure → failed, missed → missed,
    all cancelled → cancelled.
    """
    total = sum(counts.values())
    if total == 0 or counts.get("draft", 0):
        return None
    published = counts.get("published", 0)
    failed = counts.get("failed", 0)
    missed = counts.get("missed", 0)
    cancelled = counts.get("cancelled", 0)
    if counts.get("publishing", 0) or counts.get("retrying", 0) or counts.get("unconfirmed", 0):
        return "publishing"
    if counts.get("pending", 0):
        return "publishing" if (published or failed) else "scheduled"
    if counts.get("paused", 0):
        return "paused"
    if published and published + cancelled == total:
        return "published"
    if published:
        return "partial"
    if failed:
        return "failed"
    if missed:
        return "missed"
    return "cancelled"


def refresh_post_statuses(session: Session, *, post_ids: Iterable[int], log_single_target: bool = True) -> list[StatusChange]:
    """Recompute the roll-up of these posts, store the ones that changed, and return them.

    Each change is a line of activity, except (with `log_single_target=False`, the publisher)
    for posts with one target, whose target line already says the same thing.
    """
    ids = sorted(set(post_ids))
    if not ids:
        return []
    rows = session.execute(
        select(PostTarget.post_id, PostTarget.status, func.count())
        .where(PostTarget.post_id.in_(ids))
        .group_by(PostTarget.post_id, PostTarget.status)
    ).all()
    counts: dict[int, dict[str, int]] = {}
    for post_id, status, n in rows:
        counts.setdefault(post_id, {})[status] = n
    current = session.execute(select(Post.id, Post.team_id, Post.status).where(Post.id.in_(ids))).all()
    changes: list[StatusChange] = []
    now = utcnow()
    for post_id, team_id, old in current:
        if old in EDITORIAL_STATUSES:
            continue
        new = rollup(counts.get(post_id, {}))
        if new is None or new == old:
            continue
        changes.append(StatusChange(post_id, team_id, old, new))
    by_status: dict[str, list[int]] = {}
    for change in changes:
        by_status.setdefault(change.new, []).append(change.post_id)
    for status, post_ids_ in by_status.items():
        values = {"status": status, "updated_at": now}
        if status in ("published", "partial"):
            values["published_at"] = func.coalesce(Post.published_at, now)
        session.execute(update(Post).where(Post.id.in_(post_ids_)).values(**values))
    logged = [c for c in changes if log_single_target or sum(counts.get(c.post_id, {}).values()) > 1]
    if logged:
        log_activities(session, [
            {"post_id": c.post_id, "kind": f"post_{c.new}", "message": f"Post is now {c.new.replace('_', ' ')}."}
            for c in logged
        ])
    return changes


def log_activity(
    session: Session, *, post_id: int, kind: str, message: str, actor_id: int | None = None, target_id: int | None = None
) -> None:
    """Add one line to the post's activity log."""
    session.add(PostActivity(post_id=post_id, kind=kind[:30], message=message[:1000], actor_id=actor_id, target_id=target_id))


_INSERT_ACTIVITIES = text(
    """
    INSERT INTO post_activities (post_id, actor_id, target_id, kind, message, created_at)
    SELECT v.post_id, v.actor_id, v.target_id, v.kind, v.message, :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(post_id bigint, actor_id bigint, target_id bigint, kind text, message text)
    """
)


def log_activities(session: Session, rows: list[dict]) -> None:
    """Add many activity lines in one statement (the publisher logs a batch at a time)."""
    if not rows:
        return
    payload = [
        {"post_id": r["post_id"], "kind": r["kind"][:30], "message": r.get("message", "")[:1000],
         "actor_id": r.get("actor_id"), "target_id": r.get("target_id")}
        for r in rows
    ]
    session.execute(_INSERT_ACTIVITIES, {"rows": json.dumps(payload), "now": utcnow()})






def announce(session: Session, *, team_post_ids: dict[int, Iterable[int]], changes: Iterable[StatusChange] = ()) -> None:
    """Tell open pages of every team member that these posts changed, and alert owners.

    Call inside the transaction that made the change: events go out when it commits.
    """
    for team_id, post_ids in team_post_ids.items():
        ids = sorted(set(post_ids))
        if not ids:
            continue
        # The team's id, not its members: the listener looks them up (a big team's member list
        # would not fit in a NOTIFY payload).
        for start in range(0, len(ids), _EVENT_CHUNK):
            events.publish(session, kind=EVENT_KIND, team_ids=[team_id],
                           data={"team_id": team_id, "post_ids": ids[start:start + _EVENT_CHUNK]})
    alerts = [c for c in changes if c.new in ALERT_STATUSES]
    if alerts:
        alert_owners(session, alerts)


def alert_owners(session: Session, changes: list[StatusChange]) -> None:
    """In-app notification and e-mail to the author and the team owners of each post."""
    from socialhub.core.config import get_settings

    posts = {p.id: p for p in session.exec(select(Post).where(Post.id.in_([c.post_id for c in changes])))}
    errors = _first_errors(session, [c.post_id for c in changes])
    public_url = get_settings().public_url
    for change in changes:
        post = posts.get(change.post_id)
        if post is None:
            continue
        people = set(teams.team_owner_ids(session, team_id=post.team_id))
        if post.author_id:
            people.add(post.author_id)
        what = ALERT_STATUSES[change.new]
        preview = " ".join(post.text.split())[:60] or f"Post #{post.id}"
        title = f"“{preview}” {what}"
        detail = errors.get(post.id, "")
        body = {
            "failed": "Every try failed. Open the post to see the error, fix it and retry.",
            "partial": "Some accounts got it, others did not. Open the post to see which, and retry those.",
            "missed": "Its time passed while it could not be published. Publish it now, pick a new time, or cancel it.",
        }[change.new]
        if detail:
            body = f"{body}\n\nError: {detail}"
        link = f"/schedule?post={post.id}"
        for user_id in people:
            notifications.notify(session, user_id=user_id, kind=f"post_{change.new}", title=title, body=body, link=link)
            user = session.get(User, user_id)
            if user is not None:
                outbox.send_email(session, to=user.email, subject=f"SocialHub: {title}"[:300],
                                text=f"{title}.\n\n{body}\n\nOpen it: {public_url}{link}\n")


def _first_errors(session: Session, post_ids: list[int]) -> dict[int, str]:
    rows = session.execute(
        select(PostTarget.post_id, PostTarget.last_error)
        .where(PostTarget.post_id.in_(post_ids), PostTarget.last_error != "")
        .order_by(PostTarget.id)
    ).all()
    out: dict[int, str] = {}
    for post_id, error in rows:
        out.setdefault(post_id, error)
    return out
