"""The publishing benchmark, small: 50 posts, 2 real schedulers, one SIGKILLed mid-run."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from socialhub.core.config import ROOT


def test_bench_smoke_kill_mid_run_loses_and_doubles_nothing(pg_server, tmp_path):
    out = tmp_path / "publish.json"
    env = dict(os.environ, DATABASE_URL=pg_server, PUBLISH_CONCURRENCY="2", PUBLISH_MAX_HELD="10", PUBLISH_BATCH_SIZE="5")
    env.pop("SOCIALHUB_KEYS", None)
    result = subprocess.run(
        [sys.executable, "-m", "bench.publish", "--posts", "50", "--accounts", "3", "--schedulers", "2", "--kill",
         "--latency-ms", "100", "--lead-seconds", "4", "--timeout", "120", "--json", str(out)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert json.loads(result.stdout[result.stdout.index("{"):]) == report, "the JSON is also printed last"
    assert report["killed"] is not None and report["killed"]["records"] < 50, "killed mid-run"
    assert (report["published"], report["duplicates"], report["lost"], report["failed"]) == (50, 0, 0, 0)
    assert report["lateness_p50_s"] is not None and report["throughput_per_s"] > 0
