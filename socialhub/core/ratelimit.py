"""Rate limits on actions people can repeat (sign-up, invites, connecting accounts, feed sources).

`check(action, key)` counts one use of `action` by `key` (a user id, an IP address) in a moving
window and raises `RateLimited` with a message saying when to try again once the rate in
`RATES` is used up. Counters live in Redis when `REDIS_URL` (or `REFLEX_REDIS_URL`) is set, so
every worker shares them; otherwise in this process's memory. Never in PostgreSQL: a burst of
refused requests must not become a burst of writes.

Counters are namespaced by the database the process uses, so several installations (or the
tests' databases) sharing one Redis never share counts. `RATE_LIMITS` overrides rates, e.g.
`sign_up=10/hour;invite=100/day`. If Redis cannot be reached the action is allowed (and logged):
a limit protects the app, it must not take it down.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from functools import lru_cache

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from socialhub.core.config import get_settings
from socialhub.core.errors import RateLimited

log = logging.getLogger(__name__)

RATES = {
    "sign_up": "5/hour",  # per IP address
    "invite": "30/hour",  # per inviting user
    "verify_email": "5/hour",  # re-sent verification links, per user
    "connect_account": "30/hour",  # starting an OAuth or Bluesky connection, per user
    "feed_add_source": "60/hour",  # per user
    "feed_refresh": "30/hour",  # refresh-now clicks, per user
}

_WHAT = {
    "sign_up": "new accounts from this network",
    "invite": "invites",
    "verify_email": "verification e-mails",
    "connect_account": "attempts to connect an account",
    "feed_add_source": "new feed sources",
    "feed_refresh": "refreshes",
}


def _rates() -> dict[str, RateLimitItem]:
    rates = dict(RATES)
    for entry in os.environ.get("RATE_LIMITS", "").split(";"):
        action, sep, rate = entry.partition("=")
        if sep and action.strip() in rates:
            rates[action.strip()] = rate.strip()
    return {action: parse(rate) for action, rate in rates.items()}


@lru_cache(maxsize=4)
def _limiter(redis_url: str) -> tuple[MovingWindowRateLimiter, Storage]:
    storage = storage_from_string(redis_url, key_prefix="socialhub") if redis_url else MemoryStorage()
    return MovingWindowRateLimiter(storage), storage


def _namespace() -> str:
    return hashlib.sha256(os.environ.get("DATABASE_URL", "").encode()).hexdigest()[:12]


def check(action: str, key: str | int) -> None:
    """Count one `action` by `key`; raise `RateLimited` once its rate is used up."""
    rate = _rates()[action]  # an unknown action is a programming error: KeyError
    limiter, _ = _limiter(get_settings().redis_url)
    ident = (_namespace(), action, str(key)[:200])
    try:
        allowed = limiter.hit(rate, *ident)
        reset_at = None if allowed else limiter.get_window_stats(rate, *ident).reset_time
    except Exception:  # noqa: BLE001 - Redis down or unreachable: allow, but say so
        log.warning("rate limit storage unavailable; allowing %s", action, exc_info=True)
        return
    if not allowed:
        wait = max(1, int(reset_at - time.time())) if reset_at else 60
        raise RateLimited(
            f"Too many {_WHAT.get(action, action.replace('_', ' '))} for now "
            f"(at most {rate.amount} per {_per(rate)}). Try again in {_duration(wait)}."
        )


def reset() -> None:
    """Forget every count (tests, or an operator after an incident)."""
    _limiter(get_settings().redis_url)[1].reset()


def _per(rate: RateLimitItem) -> str:
    unit = rate.GRANULARITY.name
    return unit if rate.multiples == 1 else f"{rate.multiples} {unit}s"


def _duration(seconds: int) -> str:
    if seconds < 90:
        return f"{seconds} seconds"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} minutes"
    return f"{round(seconds / 3600)} hours"
