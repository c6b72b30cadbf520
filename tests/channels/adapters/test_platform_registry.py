"""The registry, and the rules every adapter follows."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from socialhub.channels.adapters import ADAPTERS, get_adapter, register_adapter
from socialhub.channels.adapters.base import PlatformAdapter
from socialhub.channels.adapters.exceptions import NotSupported
from socialhub.channels.adapters.types import AccountCredentials
from socialhub.channels.adapters.x import XAdapter

REPO = Path(__file__).resolve().parents[3]


def test_every_platform_of_the_schedule_issue_has_an_adapter():
    assert set(ADAPTERS) >= {"bluesky", "mastodon", "x", "linkedin", "threads", "instagram", "facebook"}


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_adapters_are_built_by_name_and_describe_themselves(name):
    options = {"base_url": "https://mastodon.example"} if name == "mastodon" else {}
    adapter = get_adapter(name, **options)

    assert isinstance(adapter, PlatformAdapter) and adapter.name == name
    assert adapter.display_name and adapter.max_text_length > 0
    assert adapter.count_text("abc") == 3


@pytest.mark.parametrize("name", sorted(ADAPTERS))
def test_analytics_calls_say_not_supported_until_implemented(name):
    options = {"base_url": "https://mastodon.example"} if name == "mastodon" else {}
    adapter = get_adapter(name, **options)
    account = AccountCredentials(access_token="t")

    for call in (lambda: adapter.fetch_metrics(account, ["1"]), lambda: adapter.fetch_followers(account), lambda: adapter.fetch_inbox(account)):
        with pytest.raises(NotSupported):
            call()


def test_unknown_platform_is_not_supported():
    with pytest.raises(NotSupported, match="myspace"):
        get_adapter("myspace")


def test_a_new_platform_is_one_registration_away():
    class PigeonAdapter(XAdapter):
        name = "pigeon"
        display_name = "Pigeon post"

    register_adapter("pigeon", PigeonAdapter)
    try:
        assert isinstance(get_adapter("pigeon"), PigeonAdapter)
    finally:
        ADAPTERS.pop("pigeon")


def test_the_integration_layer_imports_neither_reflex_nor_the_database():
    code = (
        "import sys, socialhub.channels.adapters as p; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('reflex', 'sqlmodel', 'sqlalchemy') or m.endswith('.models')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})

    assert result.returncode == 0, result.stdout + result.stderr
