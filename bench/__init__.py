"""Benchmarks: each module runs as one command and prints its results as JSON, last."""

import os

# Every benchmark's servers (feeds, platforms) listen on 127.0.0.1: allow the egress guard to
# reach them, as the tests do. Production never sets this.
os.environ.setdefault("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "1")
