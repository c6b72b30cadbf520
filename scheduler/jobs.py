"""Every job the scheduler process runs, gathered from each package's `jobs.py`.

`JOBS` maps a job name to (function, trigger arguments, store). Jobs in the `local` store run
in every scheduler process (the heartbeat is per process, so is the publishing engine's tick);
jobs in the `shared` store live in PostgreSQL and must be safe to run concurrently (they claim
work with row locks). The scheduler owns nothing else: a product adds a job in its own `jobs.py`.
"""

from socialhub.channels import jobs as channels_jobs
from socialhub.core import jobs as core_jobs
from socialhub.feed import jobs as feed_jobs
from socialhub.identity import jobs as identity_jobs
from socialhub.remix import jobs as remix_jobs
from socialhub.schedule import jobs as schedule_jobs

JOBS = {**core_jobs.JOBS, **identity_jobs.JOBS, **channels_jobs.JOBS, **schedule_jobs.JOBS, **feed_jobs.JOBS, **remix_jobs.JOBS}
