"""Claims on post targets: who holds which target, until when, and what it must check first.

Owns steps 1, 2 and 6 of the publisher (see `engine.py`): claiming due targets and the claims
of processes that died or hung (`FOR UPDATE … SKIP LOCKED`, one statement), loading what a
claimed target needs to be published into a `Job` (no database access after that), renewing
claims (`extend_claims`), when the next target becomes claimable (`next_due_in`), and the
liveness of claimers: an engine's worker name carries the key of an advisory lock it holds for
its whole life, so `dead_workers` sees at once whose claims may be taken over.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from socialhub.channels import accounts as platform_accounts
from socialhub.channels.adapters import AccountCredentials, PublishRequest
from socialhub.channels.models import PlatformAccount
from socialhub.core.models import utcnow
from socialhub.media.models import Media
from socialhub.schedule import content
from socialhub.schedule.config import publishing_settings, PublishingSettings
from socialhub.schedule.models import Post, PostMedia, PostTarget, PostVariant

LIVENESS_LOCK_CLASS = 0x5348  # "SH": advisory lock namespace of engine liveness locks


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"



@dataclass(frozen=True)
class Claimed:
    target_id: int
    previous_status: str
    needs_check: bool
    due_at: datetime | None = None


@dataclass(frozen=True)
class Job:
    """One claimed target, ready to publish without touching the database."""

    target_id: int
    post_id: int
    team_id: int
    account_id: int
    platform: str
    handle: str
    attempts: int  # before this attempt
    needs_check: bool
    platform_post_id: str | None
    thread_post_ids: tuple[str, ...]
    request: PublishRequest | None
    credentials: AccountCredentials | None
    adapter_options: dict[str, Any]
    problem: str = ""  # set when the target cannot be published at all (e.g. its account is gone)
    due_at: datetime | None = None  # claimed up to PUBLISH_PREFETCH_SECONDS early: not sent before this
    # Set when `needs_check`: when the first attempt that may have reached the platform started
    # (posts older than that are not this one) and when the latest did (a timeline may lag).
    first_attempt_at: datetime | None = None
    last_attempt_at: datetime | None = None



# `needs_check` in the database means "an attempt may have reached the platform". It is set
# (durably) before a target is sent: by the claim itself when the caller sends at once
# (`mark_sending=True`), else by `mark_sending` just before the send. The claim returns the
# value from *before* this claim: whether this attempt must ask the platform first.
_CLAIM_DUE = text(
    """
    UPDATE post_targets AS t
    SET status = 'publishing', claimed_by = :worker, claimed_until = :until, updated_at = :now,
        needs_check = :mark OR s.check_first
    FROM (
        SELECT pt.id, pt.status AS previous_status,
               (pt.needs_check OR pt.status = 'unconfirmed') AS check_first
        FROM post_targets AS pt
        JOIN platform_accounts AS a ON a.id = pt.account_id
        WHERE pt.status IN ('pending', 'retrying', 'unconfirmed') AND pt.due_at <= :due_before
          AND NOT (pt.status = 'pending' AND pt.due_at < :missed_cutoff)
          AND a.status = 'ok' AND (a.rate_limited_until IS NULL OR a.rate_limited_until <= :now)
          AND (CAST(:platform AS text) IS NULL OR a.platform = :platform)
        ORDER BY pt.due_at
        LIMIT :limit
        FOR UPDATE OF pt SKIP LOCKED
    ) AS s
    WHERE t.id = s.id
    RETURNING t.id, s.previous_status, s.check_first, t.due_at
    """
)

# Claims a dead (or hung) process left behind. Whatever it had recorded as being sent (its
# `publish_sends`, or `needs_check`) is checked with the platform before anything is sent
# again; what it had not reached goes out directly.
_CLAIM_EXPIRED = text(
    """
    UPDATE post_targets AS t
    SET claimed_by = :worker, claimed_until = :until, updated_at = :now, needs_check = :mark OR s.check_first
    FROM (
        SELECT pt.id, pt.status AS previous_status,
               (pt.needs_check OR EXISTS (SELECT 1 FROM publish_sends AS ps
                                          WHERE ps.worker = pt.claimed_by AND pt.id = ANY(ps.target_ids))) AS check_first
        FROM post_targets AS pt
        JOIN platform_accounts AS a ON a.id = pt.account_id
        WHERE pt.status = 'publishing'
          AND (pt.claimed_until < :now
               OR (pt.claimed_by = ANY(CAST(:dead AS text[]))
                   -- dead a moment ago, and still: an engine that took its lock back keeps its claims
                   AND NOT EXISTS (SELECT 1 FROM pg_locks AS l
                                   WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :lock_class
                                     AND l.objid::bigint = substring(pt.claimed_by from '#([0-9]+)$')::bigint % 4294967296
                                     AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))))
          AND a.status = 'ok' AND (a.rate_limited_until IS NULL OR a.rate_limited_until <= :now)
          AND (CAST(:platform AS text) IS NULL OR a.platform = :platform)
        ORDER BY pt.claimed_until
        LIMIT :limit
        FOR UPDATE OF pt SKIP LOCKED
    ) AS s
    WHERE t.id = s.id
    RETURNING t.id, s.previous_status, s.check_first, NULL
    """
)


def claim_due_targets(session: Session, *, worker: str, limit: int, now: datetime | None = None,
                      platform: str | None = None, settings: PublishingSettings | None = None,
                      prefetch_seconds: float = 0.0, include_expired: bool = True,
                      dead_workers: list[str] | None = None, mark_sending: bool = True) -> list[Claimed]:
    """Claim up to `limit` targets for `worker` (step 1): expired claims and claims of
    `dead_workers` first, then due work (including work due within `prefetch_seconds`, which
    the caller must hold until its time). The caller commits, which makes the claim visible.

    With `mark_sending` the claim also records that the targets are about to be sent; without
    it the caller must call `mark_sending` (and commit) before sending any of them.
    """
    settings = settings or publishing_settings()
    now = now or utcnow()
    params = {
        "worker": worker, "now": now, "until": now + timedelta(seconds=settings.claim_seconds + prefetch_seconds),
        "missed_cutoff": now - timedelta(minutes=settings.missed_after_minutes), "limit": limit, "platform": platform,
        "due_before": now + timedelta(seconds=prefetch_seconds), "dead": list(dead_workers or []), "mark": mark_sending,
        "lock_class": LIVENESS_LOCK_CLASS,
    }
    rows = session.execute(_CLAIM_EXPIRED, params).all() if include_expired else []
    if len(rows) < limit:
        rows += session.execute(_CLAIM_DUE, {**params, "limit": limit - len(rows)}).all()
    return [Claimed(int(r[0]), r[1], bool(r[2]), r[3]) for r in rows]



# When the attempts at targets to be checked were made: from the attempt log, and from the send
# records of a process that died before it logged them. Without either, the target's creation
# is the earliest a copy of it can have been sent.
_ATTEMPT_TIMES = text(
    """
    SELECT pt.id,
           COALESCE(LEAST(a.first_at, s.first_at), pt.created_at),
           GREATEST(a.last_at, s.last_at)
    FROM post_targets AS pt
    LEFT JOIN LATERAL (SELECT min(started_at) AS first_at, max(started_at) AS last_at
                       FROM publish_attempts WHERE target_id = pt.id) AS a ON true
    LEFT JOIN LATERAL (SELECT min(created_at) AS first_at, max(created_at) AS last_at
                       FROM publish_sends WHERE pt.id = ANY(target_ids)) AS s ON true
    WHERE pt.id = ANY(CAST(:ids AS bigint[]))
    """
)


def load_jobs(session: Session, claimed: list[Claimed]) -> list[Job]:
    """Build a `Job` (request, credentials, adapter options) for each claimed target (step 3)."""
    if not claimed:
        return []
    by_id = {c.target_id: c for c in claimed}
    # Plain rows, not ORM objects: building thousands of model instances costs more than the SQL.
    targets = session.execute(
        select(PostTarget.id, PostTarget.post_id, PostTarget.team_id, PostTarget.account_id, PostTarget.attempts,
               PostTarget.platform_post_id, PostTarget.thread_post_ids, PostTarget.idempotency_key,
               PostTarget.scheduled_at)
        .where(PostTarget.id.in_(list(by_id)))
    ).all()
    post_ids = {t.post_id for t in targets}
    posts = {p.id: p for p in session.execute(select(Post.id, Post.text, Post.first_comment).where(Post.id.in_(post_ids)))}
    accounts = {a.id: a for a in session.exec(select(PlatformAccount).where(PlatformAccount.id.in_({t.account_id for t in targets})))}
    variants: dict[int, dict[str, PostVariant]] = {}
    for variant in session.exec(select(PostVariant).where(PostVariant.post_id.in_(post_ids))):
        variants.setdefault(variant.post_id, {})[variant.scope] = variant
    media: dict[int, list[Media]] = {}
    for link, item in session.exec(select(PostMedia, Media).join(Media, Media.id == PostMedia.media_id)
                                   .where(PostMedia.post_id.in_(post_ids)).order_by(PostMedia.position)):
        media.setdefault(link.post_id, []).append(item)
    to_check = [c.target_id for c in claimed if c.needs_check]
    attempt_times = {row[0]: (row[1], row[2]) for row in session.execute(_ATTEMPT_TIMES, {"ids": to_check})} if to_check else {}
    credentials: dict[int, AccountCredentials | Exception] = {}
    options: dict[int, dict[str, Any]] = {}
    jobs = []
    for target in targets:
        account = accounts.get(target.account_id)
        post = posts.get(target.post_id)
        claim = by_id[target.id]
        problem, request, creds = "", None, None
        if account is None or post is None:
            problem = "The post or its account was deleted."
        else:
            if account.id not in credentials:
                try:
                    credentials[account.id] = platform_accounts.credentials_for(account)
                except Exception as exc:  # a token that no longer decrypts (keys lost or rotated away)
                    credentials[account.id] = exc
                options[account.id] = platform_accounts.adapter_options(account, account.platform, session=session)
            found = credentials[account.id]
            if isinstance(found, Exception):
                problem = f"The saved login of this account cannot be read ({type(found).__name__}); reconnect it."
            else:
                creds = found
                resolved = content.resolve_content(post, variants.get(post.id, {}), account)
                items = [content.media_item(m) for m in media.get(post.id, [])]
                request = content.build_request(idempotency_key=target.idempotency_key, content=resolved, media=items,
                                                scheduled_at=target.scheduled_at)
        jobs.append(Job(
            target_id=target.id, post_id=target.post_id, team_id=target.team_id, account_id=target.account_id,
            platform=account.platform if account else "", handle=account.handle if account else "",
            attempts=target.attempts, needs_check=claim.needs_check, platform_post_id=target.platform_post_id,
            thread_post_ids=tuple(target.thread_post_ids or ()), request=request, credentials=creds,
            adapter_options=options.get(target.account_id, {}), problem=problem, due_at=claim.due_at,
            first_attempt_at=attempt_times.get(target.id, (None, None))[0],
            last_attempt_at=attempt_times.get(target.id, (None, None))[1],
        ))
    return jobs


def claim_and_load(*, worker: str, limit: int, now: datetime | None = None, platform: str | None = None,
                   settings: PublishingSettings | None = None, prefetch_seconds: float = 0.0,
                   include_expired: bool = True, dead_workers: list[str] | None = None,
                   mark_sending: bool = True) -> list[Job]:
    """Steps 1-3 in one transaction; the claim is visible to others when it returns."""
    from socialhub.core.db import session_scope

    with session_scope() as session:
        claimed = claim_due_targets(session, worker=worker, limit=limit, now=now, platform=platform, settings=settings,
                                    prefetch_seconds=prefetch_seconds, include_expired=include_expired,
                                    dead_workers=dead_workers, mark_sending=mark_sending)
        return load_jobs(session, claimed)



def extend_claims(session: Session, *, worker: str, target_ids: list[int], settings: PublishingSettings | None = None) -> int:
    """Renew this worker's claims on targets still in flight (step 6)."""
    if not target_ids:
        return 0
    settings = settings or publishing_settings()
    rows = session.execute(text(
        "UPDATE post_targets SET claimed_until = :until WHERE id = ANY(:ids) AND claimed_by = :worker AND status = 'publishing' RETURNING id"
    ), {"until": utcnow() + timedelta(seconds=settings.claim_seconds), "ids": target_ids, "worker": worker}).all()
    return len(rows)


def next_due_in(session: Session, *, now: datetime | None = None, settings: PublishingSettings | None = None) -> float | None:
    """Seconds until the next target becomes claimable (negative: already due), None if nothing waits."""
    settings = settings or publishing_settings()
    now = now or utcnow()
    row = session.execute(text(
        """
        SELECT LEAST(
            (SELECT pt.due_at FROM post_targets AS pt JOIN platform_accounts AS a ON a.id = pt.account_id
             WHERE pt.status IN ('pending', 'retrying', 'unconfirmed')
               AND NOT (pt.status = 'pending' AND pt.due_at < :missed_cutoff)
               AND a.status = 'ok' AND (a.rate_limited_until IS NULL OR a.rate_limited_until <= :now)
             ORDER BY pt.due_at LIMIT 1),
            (SELECT min(claimed_until) FROM post_targets WHERE status = 'publishing'))
        """
    ), {"now": now, "missed_cutoff": now - timedelta(minutes=settings.missed_after_minutes)}).first()
    if row is None or row[0] is None:
        return None
    return (row[0] - now).total_seconds()



# ---- who is alive ---------------------------------------------------------------------------------

def _liveness_key(worker: str) -> int | None:
    """The advisory lock key an engine's worker name carries after '#', if any."""
    _, sep, key = worker.rpartition("#")
    return int(key) if sep and key.lstrip("-").isdigit() else None


def dead_workers(session: Session, *, me: str) -> list[str]:
    """Workers holding claims whose engine is gone: its liveness lock is no longer held.

    An engine holds a session advisory lock on its own connection for its whole life, so the
    lock disappears the moment its process dies (the kernel closes the socket). Claims of
    workers without a liveness key are only taken when they expire.
    """
    claimers = [w for w in session.execute(text(
        "SELECT DISTINCT claimed_by FROM post_targets WHERE status = 'publishing' AND claimed_by LIKE '%#%'"
    )).scalars() if w != me]
    if not claimers:
        return []
    held = set(session.execute(text(
        "SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory' AND granted AND classid = :ns "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ), {"ns": LIVENESS_LOCK_CLASS}).scalars())
    return [w for w in claimers if _liveness_key(w) is not None and (_liveness_key(w) % 2**32) not in held]

