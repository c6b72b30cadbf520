"""The publisher: publishes each due post target exactly once, on time (see `engine.py` for the
whole pipeline and who owns which status).

- `engine.py`: the loop; `Engine` (one per scheduler or publishing worker process: claiming
  rounds, claimed work held until its time, sending threads, the writer thread, the liveness
  lock) and the synchronous `publish_due` (tests, `scheduler --once`).
- `claims.py`: claiming due targets and the claims of processes that died or hung, loading a
  claimed target into a `Job`, renewing claims, when the next target is due, which claimers
  are dead (steps 1, 2 and 6).
- `sends.py`: the `publish_sends` records written before a batch is sent, and their sweep (step 3).
- `sending.py`: one attempt at one target against its platform, and its `Outcome` (step 4).
- `recording.py`: writing a batch of outcomes, retry backoff, the last attempt (step 5).
- `workers.py`: extra publishing processes beside a scheduler process, so it uses every core.
"""
