"""Scheduler jobs: thin, named wrappers over services, one module per domain.

`JOBS` maps a job name to (function, trigger arguments, store). Jobs in the `local` store run
in every scheduler process (the heartbeat is per process); jobs in the `shared` store live in
PostgreSQL and must be safe to run concurrently (they claim work with row locks).
"""

from scheduler.jobs import feeds, publishing, system

JOBS = {
    "heartbeat": (system.heartbeat, {"trigger": "interval", "seconds": None}, "local"),
    "cleanup_expired": (system.cleanup_expired, {"trigger": "interval", "minutes": 15}, "shared"),
    "publish_due": (publishing.publish_due, {"trigger": "interval", "seconds": 1, "next_run_time": publishing.START_NOW}, "local"),
    "refresh_tokens": (publishing.refresh_tokens, {"trigger": "interval", "minutes": 1}, "shared"),
    "materialize_recurrences": (publishing.materialize_recurrences, {"trigger": "interval", "minutes": 1}, "shared"),
    "sweep_missed": (publishing.sweep_missed, {"trigger": "interval", "seconds": 15}, "shared"),
    "refresh_feeds": (feeds.refresh_feeds, {"trigger": "interval", "minutes": 1, "jitter": 10}, "shared"),
    "build_digests": (feeds.build_digests, {"trigger": "interval", "minutes": 1, "jitter": 5}, "shared"),
}
