"""Publishing settings, read from the environment each time they are asked for.

Every knob of the publishing pipeline is here (and in the README's table), so tests, the bench
and operators set the same variables. Nothing is cached: `publishing_settings()` is cheap, and
the publisher reads it once per engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _float(name: str, default: float) -> float:
    try:
        return float(_env(name, str(default)))
    except ValueError:
        return default


def _int(name: str, default: int) -> int:
    try:
        return int(_env(name, str(default)))
    except ValueError:
        return default


def _per_platform(value: str) -> dict[str, int]:
    """`"x=4,mastodon=8"` → {"x": 4, "mastodon": 8}; malformed entries are ignored."""
    out: dict[str, int] = {}
    for entry in value.split(","):
        name, _, number = entry.partition("=")
        if name.strip() and number.strip().isdigit():
            out[name.strip().lower()] = int(number)
    return out


@dataclass(frozen=True)
class PublishingSettings:
    missed_after_minutes: float  # a target this late (system down) is `missed`, not published
    max_attempts: int  # tries per target before it is `failed`
    retry_base_seconds: float  # first retry after about this long, doubling each time
    retry_max_seconds: float
    unconfirmed_check_seconds: float  # how soon an unknown outcome is checked with the platform
    claim_seconds: float  # a claim not renewed for this long is taken by another process
    batch_size: int  # targets claimed per query
    prefetch_seconds: float  # claim work due this soon, and send it at its time
    max_held: int  # targets one process may hold claimed and not yet sent
    concurrency: int  # targets published at once by one publishing engine
    processes: int  # publishing engines per scheduler process (one per core helps: see publisher/workers.py)
    platform_concurrency: dict[str, int]  # per-platform caps within `concurrency`
    recurrence_lookahead_hours: float  # create the next occurrence this long before its time

    def concurrency_for(self, platform: str) -> int:
        return max(1, min(self.concurrency, self.platform_concurrency.get(platform, self.concurrency)))


def publishing_settings() -> PublishingSettings:
    return PublishingSettings(
        missed_after_minutes=_float("PUBLISH_MISSED_AFTER_MINUTES", 15.0),
        max_attempts=max(1, _int("PUBLISH_MAX_ATTEMPTS", 5)),
        retry_base_seconds=_float("PUBLISH_RETRY_BASE_SECONDS", 10.0),
        retry_max_seconds=_float("PUBLISH_RETRY_MAX_SECONDS", 900.0),
        unconfirmed_check_seconds=_float("PUBLISH_UNCONFIRMED_CHECK_SECONDS", 5.0),
        claim_seconds=max(2.0, _float("PUBLISH_CLAIM_SECONDS", 30.0)),
        batch_size=max(1, _int("PUBLISH_BATCH_SIZE", 200)),
        prefetch_seconds=max(0.0, _float("PUBLISH_PREFETCH_SECONDS", 3.0)),
        max_held=max(1, _int("PUBLISH_MAX_HELD", 5000)),
        concurrency=max(1, _int("PUBLISH_CONCURRENCY", 8)),
        processes=max(1, _int("PUBLISH_PROCESSES", min(4, os.cpu_count() or 1))),
        platform_concurrency={"hub": 16, **_per_platform(_env("PUBLISH_PLATFORM_CONCURRENCY"))},
        recurrence_lookahead_hours=_float("RECURRENCE_LOOKAHEAD_HOURS", 24.0),
    )


# ---- platform apps (OAuth clients) and endpoint overrides -----------------------------------





