"""Writing the outcomes of attempts (step 5): one transaction per batch of results.

Each target's status together with its `platform_post_id` (one statement: never one without
the other), the attempt log, the activity log, the rate limit of the account, the post
roll-up, and one event per team for live pages. A result is written only while this worker
still holds the claim (`claimed_by = me AND status = 'publishing'`). Also owns the retry delay
(`backoff_seconds`) and what an outcome becomes after the last attempt (`failed`).

Everything in an outcome that came from a platform (error texts, ids, urls, warnings) is
untrusted: `clean_outcome` removes NUL and other control characters (and lone surrogates)
and caps lengths before anything is written, whatever the adapters did already. If a batch
still cannot be written (a value the database refuses), the batch is split in halves until
the one bad outcome is found; that target is recorded `failed` with "the platform's answer
could not be stored" (checked with the platform before any retry), and the rest of the batch
is written as usual. One poisoned answer never holds back the others.
"""

from __future__ import annotations

import json
import logging
import random
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exc as sa_exc, text
from sqlmodel import Session

from socialhub.channels import accounts as platform_accounts
from socialhub.core.models import utcnow
from socialhub.schedule import status
from socialhub.schedule.config import publishing_settings, PublishingSettings
from socialhub.schedule.publisher.sending import Outcome

log = logging.getLogger(__name__)


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
    new_status, error, due_at = outcome.status, outcome.error, None
    needs_check = job.needs_check or outcome.status == "unconfirmed" or outcome.needs_check
    name = platform_accounts.platform_display_name(job.platform)
    if new_status in ("retrying", "unconfirmed") and attempts >= settings.max_attempts:
        new_status = "failed"
        error = f"Gave up after {attempts} attempts. Last error: {error}"
        if outcome.status == "unconfirmed":
            error += " It may have been published: check the account before retrying."
    if new_status == "retrying":
        due_at = now + timedelta(seconds=backoff_seconds(attempts, settings, retry_after=outcome.retry_after))
    elif new_status == "unconfirmed":
        due_at = now + timedelta(seconds=max(settings.unconfirmed_check_seconds, backoff_seconds(attempts, settings)))
    result = outcome.result
    published = new_status == "published"
    if published:
        needs_check, error = False, ""
        found = " (an earlier attempt had published it)" if outcome.attempt == "found" or (result and result.already_existed) else ""
        message = f"Published on {name} {job.handle}{found}."
        if result and result.warnings:
            message += " " + " ".join(result.warnings)
            error = " ".join(result.warnings)[:2000]
    elif new_status == "retrying":
        wait = (due_at - now).total_seconds()
        message = f"Attempt {attempts} on {name} failed: {error} Trying again in {wait:.0f} s."
    elif new_status == "unconfirmed":
        message = f"Attempt {attempts} on {name}: sent, but no answer came. Checking with {name} before any retry."
    elif new_status == "paused":
        message = f"Paused: {name} {job.handle} needs to be reconnected."
    else:
        message = f"Failed on {name}: {error}"
    thread_ids = list(result.thread_post_ids) if result else list(outcome.partial_ids)
    row = {
        "id": job.target_id, "status": new_status,
        "platform_post_id": result.platform_post_id if published and result else None,
        "url": result.url if published and result else None,
        "thread_post_ids": thread_ids, "last_error": error[:2000], "attempts": attempts,
        "due_at": due_at.isoformat() if due_at else None, "needs_check": needs_check,
        "published_at": now.isoformat() if published else None,
    }
    return {"row": row, "message": message[:1000], "status": new_status}


# ---- what came from the platform is cleaned before it is stored ------------------------------------

ERROR_MAX = 2000  # post_targets.last_error and publish_attempts.error
ID_MAX = 500  # post_targets.platform_post_id
URL_MAX = 1000  # post_targets.url
THREAD_MAX = 100  # thread part ids kept
UNSTORABLE = "The platform's answer could not be stored"
# C0 controls except tab and newline, DEL, C1 controls, lone surrogates (JSON and PostgreSQL refuse them).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(value: Any, limit: int) -> str:
    """A platform-sourced string made storable: control characters removed, at most `limit` characters."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    value = value[: limit * 4]  # do not scan megabytes
    return _UNSAFE.sub("", value)[:limit]


def _clean_id(value: Any) -> str | None:
    """An id or url is not shortened (a cut id would be wrong): only control characters go.
    One that is still too long is refused by the database and handled as unstorable."""
    if value is None:
        return None
    cleaned = _UNSAFE.sub("", value if isinstance(value, str) else str(value)).strip()
    return cleaned or None


def clean_outcome(outcome: Outcome) -> Outcome:
    """The outcome with every platform-sourced string cleaned (see the module docstring)."""
    result = outcome.result
    if result is not None:
        result = replace(
            result,
            platform_post_id=_clean_id(result.platform_post_id) or "",
            url=_clean_id(result.url),
            thread_post_ids=tuple(i for i in (_clean_id(x) for x in result.thread_post_ids[:THREAD_MAX]) if i),
            warnings=tuple(clean_text(w, ERROR_MAX) for w in result.warnings[:20]),
        )
    partial = tuple(i for i in (_clean_id(x) for x in outcome.partial_ids[:THREAD_MAX]) if i)
    if outcome.status == "published" and result is not None and not result.platform_post_id:
        return unstorable(outcome, "no post id in it")
    return replace(outcome, error=clean_text(outcome.error, ERROR_MAX), result=result, partial_ids=partial)


def unstorable(outcome: Outcome, problem: BaseException | str) -> Outcome:
    """What is recorded for an outcome the database refused: `failed`, checked before any retry."""
    reason = problem if isinstance(problem, str) else type(problem).__name__
    return Outcome(job=outcome.job, status="failed", attempt="failed", started_at=outcome.started_at,
                   duration_ms=outcome.duration_ms, counted=outcome.counted, needs_check=True,
                   error=f"{UNSTORABLE} ({reason}); it may have been published: check the account before retrying.")


def _is_connection_error(exc: BaseException) -> bool:
    """A lost connection or a server going away: splitting the batch would not help."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.DisconnectionError))


def apply_outcomes(session: Session, outcomes: list[Outcome], *, worker: str, now: datetime | None = None,
                   settings: PublishingSettings | None = None) -> list[int]:
    """Write a batch of outcomes (step 5). Returns the target ids written (claims this worker still held).

    Each (part of a) batch is written inside a savepoint; an outcome the database refuses is
    found by splitting the batch and recorded as unstorable (see the module docstring). A
    lost connection is raised to the caller, which tries again later.
    """
    if not outcomes:
        return []
    settings = settings or publishing_settings()
    now = now or utcnow()
    return sorted(_apply_split(session, [clean_outcome(o) for o in outcomes], worker=worker, now=now, settings=settings))


def _apply_split(session: Session, outcomes: list[Outcome], *, worker: str, now: datetime,
                 settings: PublishingSettings) -> list[int]:
    try:
        with session.begin_nested():
            return _apply(session, outcomes, worker=worker, now=now, settings=settings)
    except Exception as exc:
        if _is_connection_error(exc):
            raise
        if len(outcomes) > 1:
            middle = len(outcomes) // 2
            return (_apply_split(session, outcomes[:middle], worker=worker, now=now, settings=settings)
                    + _apply_split(session, outcomes[middle:], worker=worker, now=now, settings=settings))
        [bad] = outcomes
        log.error("the result of target %s could not be stored (%s: %s); recording it as failed",
                  bad.job.target_id, type(exc).__name__, str(exc)[:300])
        with session.begin_nested():
            return _apply(session, [unstorable(bad, exc)], worker=worker, now=now, settings=settings)


def _apply(session: Session, outcomes: list[Outcome], *, worker: str, now: datetime,
           settings: PublishingSettings) -> list[int]:
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
    status.log_activities(session, [
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
    changes = status.refresh_post_statuses(session, post_ids=post_ids, log_single_target=False)
    by_team: dict[int, set[int]] = {}
    for o, _ in kept:
        by_team.setdefault(o.job.team_id, set()).add(o.job.post_id)
    status.announce(session, team_post_ids=by_team, changes=changes)
    return sorted(applied)

