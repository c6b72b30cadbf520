"""Fixtures for the feed integration tests: a local feed server and the sample documents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.feeds import FeedServer

SAMPLES = Path(__file__).parent / "samples"


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


@pytest.fixture
def sample() -> Callable[[str], bytes]:
    """Bytes of a realistic sample document from samples/."""
    return lambda name: (SAMPLES / name).read_bytes()
