"""The `publish_sends` records: which claimed targets a process is about to send (step 3).

A batch is recorded (a durable commit) before it is handed to the senders, so whoever takes
over the claims of a process that died checks exactly those targets with the platform and
sends the rest directly. Records are dropped once their targets' results are written
(`forget_sends`); records of processes that died long ago go with the daily sweep
(`sweep_sends`, called by `timing.sweep_missed`).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text
from sqlmodel import Session

from socialhub.core.models import utcnow


_MARK_SENDING = text(
    """
    WITH held AS (
        SELECT id FROM post_targets
        WHERE id = ANY(:ids) AND claimed_by = :worker AND status = 'publishing'
        FOR KEY SHARE  -- a takeover waits for this record before it decides whether to check
    ), sent AS (
        INSERT INTO publish_sends (worker, target_ids, created_at)
        SELECT :worker, array_agg(id), :now FROM held HAVING count(*) > 0
        RETURNING id
    )
    SELECT (SELECT id FROM sent), ARRAY(SELECT id FROM held)
    """
)


def mark_sending(session: Session, *, worker: str, target_ids: list[int]) -> tuple[set[int], int | None]:
    """Record, before sending them, that these targets may reach the platform (one
    `publish_sends` row), so whoever takes them over after a crash checks first.

    Returns (the ids this worker still holds: send only those, the record's id: delete it with
    `forget_sends` once their results are written). Commit (durably) before sending.
    """
    if not target_ids:
        return set(), None
    send_id, held = session.execute(_MARK_SENDING, {"ids": target_ids, "worker": worker, "now": utcnow()}).one()
    return set(held or ()), send_id


def still_claimed(session: Session, *, worker: str, target_ids: list[int]) -> set[int]:
    """The targets this worker still holds, waiting for any takeover in progress to commit
    (after an engine got its lost liveness lock back, before it sends what it had queued)."""
    if not target_ids:
        return set()
    return set(session.execute(text(
        "SELECT id FROM post_targets WHERE id = ANY(:ids) AND claimed_by = :worker AND status = 'publishing' FOR KEY SHARE"
    ), {"ids": target_ids, "worker": worker}).scalars())


def forget_sends(session: Session, *, send_ids: list[int]) -> None:
    """Drop send records whose targets' results are written."""
    if send_ids:
        session.execute(text("DELETE FROM publish_sends WHERE id = ANY(:ids)"), {"ids": send_ids})


def sweep_sends(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop send records of processes that died long ago (their claims were taken over)."""
    return session.execute(text("DELETE FROM publish_sends WHERE created_at < :cutoff"),
                           {"cutoff": utcnow() - older_than}).rowcount or 0

