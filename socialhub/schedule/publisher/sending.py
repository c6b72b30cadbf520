"""Sending one claimed target to its platform (step 4), and the `Outcome` it leads to.

`attempt` never writes to the database except through `platform_accounts` (a token refresh, an
account that needs reconnecting). A target with a stored platform post id is never sent again;
one whose earlier attempt may have reached the platform (`needs_check`) is looked for first
(`find_existing`); an `AuthError` gets one forced token refresh and one more try.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from socialhub.channels import accounts as platform_accounts
from socialhub.channels.accounts import AccountNeedsReconnect
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
from socialhub.schedule.hub import adapter as _hub  # noqa: F401  (registers the "hub" adapter)
from socialhub.schedule.publisher.claims import Job

log = logging.getLogger(__name__)

REFRESH_BEFORE_USE_SECONDS = 60  # refresh a token that expires sooner than this before using it
# A timeline can lag behind a post that was just created: after an attempt younger than this,
# "not found" is not trusted yet and the check is made again later (nothing is sent).
TIMELINE_LAG_SECONDS = 60


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
    needs_check: bool = False  # ask the platform before any later attempt (e.g. its answer could not be stored)



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
            by_text = getattr(adapter, "matches_by_text", False)
            if by_text:  # only posts made since the first attempt can be this one (not last week's copy)
                found = adapter.find_existing(credentials, request, since=job.first_attempt_at)
            else:  # matched by key: time does not matter
                found = adapter.find_existing(credentials, request)
            if found is not None and found.complete:
                return outcome("published", "found", result=found)
            if found is not None:
                partial = tuple(found.thread_post_ids)
                request = replace(request, published_part_ids=partial)
            lag = _timeline_may_lag(job, started_at) if by_text else None
            if lag is not None:
                return outcome("retrying", "retry", counted=False, retry_after=lag, partial_ids=partial,
                               error="Not found on the account's timeline yet after a recent attempt; checking again before sending.")
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


def _timeline_may_lag(job: Job, now: datetime) -> float | None:
    """Seconds to wait before "not found" can be trusted (None: trust it now).

    A platform's timeline may not list a post created a moment ago; after an attempt that may
    have reached the platform less than `TIMELINE_LAG_SECONDS` ago, check again later.
    """
    if job.last_attempt_at is None:
        return None
    waited = (now - job.last_attempt_at).total_seconds()
    return TIMELINE_LAG_SECONDS - waited if waited < TIMELINE_LAG_SECONDS else None


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

