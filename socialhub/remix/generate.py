"""Generating remixes: asking for one, the job queue, running a job, cancel and retry.

The loop, step by step (who owns which status):
1. `request_remix` (the person, through the page) checks the prompt and the per-user limits
   (concurrent and per 24 h, counted under a per-user advisory lock so two tabs cannot both
   slip under a limit), picks the provider from the remixer's keys, stores the recipe and one
   `RemixJob` (status `queued`), and publishes a `remix` event. Nothing slow happens here.
2. `claim_jobs` (any scheduler process) takes due jobs with `UPDATE … WHERE id IN (SELECT …
   FOR UPDATE SKIP LOCKED)`: `queued` ones, and `running` ones whose lease (`claimed_until`)
   expired because the process that held them died. Claiming sets `running`, the claimer's
   id and a fresh lease, and counts an attempt; a job past `REMIX_MAX_ATTEMPTS` fails.
3. `run_job` reads the input with no transaction open, calls the provider (local Pillow,
   Gemini, OpenAI, or the offline ffmpeg clip for videos), reporting progress in short
   transactions that also renew the lease and notice a cancel. The output is stored first;
   then one transaction, guarded by `claimed_by = me AND status = 'running'`, marks the remix
   `done`, adds it to the ad's `remix_count` and publishes. A worker that lost its claim
   writes nothing and deletes what it stored.
4. A failure is recorded with its reason: retryable ones (timeouts, 429, 5xx) go back to
   `queued` after a pause, others end `failed`. The person may `retry_remix` a failed or
   cancelled remix, or `cancel_remix` a waiting or running one.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from datetime import timedelta

from sqlalchemy import func, text
from sqlmodel import Session, select

from socialhub.ai.base import AIError
from socialhub.core import events, storage
from socialhub.core.db import session_scope
from socialhub.core.errors import NotFound, PermissionDenied, RateLimited, ServiceError, ValidationError
from socialhub.core.models import utcnow
from socialhub.identity import teams, users
from socialhub.remix import assets, providers, video
from socialhub.remix.ads import get_ad
from socialhub.remix.brands import brand_look, get_brand
from socialhub.remix.config import remix_settings
from socialhub.remix.models import ACTIVE_STATUSES, Ad, Remix, RemixJob
from socialhub.remix.text import clean
from socialhub.remix.threads import prompt_diff

log = logging.getLogger(__name__)
EVENT = "remix"
RETRY_AFTER = timedelta(seconds=30)


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


def audience(session: Session, *, ad: Ad, user_id: int) -> list[int]:
    """Who hears of a remix of this ad: the remixer and the brand's team."""
    return sorted({user_id, *teams.team_member_ids(session, team_id=ad.team_id)})


def notify(session: Session, remix: Remix, ad: Ad) -> None:
    events.publish(session, kind=EVENT, user_ids=audience(session, ad=ad, user_id=remix.user_id),
                   data={"remix_id": remix.id, "ad_id": ad.id, "status": remix.status, "progress": remix.progress})


def _check_limits(session: Session, user_id: int) -> None:
    settings = remix_settings()
    session.execute(text("SELECT pg_advisory_xact_lock(7301, :uid)"), {"uid": int(user_id) % 2_000_000_000})
    active = session.exec(select(func.count(Remix.id)).where(
        Remix.user_id == user_id, Remix.status.in_(ACTIVE_STATUSES))).one()
    if active >= settings.concurrent_per_user:
        raise RateLimited(f"You have {active} remixes being made; wait for one to finish "
                          f"(at most {settings.concurrent_per_user} at a time).")
    today = session.exec(select(func.count(Remix.id)).where(
        Remix.user_id == user_id, Remix.created_at >= utcnow() - timedelta(hours=24))).one()
    if today >= settings.daily_per_user:
        raise RateLimited(f"You made {today} remixes in the last 24 hours, the most allowed. Try again tomorrow.")


def _keys(session: Session, user_id: int) -> dict[str, str | None]:
    return {p: users.get_provider_key(session, user_id=user_id, provider=p) for p in ("google", "openai")}


def request_remix(session: Session, *, user_id: int, ad_id: int, prompt: str, parent_id: int | None = None) -> Remix:
    """Queue a remix of an ad (or of one of its remixes) with a prompt."""
    ad = get_ad(session, ad_id=ad_id)
    prompt = clean(prompt, limit=remix_settings().max_prompt, what="The prompt", required=True, one_line=False)
    parent = None
    if parent_id:
        parent = session.get(Remix, parent_id)
        if parent is None or parent.ad_id != ad.id:
            raise NotFound("The remix you are remixing does not exist (or belongs to another ad).")
        if parent.status != "done":
            raise ValidationError("That remix is not finished yet; remix it once it is done.")
    _check_limits(session, user_id)
    if ad.kind == "video" and (parent is None or parent.kind == "video"):
        provider, model = "local", "ffmpeg"
        input_key = parent.output_key if parent else ad.original_key
        kind = "video"
    else:
        provider, model = providers.choose_image_provider(_keys(session, user_id))
        input_key = parent.output_key if parent else (ad.web_key or ad.original_key)
        kind = "image"
    remix = Remix(ad_id=ad.id, parent_id=parent.id if parent else None, user_id=user_id, kind=kind, prompt=prompt,
                  prompt_diff=prompt_diff(parent.prompt if parent else "", prompt), provider=provider, model=model,
                  params={"input": "parent" if parent else "ad"}, seed=secrets.randbelow(2**31), input_key=input_key)
    session.add(remix)
    session.flush()
    session.add(RemixJob(remix_id=remix.id))
    session.flush()
    notify(session, remix, ad)
    return remix


def _own_remix(session: Session, *, user_id: int, remix_id: int) -> Remix:
    remix = session.exec(select(Remix).where(Remix.id == remix_id).with_for_update()).first()
    if remix is None:
        raise NotFound("This remix does not exist.")
    if remix.user_id != user_id:
        raise PermissionDenied("Only the person who made a remix can cancel or retry it.")
    return remix


def cancel_remix(session: Session, *, user_id: int, remix_id: int) -> Remix:
    remix = _own_remix(session, user_id=user_id, remix_id=remix_id)
    if remix.status not in ACTIVE_STATUSES:
        raise ValidationError(f"This remix is already {remix.status}.")
    remix.status, remix.error, remix.finished_at = "cancelled", "Cancelled.", utcnow()
    session.add(remix)
    session.execute(text("UPDATE remix_jobs SET status = 'cancelled', claimed_until = NULL WHERE remix_id = :id"),
                    {"id": remix.id})
    notify(session, remix, session.get(Ad, remix.ad_id))
    return remix


def retry_remix(session: Session, *, user_id: int, remix_id: int) -> Remix:
    remix = _own_remix(session, user_id=user_id, remix_id=remix_id)
    if remix.status not in ("failed", "cancelled"):
        raise ValidationError("Only a failed or cancelled remix can be tried again.")
    _check_limits(session, user_id)
    remix.status, remix.error, remix.progress, remix.finished_at = "queued", "", 0, None
    session.add(remix)
    session.execute(text("UPDATE remix_jobs SET status = 'queued', attempts = 0, claimed_by = '', claimed_until = NULL,"
                         " run_after = now() WHERE remix_id = :id"), {"id": remix.id})
    notify(session, remix, session.get(Ad, remix.ad_id))
    return remix


# ---- the queue ----------------------------------------------------------------------------------

def claim_jobs(session: Session, *, worker: str, limit: int = 4) -> list[tuple[int, int, int]]:
    """Claim due jobs for `worker`: [(job id, remix id, attempts)]. Call in its own transaction."""
    lease = remix_settings().lease_seconds
    rows = session.execute(text("""
        UPDATE remix_jobs SET status = 'running', claimed_by = :worker, attempts = attempts + 1,
               claimed_until = now() + make_interval(secs => :lease)
        WHERE id IN (
            SELECT id FROM remix_jobs
            WHERE (status = 'queued' AND run_after <= now()) OR (status = 'running' AND claimed_until < now())
            ORDER BY run_after, id
            FOR UPDATE SKIP LOCKED
            LIMIT :limit)
        RETURNING id, remix_id, attempts"""), {"worker": worker, "lease": lease, "limit": limit}).all()
    return [(r[0], r[1], r[2]) for r in rows]


def _still_mine(session: Session, job_id: int, worker: str) -> RemixJob | None:
    job = session.exec(select(RemixJob).where(RemixJob.id == job_id).with_for_update()).first()
    if job is None or job.claimed_by != worker or job.status != "running":
        return None
    return job


def _progress(job_id: int, remix_id: int, worker: str, value: int) -> None:
    """Record progress, renew the lease; raise if the job was cancelled or taken by another."""
    with session_scope() as session:
        job = _still_mine(session, job_id, worker)
        if job is None:
            raise _Lost()
        job.claimed_until = utcnow() + timedelta(seconds=remix_settings().lease_seconds)
        remix = session.get(Remix, remix_id)
        remix.status, remix.progress = "running", value
        session.add_all([job, remix])
        notify(session, remix, session.get(Ad, remix.ad_id))


class _Lost(Exception):
    """This worker no longer holds the job (cancelled, or its lease was taken)."""


def run_job(job_id: int, remix_id: int, attempts: int, *, worker: str) -> str:
    """Make one claimed remix. Returns its final status for this run."""
    with session_scope() as session:
        remix = session.get(Remix, remix_id)
        ad = session.get(Ad, remix.ad_id) if remix else None
        if remix is None or ad is None or remix.status not in ACTIVE_STATUSES:
            session.execute(text("UPDATE remix_jobs SET status = 'cancelled' WHERE id = :id"), {"id": job_id})
            return "cancelled"
        if attempts > remix_settings().max_attempts:
            return _finish_failed(session, job_id, remix, ad, "It failed too many times (the worker stopped each time).")
        look = brand_look(get_brand(session, brand_id=ad.brand_id))
        key = _keys(session, remix.user_id).get({"gemini": "google", "openai": "openai"}.get(remix.provider, ""), None) \
            if remix.provider in ("gemini", "openai") else None
        input_key, kind, prompt, provider, seed = remix.input_key, remix.kind, remix.prompt, remix.provider, remix.seed
        extension = input_key.rsplit(".", 1)[-1]
    report = lambda value: _progress(job_id, remix_id, worker, value)  # noqa: E731
    stored: list[str] = []
    try:
        report(10)
        source = storage.get_storage().get(input_key)
        report(25)
        if kind == "video":
            made = video.make_clip(source, extension, prompt, brand=look, progress=report)
            thumb = video.poster_of(made.data)
        else:
            made = providers.image_editor(provider, key).edit(source, prompt, brand=look, seed=seed)
            report(80)
            thumb = assets.encode_webp(assets.fit(assets.open_image(made.data), remix_settings().thumb_size))
        keys = assets.store_all({"output": (made.data, made.content_type, made.extension),
                                 "thumb": (thumb, "image/webp", "webp")})
        stored = list(keys.values())
        with session_scope() as session:
            job = _still_mine(session, job_id, worker)
            if job is None:
                raise _Lost()
            remix = session.exec(select(Remix).where(Remix.id == remix_id).with_for_update()).one()
            ad = session.exec(select(Ad).where(Ad.id == remix.ad_id).with_for_update()).one()
            remix.output_key, remix.thumb_key, remix.notes = keys["output"], keys["thumb"], made.notes[:20]
            remix.status, remix.progress, remix.error, remix.finished_at = "done", 100, "", utcnow()
            job.status, job.claimed_until = "done", None
            ad.remix_count += 1
            session.add_all([remix, job, ad])
            notify(session, remix, ad)
        return "done"
    except _Lost:
        assets.delete_keys(stored)
        return "lost"
    except (AIError, ServiceError, FileNotFoundError) as exc:
        assets.delete_keys(stored)
        message = str(exc) if not isinstance(exc, FileNotFoundError) else "The picture to remix is missing from storage."
        retry = isinstance(exc, AIError) and exc.retryable and attempts < remix_settings().max_attempts
        with session_scope() as session:
            if _still_mine(session, job_id, worker) is None:
                return "lost"
            remix = session.get(Remix, remix_id)
            ad = session.get(Ad, remix.ad_id)
            if retry:
                session.execute(text("UPDATE remix_jobs SET status = 'queued', claimed_until = NULL, "
                                     "run_after = now() + make_interval(secs => :s) WHERE id = :id"),
                                {"id": job_id, "s": RETRY_AFTER.total_seconds()})
                remix.status, remix.error = "queued", f"{message} Trying again shortly."
                session.add(remix)
                notify(session, remix, ad)
                return "queued"
            return _finish_failed(session, job_id, remix, ad, message)
    except Exception as exc:  # a bug or an unexpected library error: fail it, keep the reason short
        assets.delete_keys(stored)
        log.exception("remix job %s failed", job_id)
        with session_scope() as session:
            if _still_mine(session, job_id, worker) is None:
                return "lost"
            remix = session.get(Remix, remix_id)
            return _finish_failed(session, job_id, remix, session.get(Ad, remix.ad_id),
                                  f"Something went wrong while making it ({type(exc).__name__}). Try again.")


def _finish_failed(session: Session, job_id: int, remix: Remix, ad: Ad, message: str) -> str:
    session.execute(text("UPDATE remix_jobs SET status = 'failed', claimed_until = NULL WHERE id = :id"), {"id": job_id})
    remix.status, remix.error, remix.finished_at = "failed", message[:1000], utcnow()
    session.add(remix)
    notify(session, remix, ad)
    return "failed"


def run_due(*, worker: str | None = None, limit: int = 4, max_jobs: int = 50) -> int:
    """Claim (`limit` at a time) and run due jobs until none is left or `max_jobs` ran."""
    worker = worker or worker_id()
    ran = 0
    while ran < max_jobs:
        with session_scope() as session:
            claimed = claim_jobs(session, worker=worker, limit=limit)
        if not claimed:
            return ran
        for job_id, remix_id, attempts in claimed:
            run_job(job_id, remix_id, attempts, worker=worker)
            ran += 1
    return ran


def remix_status(session: Session, *, remix_id: int) -> Remix:
    remix = session.get(Remix, remix_id)
    if remix is None:
        raise NotFound("This remix does not exist.")
    return remix
