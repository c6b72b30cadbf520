"""Remix's scheduler jobs: thin wrappers over `generate.py`.

- `remix_generate` (every 2 seconds, in every process, local store): claim due remix jobs with
  SKIP LOCKED (including ones whose lease expired because their process died) and make them.
  Every scheduler process runs it, so remixes are made as fast as there are processes.
"""

from __future__ import annotations

from socialhub.remix import generate


def remix_generate() -> None:
    generate.run_due()


JOBS = {
    "remix_generate": (remix_generate, {"trigger": "interval", "seconds": 2}, "local"),
}
