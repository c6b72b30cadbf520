"""Feed jobs: fetch due sources, and build each reader's digest at their digest time.

Both are safe in several scheduler processes at once: sources are claimed with
`FOR UPDATE SKIP LOCKED` and a lease, due readers with `FOR UPDATE SKIP LOCKED` and their next
digest time moved in the same transaction (`refresh.py`, `digests.py`).
"""

from __future__ import annotations

import logging

from socialhub.feed import digests, refresh

log = logging.getLogger(__name__)

REFRESH_BUDGET_S = 50.0  # the job runs every minute; leave room so runs do not pile up


def refresh_feeds() -> None:
    report = refresh.refresh_due_sources(time_budget_s=REFRESH_BUDGET_S)
    if report.sources:
        log.info("feeds: %d sources, %d new items, %d not modified, %d failed", report.sources,
                 report.items_new, report.not_modified, report.failed)


def build_digests() -> None:
    built = digests.build_due_digests()
    if built:
        log.info("digests: built %d", len(built))


JOBS = {
    "refresh_feeds": (refresh_feeds, {"trigger": "interval", "minutes": 1, "jitter": 10}, "shared"),
    "build_digests": (build_digests, {"trigger": "interval", "minutes": 1, "jitter": 5}, "shared"),
}
