"""Scheduler jobs: thin, named wrappers over services, one module per domain.

`JOBS` maps a job name to (function, trigger arguments, store). Jobs in the `local` store run
in every scheduler process (the heartbeat is per process); jobs in the `shared` store live in
PostgreSQL and must be safe to run concurrently (they claim work with row locks).
"""

from scheduler.jobs import system

JOBS = {
    "heartbeat": (system.heartbeat, {"trigger": "interval", "seconds": None}, "local"),
    "cleanup_expired": (system.cleanup_expired, {"trigger": "interval", "minutes": 15}, "shared"),
}
