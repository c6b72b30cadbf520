"""core.ratelimit: counts per action and key, a clear message, memory or Redis storage."""

from __future__ import annotations

import os

import pytest

from socialhub.core import config, ratelimit
from socialhub.core.errors import RateLimited


@pytest.fixture(params=["memory", "redis"])
def storage(request, monkeypatch):
    if request.param == "redis":
        url = os.environ.get("REDIS_URL") or os.environ.get("REFLEX_REDIS_URL")
        if not url:
            pytest.skip("REDIS_URL is not set")
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
        monkeypatch.delenv("REFLEX_REDIS_URL", raising=False)
    # A database of its own: counters are namespaced by DATABASE_URL.
    monkeypatch.setenv("DATABASE_URL", f"postgresql://nowhere/ratelimit-{request.node.name}-{os.getpid()}")
    config.get_settings.cache_clear()
    ratelimit.reset()
    yield request.param
    ratelimit.reset()
    config.get_settings.cache_clear()


def test_the_rate_is_counted_per_action_and_key_with_a_clear_message(storage, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "invite=3/hour")
    for _ in range(3):
        ratelimit.check("invite", 7)
    with pytest.raises(RateLimited) as refused:
        ratelimit.check("invite", 7)
    assert "Too many invites for now (at most 3 per hour). Try again in" in str(refused.value)
    ratelimit.check("invite", 8)  # another user is not affected
    ratelimit.check("sign_up", 7)  # nor another action


def test_installations_sharing_storage_do_not_share_counts(storage, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "sign_up=1/hour")
    ratelimit.check("sign_up", "192.0.2.1")
    with pytest.raises(RateLimited):
        ratelimit.check("sign_up", "192.0.2.1")
    monkeypatch.setenv("DATABASE_URL", os.environ["DATABASE_URL"] + "-other")
    ratelimit.check("sign_up", "192.0.2.1")


def test_unreachable_redis_allows_the_action(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    monkeypatch.setenv("RATE_LIMITS", "invite=1/hour")
    config.get_settings.cache_clear()
    try:
        ratelimit.check("invite", 1)
        ratelimit.check("invite", 1)
    finally:
        config.get_settings.cache_clear()


def test_every_rate_parses():
    assert set(ratelimit._rates()) == set(ratelimit.RATES)
