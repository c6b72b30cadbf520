"""Fixtures for the platform adapter tests: one started fake per platform, a short-timeout egress client."""

from __future__ import annotations

import socket
from typing import Iterator

import httpx
import pytest

from socialhub.core import egress

from tests.fakes.platforms.bluesky import FakeBlueskyServer
from tests.fakes.platforms.facebook import FakeFacebookServer
from tests.fakes.platforms.instagram import FakeInstagramServer
from tests.fakes.platforms.linkedin import FakeLinkedInServer
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.fakes.platforms.threads import FakeThreadsServer
from tests.fakes.platforms.x import FakeXServer

# Shorter than the fakes' `timeout_delay` (1.5 s) so "timeout" failures really time out.
CLIENT_TIMEOUT_SECONDS = 0.5


@pytest.fixture
def http_client() -> Iterator[httpx.Client]:
    """The egress client, as the adapters get it in production."""
    with egress.client(timeout=httpx.Timeout(CLIENT_TIMEOUT_SECONDS)) as client:
        yield client


@pytest.fixture
def closed_port_url() -> str:
    """A local URL nothing listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def bluesky_server() -> Iterator[FakeBlueskyServer]:
    with FakeBlueskyServer() as server:
        yield server


@pytest.fixture
def mastodon_server() -> Iterator[FakeMastodonServer]:
    with FakeMastodonServer() as server:
        yield server


@pytest.fixture
def x_server() -> Iterator[FakeXServer]:
    with FakeXServer() as server:
        yield server


@pytest.fixture
def linkedin_server() -> Iterator[FakeLinkedInServer]:
    with FakeLinkedInServer() as server:
        yield server


@pytest.fixture
def threads_server() -> Iterator[FakeThreadsServer]:
    with FakeThreadsServer() as server:
        yield server


@pytest.fixture
def instagram_server() -> Iterator[FakeInstagramServer]:
    with FakeInstagramServer() as server:
        yield server


@pytest.fixture
def facebook_server() -> Iterator[FakeFacebookServer]:
    with FakeFacebookServer() as server:
        yield server
