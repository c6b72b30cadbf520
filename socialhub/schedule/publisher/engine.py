"""The publisher: takes due post targets and publishes each exactly once, on time.

The loop, step by step (`Engine` runs it in every scheduler process and in its publishing
worker processes; the synchronous `publish_due` runs the same steps inline for tests and
`scheduler --once`):

1. Claim. One statement per platform:
   `UPDATE post_targets SET status='publishing', claimed_by, claimed_until … FROM (SELECT …
   FOR UPDATE OF post_targets SKIP LOCKED LIMIT n) … RETURNING …`. It takes targets that are
   due, or due within `PUBLISH_PREFETCH_SECONDS` (`pending` inside the missed window,
   `retrying`, `unconfirmed`), and, first, claims left by processes that died (their liveness
   lock is gone) or hung (their `claimed_until` passed). SKIP LOCKED lets any number of
   processes claim side by side; a row is held by one process at a time. Accounts that need
   reconnecting or are rate limited (`rate_limited_until`) are left out.
2. Load and build, in the claiming transaction: the post, its variant for the account, media,
   and the account's decrypted credentials → one `PublishRequest` per target
   (`publishing_content.build_request`, the same code the composer validates with). Claimed
   work waits in memory, ordered by due time, until its time.
3. Record "possibly sent", then send. When its time comes a batch is first written to
   `publish_sends` (`mark_sending`, a durable commit), then handed to the senders. Whoever
   takes over the claims of a process that died checks exactly those targets with the
   platform; the rest it sends directly.
4. Publish, in worker threads (the adapters are blocking httpx):
   - a target that already has a `platform_post_id` is published; nothing is sent;
   - if an earlier attempt may have reached the platform (`needs_check`: its answer never
     came, or its process died after step 3), ask the platform first (`find_existing`):
     found → published; found in part → continue after the parts that exist; only "not
     there" publishes;
   - a token about to expire is refreshed first (one refresh per account: a row lock);
   - `AuthError` → a forced refresh, then one more try; refused again → the account needs
     reconnecting, its waiting targets are paused (not failed) and the owners are told.
5. Record, one transaction per batch of results (`apply_outcomes`): each target's status
   together with its `platform_post_id` (one statement: never one without the other), the
   attempt log, the activity log, the post roll-up, one event per team for live pages, and
   in-app + e-mail alerts for posts that failed, partly failed or were missed. A result is
   written only if this process still holds the claim (`claimed_by = me AND status =
   'publishing'`).
6. Keep claims alive: an engine renews its claims every third of `PUBLISH_CLAIM_SECONDS` and
   holds an advisory lock for its whole life; only a dead or hung process loses its claims.

Outcomes of an attempt and who owns the statuses:
- published: the platform has it (or already had it) → `published` (+ id, url).
- a retryable error (5xx, network, 429) → `retrying` at now + backoff: exponential from
  `PUBLISH_RETRY_BASE_SECONDS`, with jitter, never sooner than the platform's Retry-After (a
  429 also holds back the whole account until then, across processes).
- sent but no answer (`UnknownOutcomeError`) → `unconfirmed`, checked before any retry.
- after `PUBLISH_MAX_ATTEMPTS` (5) attempts, or a non-retryable error (validation, media
  rejected) → `failed`; the error is on the target and the owners are alerted.
- the account needs reconnecting → `paused`.
The publisher owns `publishing`, `retrying`, `unconfirmed`, `published`, `failed` and `paused`
(with `platform_accounts`); people own `draft`, `pending` (through `scheduling`) and
`cancelled`; the missed sweep (`scheduling.sweep_missed`) owns `missed`. Adding a platform
never touches this module: adapters come from the registry by the account's platform name.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import queue
import random
import socket
import sys
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import text
from sqlmodel import Session, select

from socialhub.channels.adapters import (
    AccountCredentials,
    AuthError,
    get_adapter,
    MediaRejectedError,
    NotSupported,
    PlatformError,
    PublishRequest,
    PublishResult,
    RateLimitError,
    UnknownOutcomeError,
    ValidationError,
)
from socialhub.core.models import utcnow
from socialhub.media.models import Media
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostMedia, PostTarget, PostVariant
from socialhub.schedule.hub import adapter as _hub  # noqa: F401  (registers the "hub" adapter)
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule import content as publishing_content, status as publishing_status
from socialhub.channels.accounts import AccountNeedsReconnect
from socialhub.schedule.config import publishing_settings, PublishingSettings

log = logging.getLogger(__name__)

REFRESH_BEFORE_USE_SECONDS = 60  # refresh a token that expires sooner than this before using it
WRITE_BATCH = 500  # outcomes written per transaction at most
DEAD_CHECK_SECONDS = 0.5  # how often an engine looks for claims of processes that died
MARK_BATCH = 100  # targets recorded as being sent per write
WRITE_MAX_DELAY_SECONDS = 0.5  # while sending is busy, results wait at most this long to be written


def worker_name() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


# ---- data -------------------------------------------------------------------------------------

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


@dataclass(frozen=True)
class Outcome:
    job: Job
    status: str  # published | retrying | unconfirmed | failed | paused
    attempt: str  # published | found | stored | retry | unconfirmed | failed | paused
    started_at: datetime
    duration_ms: int
    counted: bool = True  # the attempt talked to the platform (counts towards the maximum)
    result: PublishResult | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, from the platform
    rate_limited: bool = False
    partial_ids: tuple[str, ...] = ()


# ---- 1-3: claim and load --------------------------------------------------------------------

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
        WHERE pt.status = 'publishing' AND (pt.claimed_until < :now OR pt.claimed_by = ANY(CAST(:dead AS text[])))
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
    }
    rows = session.execute(_CLAIM_EXPIRED, params).all() if include_expired else []
    if len(rows) < limit:
        rows += session.execute(_CLAIM_DUE, {**params, "limit": limit - len(rows)}).all()
    return [Claimed(int(r[0]), r[1], bool(r[2]), r[3]) for r in rows]


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


def forget_sends(session: Session, *, send_ids: list[int]) -> None:
    """Drop send records whose targets' results are written."""
    if send_ids:
        session.execute(text("DELETE FROM publish_sends WHERE id = ANY(:ids)"), {"ids": send_ids})


def sweep_sends(session: Session, *, older_than: timedelta = timedelta(days=1)) -> int:
    """Drop send records of processes that died long ago (their claims were taken over)."""
    return session.execute(text("DELETE FROM publish_sends WHERE created_at < :cutoff"),
                           {"cutoff": utcnow() - older_than}).rowcount or 0


def load_jobs(session: Session, claimed: list[Claimed]) -> list[Job]:
    """Build a `Job` (request, credentials, adapter options) for each claimed target (step 3)."""
    if not claimed:
        return []
    by_id = {c.target_id: c for c in claimed}
    # Plain rows, not ORM objects: building thousands of model instances costs more than the SQL.
    targets = session.execute(
        select(PostTarget.id, PostTarget.post_id, PostTarget.team_id, PostTarget.account_id, PostTarget.attempts,
               PostTarget.platform_post_id, PostTarget.thread_post_ids, PostTarget.idempotency_key)
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
                content = publishing_content.resolve_content(post, variants.get(post.id, {}), account)
                items = [publishing_content.media_item(m) for m in media.get(post.id, [])]
                request = publishing_content.build_request(idempotency_key=target.idempotency_key, content=content, media=items)
        jobs.append(Job(
            target_id=target.id, post_id=target.post_id, team_id=target.team_id, account_id=target.account_id,
            platform=account.platform if account else "", handle=account.handle if account else "",
            attempts=target.attempts, needs_check=claim.needs_check, platform_post_id=target.platform_post_id,
            thread_post_ids=tuple(target.thread_post_ids or ()), request=request, credentials=creds,
            adapter_options=options.get(target.account_id, {}), problem=problem, due_at=claim.due_at,
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


# ---- 4: publish one target --------------------------------------------------------------------

def _elapsed_ms(start: float) -> int:
    return int((time.monotonic() - start) * 1000)


def attempt(job: Job, *, client=None) -> Outcome:
    """Publish one job and say how it went (no database writes except token refresh/reconnect)."""
    started_at, start = utcnow(), time.monotonic()

    def outcome(status: str, kind: str, **kw: Any) -> Outcome:
        return Outcome(job=job, status=status, attempt=kind, started_at=started_at, duration_ms=_elapsed_ms(start), **kw)

    if job.platform_post_id:  # published before: never send again
        return outcome("published", "stored", counted=False,
                       result=PublishResult(platform_post_id=job.platform_post_id, thread_post_ids=job.thread_post_ids))
    if job.problem or job.request is None or job.credentials is None:
        return outcome("failed", "failed", counted=False, error=job.problem or "Nothing to publish.")
    if client is not None:
        options = {**job.adapter_options, "client": client} if "client" in job.adapter_options else job.adapter_options
    else:
        options = job.adapter_options
    adapter = get_adapter(job.platform, **options)
    request = job.request
    if job.thread_post_ids:
        request = replace(request, published_part_ids=job.thread_post_ids)
    partial: tuple[str, ...] = job.thread_post_ids
    try:
        credentials = job.credentials
        if credentials.expires_within(REFRESH_BEFORE_USE_SECONDS):
            credentials = platform_accounts.refresh_account_token(account_id=job.account_id, client=client)
        if job.needs_check:
            found = adapter.find_existing(credentials, request)
            if found is not None and found.complete:
                return outcome("published", "found", result=found)
            if found is not None:
                partial = tuple(found.thread_post_ids)
                request = replace(request, published_part_ids=partial)
        result = _publish_with_auth_retry(adapter, credentials, request, job, client)
        return outcome("published", "published", result=result)
    except AccountNeedsReconnect as exc:
        return outcome("paused", "paused", counted=False, error=f"The account needs to be reconnected: {exc}")
    except RateLimitError as exc:
        return outcome("retrying", "retry", error=str(exc), retry_after=exc.retry_after_seconds, rate_limited=True,
                       partial_ids=_partial(exc, partial))
    except UnknownOutcomeError as exc:
        return outcome("unconfirmed", "unconfirmed", error=str(exc), partial_ids=_partial(exc, partial))
    except (ValidationError, MediaRejectedError, NotSupported) as exc:
        return outcome("failed", "failed", error=str(exc), partial_ids=_partial(exc, partial))
    except PlatformError as exc:
        status = "retrying" if exc.retryable else "failed"
        return outcome(status, "retry" if exc.retryable else "failed", error=str(exc), partial_ids=_partial(exc, partial))
    except Exception as exc:  # a bug or a storage error: retry with backoff, never lose the target
        log.exception("publishing target %s failed unexpectedly", job.target_id)
        return outcome("retrying", "retry", error=f"Unexpected error: {type(exc).__name__}: {exc}"[:500], partial_ids=partial)
    finally:
        adapter.close()


def _partial(exc: PlatformError, before: tuple[str, ...]) -> tuple[str, ...]:
    if exc.partial is not None and exc.partial.thread_post_ids:
        return tuple(exc.partial.thread_post_ids)
    return before


def _publish_with_auth_retry(adapter, credentials: AccountCredentials, request: PublishRequest, job: Job, client) -> PublishResult:
    try:
        return adapter.publish(credentials, request)
    except AuthError as first:
        # Forced refresh, at most one per account at a time; a waiting caller reuses the result.
        fresh = platform_accounts.refresh_account_token(account_id=job.account_id, failed_access_token=credentials.access_token,
                                                        client=client)
        if first.partial is not None and first.partial.thread_post_ids:
            request = replace(request, published_part_ids=tuple(first.partial.thread_post_ids))
        try:
            return adapter.publish(fresh, request)
        except AuthError as second:
            platform_accounts.mark_account_needs_reconnect(account_id=job.account_id, reason=second.message)
            raise AccountNeedsReconnect(second.message) from second


# ---- 5: record ---------------------------------------------------------------------------------

_APPLY = text(
    """
    UPDATE post_targets AS t
    SET status = v.status, platform_post_id = COALESCE(v.platform_post_id, t.platform_post_id),
        url = COALESCE(v.url, t.url), thread_post_ids = v.thread_post_ids, last_error = v.last_error,
        attempts = v.attempts, due_at = v.due_at, needs_check = v.needs_check,
        published_at = COALESCE(t.published_at, v.published_at),
        claimed_by = NULL, claimed_until = NULL, updated_at = :now
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
        id bigint, status text, platform_post_id text, url text, thread_post_ids jsonb, last_error text,
        attempts int, due_at timestamptz, needs_check boolean, published_at timestamptz)
    WHERE t.id = v.id AND t.claimed_by = :worker AND t.status = 'publishing'
    RETURNING t.id
    """
)


_INSERT_ATTEMPTS = text(
    """
    INSERT INTO publish_attempts (target_id, attempt, worker, outcome, error, started_at, duration_ms)
    SELECT v.target_id, v.attempt, :worker, v.outcome, v.error, v.started_at, v.duration_ms
    FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
        target_id bigint, attempt int, outcome text, error text, started_at timestamptz, duration_ms int)
    """
)


def backoff_seconds(attempt_number: int, settings: PublishingSettings, *, retry_after: float | None = None) -> float:
    """Delay before retry number `attempt_number` (1 = the first retry): exponential with jitter
    (between half and all of base·2ⁿ⁻¹, capped), and never less than the platform's Retry-After."""
    ceiling = min(settings.retry_max_seconds, settings.retry_base_seconds * 2 ** max(0, attempt_number - 1))
    delay = ceiling / 2 + random.uniform(0, ceiling / 2)
    if retry_after is not None:
        delay = max(delay, retry_after + random.uniform(0, max(0.5, retry_after * 0.1)))
    return delay


def _final(outcome: Outcome, settings: PublishingSettings, now: datetime) -> dict[str, Any]:
    """The target row an outcome leads to, and its activity line."""
    job = outcome.job
    attempts = job.attempts + (1 if outcome.counted else 0)
    status, error, due_at = outcome.status, outcome.error, None
    needs_check = job.needs_check or outcome.status == "unconfirmed"
    name = platform_accounts.platform_display_name(job.platform)
    if status in ("retrying", "unconfirmed") and attempts >= settings.max_attempts:
        status = "failed"
        error = f"Gave up after {attempts} attempts. Last error: {error}"
        if outcome.status == "unconfirmed":
            error += " It may have been published: check the account before retrying."
    if status == "retrying":
        due_at = now + timedelta(seconds=backoff_seconds(attempts, settings, retry_after=outcome.retry_after))
    elif status == "unconfirmed":
        due_at = now + timedelta(seconds=max(settings.unconfirmed_check_seconds, backoff_seconds(attempts, settings)))
    result = outcome.result
    published = status == "published"
    if published:
        needs_check, error = False, ""
        found = " (an earlier attempt had published it)" if outcome.attempt == "found" or (result and result.already_existed) else ""
        message = f"Published on {name} {job.handle}{found}."
        if result and result.warnings:
            message += " " + " ".join(result.warnings)
            error = " ".join(result.warnings)[:2000]
    elif status == "retrying":
        wait = (due_at - now).total_seconds()
        message = f"Attempt {attempts} on {name} failed: {error} Trying again in {wait:.0f} s."
    elif status == "unconfirmed":
        message = f"Attempt {attempts} on {name}: sent, but no answer came. Checking with {name} before any retry."
    elif status == "paused":
        message = f"Paused: {name} {job.handle} needs to be reconnected."
    else:
        message = f"Failed on {name}: {error}"
    thread_ids = list(result.thread_post_ids) if result else list(outcome.partial_ids)
    row = {
        "id": job.target_id, "status": status,
        "platform_post_id": result.platform_post_id if published and result else None,
        "url": result.url if published and result else None,
        "thread_post_ids": thread_ids, "last_error": error[:2000], "attempts": attempts,
        "due_at": due_at.isoformat() if due_at else None, "needs_check": needs_check,
        "published_at": now.isoformat() if published else None,
    }
    return {"row": row, "message": message[:1000], "status": status}


def apply_outcomes(session: Session, outcomes: list[Outcome], *, worker: str, now: datetime | None = None,
                   settings: PublishingSettings | None = None) -> list[int]:
    """Write a batch of outcomes (step 5). Returns the target ids written (claims this worker still held)."""
    if not outcomes:
        return []
    settings = settings or publishing_settings()
    now = now or utcnow()
    finals = [_final(o, settings, now) for o in outcomes]
    applied = {r[0] for r in session.execute(_APPLY, {"rows": json.dumps([f["row"] for f in finals]), "worker": worker, "now": now})}
    if len(applied) < len(outcomes):
        log.warning("%d result(s) not written: their claim was taken over", len(outcomes) - len(applied))
    kept = [(o, f) for o, f in zip(outcomes, finals) if o.job.target_id in applied]
    if not kept:
        return []
    session.execute(_INSERT_ATTEMPTS, {"worker": worker[:100], "rows": json.dumps([
        {"target_id": o.job.target_id, "attempt": f["row"]["attempts"], "outcome": o.attempt, "error": o.error[:2000],
         "started_at": o.started_at.isoformat(), "duration_ms": o.duration_ms}
        for o, f in kept
    ])})
    publishing_status.log_activities(session, [
        {"post_id": o.job.post_id, "target_id": o.job.target_id, "kind": f"target_{f['status']}", "message": f["message"]}
        for o, f in kept
    ])
    limited: dict[int, float] = {}
    for o, _ in kept:
        if o.rate_limited:
            wait = o.retry_after if o.retry_after is not None else settings.retry_base_seconds
            limited[o.job.account_id] = max(limited.get(o.job.account_id, 0.0), wait)
    for account_id, wait in limited.items():
        session.execute(text(
            "UPDATE platform_accounts SET rate_limited_until = GREATEST(COALESCE(rate_limited_until, :now), :until) WHERE id = :id"
        ), {"now": now, "until": now + timedelta(seconds=wait), "id": account_id})
    post_ids = {o.job.post_id for o, _ in kept}
    changes = publishing_status.refresh_post_statuses(session, post_ids=post_ids, log_single_target=False)
    by_team: dict[int, set[int]] = {}
    for o, _ in kept:
        by_team.setdefault(o.job.team_id, set()).add(o.job.post_id)
    publishing_status.announce(session, team_post_ids=by_team, changes=changes)
    return sorted(applied)


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


# ---- the synchronous path (tests, `scheduler --once`) ---------------------------------------------

def publish_due(*, now: datetime | None = None, worker: str | None = None, limit: int = 100, client=None) -> list[Outcome]:
    """Run steps 1-5 inline until nothing is due; returns every outcome (tests and debugging)."""
    from socialhub.core.db import session_scope

    worker = worker or worker_name()
    settings = publishing_settings()
    outcomes: list[Outcome] = []
    for _ in range(10_000):
        jobs = claim_and_load(worker=worker, limit=limit, now=now, settings=settings)
        if not jobs:
            break
        batch = [attempt(job, client=client) for job in jobs]
        with session_scope() as session:
            apply_outcomes(session, batch, worker=worker, now=now, settings=settings)
        outcomes.extend(batch)
    return outcomes


# ---- the engine (one per scheduler process) ---------------------------------------------------------

LIVENESS_LOCK_CLASS = 0x5348  # "SH": advisory lock namespace of engine liveness locks


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


class Engine:
    """One per scheduler process: claims due work in batches, holds it until its exact time,
    publishes it from a pool of worker threads, and writes results in batches.

    - `tick()` (every second, from the scheduler) claims work due within
      `PUBLISH_PREFETCH_SECONDS`, up to `PUBLISH_MAX_HELD` targets not yet sent, and between
      claims sleeps until the next target is due. Claimed work waits in a queue ordered by due
      time; workers send each at its time (so a burst of posts due at one moment is loaded
      before it and only sent at it).
    - Liveness: the engine holds an advisory lock on a connection of its own for as long as it
      lives, and its worker name carries the lock's key. When a process dies its lock vanishes
      at once, and the other engines take its claims without waiting for them to expire
      (checking each with the platform first, since it may have been sent). Claims of a process
      that hangs without dying expire after `PUBLISH_CLAIM_SECONDS`, as they are no longer renewed.
    - Worker threads send; a per-platform semaphore caps each platform's concurrency.
    - One writer thread writes results in batches and renews the claims this process holds.
      While sending is busy, results wait up to `WRITE_MAX_DELAY_SECONDS` (CPU goes to sending
      first); that is safe because an unwritten result only means its target is checked with
      the platform again after the claim is taken over.
    """

    def __init__(self, *, worker: str | None = None, settings: PublishingSettings | None = None) -> None:
        self.settings = settings or publishing_settings()
        self._key = random.randrange(1, 2**31)
        self.worker = f"{worker or worker_name()}#{self._key}"
        self._ready: queue.PriorityQueue = queue.PriorityQueue()
        self._sequence = 0
        self._results: queue.Queue[Outcome] = queue.Queue()
        self._lock = threading.Lock()
        self._held: dict[int, str] = {}  # claimed and not yet written: target id → platform
        self._unsent = 0  # waiting or being sent
        self._semaphores: dict[str, threading.BoundedSemaphore] = {}
        self._wake = threading.Event()
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._releaser: threading.Thread | None = None
        self._writer: threading.Thread | None = None
        self._liveness = None
        self._platforms: list[str] = []
        self._platforms_checked = 0.0
        self._dead: list[str] = []
        self._dead_checked = 0.0
        self._expired_checked: dict[str, float] = {}
        self._sendable: queue.Queue[Job | None] = queue.Queue()  # due, recorded as being sent
        self._sends: dict[int, set[int]] = {}  # publish_sends row → its targets not yet written
        self._send_of: dict[int, int] = {}  # target id → its publish_sends row
        self._release_wake = threading.Event()

    # -- capacity ----------------------------------------------------------------------------

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def unsent(self) -> int:
        with self._lock:
            return self._unsent

    def _room(self) -> int:
        with self._lock:
            return min(self.settings.batch_size, self.settings.max_held - self._unsent)

    # -- threads -----------------------------------------------------------------------------

    def start(self) -> None:
        if self._threads:
            return
        self._hold_liveness_lock()
        # Sending is short bursts of CPU between waits; hand the GIL over sooner than the
        # default 5 ms so threads returning from the network or the database are not queued.
        sys.setswitchinterval(min(sys.getswitchinterval(), 0.001))
        for n in range(self.settings.concurrency):
            thread = threading.Thread(target=self._work_loop, name=f"publish-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self._releaser = threading.Thread(target=self._release_loop, name="publish-release", daemon=True)
        self._releaser.start()
        self._writer = threading.Thread(target=self._write_loop, name="publish-writer", daemon=True)
        self._writer.start()
        log.info("publishing engine %s started with %d workers", self.worker, self.settings.concurrency)

    def _hold_liveness_lock(self) -> None:
        import psycopg

        from socialhub.core.db import database_url, libpq_url

        self._liveness = psycopg.connect(libpq_url(database_url()), autocommit=True)
        self._liveness.execute("SELECT pg_advisory_lock(%s::int, %s::int)", (LIVENESS_LOCK_CLASS, self._key))

    def _semaphore(self, platform: str) -> threading.BoundedSemaphore:
        with self._lock:
            if platform not in self._semaphores:
                self._semaphores[platform] = threading.BoundedSemaphore(self.settings.concurrency_for(platform))
            return self._semaphores[platform]

    def _enqueue(self, job: Job) -> None:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        due = job.due_at.timestamp() if job.due_at is not None else 0.0
        self._ready.put((due, sequence, job))
        self._release_wake.set()

    def _work_loop(self) -> None:
        # Each worker has its own connection pool: no lock shared with the other workers.
        client = platform_accounts.new_http_client(max_connections=4)
        try:
            self._work(client)
        finally:
            client.close()

    def _work(self, client) -> None:
        while True:
            job = self._sendable.get()
            if job is None:
                self._sendable.put(None)  # let the other workers see it too
                return
            semaphore = self._semaphore(job.platform)
            if not semaphore.acquire(blocking=False):
                self._sendable.put(job)  # its platform is at its limit: take another
                time.sleep(0.002)
                continue
            try:
                outcome = attempt(job, client=client)
            except BaseException as exc:  # attempt() catches what it expects; this is a last resort
                outcome = Outcome(job=job, status="retrying", attempt="retry", started_at=utcnow(), duration_ms=0,
                                  error=f"Unexpected error: {type(exc).__name__}")
            finally:
                semaphore.release()
            with self._lock:
                self._unsent -= 1
            self._results.put(outcome)
            self._wake.set()

    def _release_loop(self) -> None:
        """Move jobs whose time has come from the waiting queue to the workers, a batch at a
        time, after recording them as being sent (one durable write per batch). Jobs whose
        claim this process lost in the meantime are dropped, not sent."""
        from socialhub.core.db import session_scope

        while True:
            due, sequence, job = self._ready.get()
            if job is None:
                self._sendable.put(None)
                return
            wait = due - time.time()
            if wait > 0:
                self._ready.put((due, sequence, job))
                self._release_wake.wait(min(wait, 0.05))
                self._release_wake.clear()
                continue
            if self._sendable.qsize() >= 2 * self.settings.concurrency:
                self._ready.put((due, sequence, job))  # workers are busy: mark no further ahead
                time.sleep(0.002)
                continue
            batch = [(due, sequence, job)]
            while len(batch) < MARK_BATCH:
                try:
                    item = self._ready.get_nowait()
                except queue.Empty:
                    break
                if item[2] is None or item[0] > time.time():
                    self._ready.put(item)
                    break
                batch.append(item)
            ids = [item[2].target_id for item in batch]
            try:
                with session_scope() as session:
                    kept, send_id = mark_sending(session, worker=self.worker, target_ids=ids)
            except Exception:
                log.exception("recording targets as being sent failed; trying again")
                for item in batch:
                    self._ready.put(item)
                time.sleep(0.5)
                continue
            lost = set(ids) - kept
            if lost:
                log.warning("%d claim(s) were taken over before sending; not sending them", len(lost))
                with self._lock:
                    for target_id in lost:
                        self._held.pop(target_id, None)
                    self._unsent -= len(lost)
            if send_id is not None:
                with self._lock:
                    self._sends[send_id] = set(kept)
                    for target_id in kept:
                        self._send_of[target_id] = send_id
            for item in batch:
                if item[2].target_id in kept:
                    self._sendable.put(item[2])

    # -- the loop ----------------------------------------------------------------------------

    def tick(self, budget: float = 0.9) -> int:
        """Claim and dispatch for up to `budget` seconds; returns how many targets were claimed."""
        from socialhub.core.db import session_scope

        self.start()
        deadline = time.monotonic() + budget
        claimed_total = 0
        while not self._stopping:
            claimed, more = self._claim_round()
            claimed_total += claimed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if claimed and more:
                continue
            if self._room() <= 0:
                self._wait(min(remaining, 0.05))  # woken as workers finish
                continue
            with session_scope() as session:
                due_in = next_due_in(session, settings=self.settings)
            horizon = (due_in - self.settings.prefetch_seconds) if due_in is not None else None
            if horizon is None or horizon > remaining:
                break
            if horizon <= 0:
                if claimed == 0:  # due but not claimable here (rate limited, missed): look again soon
                    self._wait(min(remaining, 0.1))
                continue
            self._wait(horizon)
        return claimed_total

    def _wait(self, seconds: float) -> None:
        self._wake.wait(max(0.0, seconds))
        self._wake.clear()

    def _refresh_views(self) -> None:
        """Platforms with accounts (every 2 s) and dead workers' claims (every half second)."""
        from socialhub.core.db import session_scope

        now = time.monotonic()
        if now - self._platforms_checked > 2 or now - self._dead_checked > DEAD_CHECK_SECONDS:
            with session_scope() as session:
                if now - self._platforms_checked > 2:
                    self._platforms = sorted(session.exec(
                        select(PlatformAccount.platform).where(PlatformAccount.status == "ok").distinct()))
                    self._platforms_checked = now
                if now - self._dead_checked > DEAD_CHECK_SECONDS:
                    self._dead = dead_workers(session, me=self.worker)
                    self._dead_checked = now

    def _claim_round(self) -> tuple[int, bool]:
        """One claim per platform while there is room: (claimed, more may be due)."""
        try:
            self._refresh_views()
        except Exception:
            log.exception("reading publishing state failed; trying again next tick")
            return 0, False
        claimed, more = 0, False
        for platform in self._platforms:
            room = self._room()
            if room <= 0:
                return claimed, True
            expired = bool(self._dead) or time.monotonic() - self._expired_checked.get(platform, 0.0) > 1.0
            try:
                jobs = claim_and_load(worker=self.worker, limit=room, platform=platform, settings=self.settings,
                                      prefetch_seconds=self.settings.prefetch_seconds, include_expired=expired,
                                      dead_workers=self._dead, mark_sending=False)
            except Exception:
                log.exception("claiming due targets failed; trying again next tick")
                return claimed, False
            if expired:
                self._expired_checked[platform] = time.monotonic()
            claimed += len(jobs)
            more = more or len(jobs) == room
            with self._lock:
                for job in jobs:
                    self._held[job.target_id] = job.platform
                self._unsent += len(jobs)
            for job in jobs:
                self._enqueue(job)
        return claimed, more

    def _write_loop(self) -> None:
        from socialhub.core.db import session_scope

        last_extend = time.monotonic()
        pending: list[Outcome] = []
        oldest = 0.0
        while True:
            try:
                outcome = self._results.get(timeout=0.05)
                if not pending:
                    oldest = time.monotonic()
                pending.append(outcome)
                while len(pending) < WRITE_BATCH:
                    pending.append(self._results.get_nowait())
            except queue.Empty:
                pass
            busy = self.unsent() > 0 and not self._stopping
            due = pending and (len(pending) >= WRITE_BATCH or not busy or time.monotonic() - oldest > WRITE_MAX_DELAY_SECONDS)
            if due:
                try:
                    with session_scope() as session:
                        # A lost result is re-checked with the platform (the claim is durable), so
                        # this commit need not wait for the disk.
                        session.execute(text("SET LOCAL synchronous_commit = off"))
                        apply_outcomes(session, pending, worker=self.worker, settings=self.settings)
                except Exception:
                    log.exception("writing %d publish result(s) failed; retrying", len(pending))
                    time.sleep(1)
                    continue
                done: list[int] = []
                with self._lock:
                    for written in pending:
                        self._held.pop(written.job.target_id, None)
                        send_id = self._send_of.pop(written.job.target_id, None)
                        if send_id is not None:
                            remaining = self._sends.get(send_id)
                            remaining.discard(written.job.target_id)
                            if not remaining:
                                del self._sends[send_id]
                                done.append(send_id)
                if done:
                    try:
                        with session_scope() as session:
                            forget_sends(session, send_ids=done)
                    except Exception:
                        log.exception("dropping send records failed; the daily sweep will")
                pending = []
                self._wake.set()
            if time.monotonic() - last_extend > self.settings.claim_seconds / 3:
                with self._lock:
                    ids = list(self._held)
                try:
                    with session_scope() as session:
                        extend_claims(session, worker=self.worker, target_ids=ids, settings=self.settings)
                    last_extend = time.monotonic()
                except Exception:
                    log.exception("renewing claims failed")
            if self._stopping and not pending and self.held() == 0 and self._results.empty():
                return

    def stop(self, timeout: float = 60.0) -> None:
        """Stop claiming, let claimed targets go out, write their results, release the liveness lock."""
        self._stopping = True
        self._wake.set()
        self._ready.put((float("inf"), 0, None))  # after everything claimed: the releaser passes it on
        self._release_wake.set()
        deadline = time.monotonic() + timeout
        if self._releaser is not None:
            self._releaser.join(max(0.0, deadline - time.monotonic()))
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if self._writer is not None:
            self._writer.join(max(0.0, deadline - time.monotonic()))
        if self._liveness is not None:
            self._liveness.close()
            self._liveness = None


_engine: Engine | None = None
_engine_lock = threading.Lock()


def engine() -> Engine:
    """This process's engine, created (and stopped at exit) on first use."""
    global _engine
    with _engine_lock:
        if _engine is None:
            _engine = Engine()
            atexit.register(_engine.stop)
        return _engine
