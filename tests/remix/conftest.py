"""Fixtures of the Remix tests: `shop`, a brand (team Acme, its owner) on a fresh database."""

from __future__ import annotations

import pytest

from tests.remix.support import Shop, make_shop


@pytest.fixture
def shop(database_url) -> Shop:
    return make_shop()
