"""Benchmarks: each module runs as one command and prints its results as JSON, last."""
