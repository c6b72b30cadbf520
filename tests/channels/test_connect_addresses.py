"""Server-side request forgery through the addresses a person or a platform names: a Mastodon
instance address, or the PDS a Bluesky login answer names. Every adapter request goes through
the egress client, so a private, local or reserved address is refused with its one message, the
person sees it, and nothing is stored."""

from __future__ import annotations

import pytest
from sqlmodel import select

from socialhub.channels import connect
from socialhub.channels.adapters import PlatformError
from socialhub.channels.adapters.bluesky import BlueskyAdapter
from socialhub.channels.adapters.http import REFUSED_CODE
from socialhub.channels.adapters.mastodon import MastodonAdapter
from socialhub.channels.models import OAuthState, PlatformAccount, PlatformApp
from socialhub.core import egress
from socialhub.core.errors import ValidationError
from tests.fakes.platforms.bluesky import FakeBlueskyServer
from tests.schedule import support

crew = support.crew  # the fixture

PRIVATE = ["127.0.0.1", "169.254.169.254", "2130706433", "2852039166", "10.0.0.7", "[::1]"]  # 2130706433 = 127.0.0.1


@pytest.fixture
def guarded(monkeypatch):
    """The egress guard as in production: no private network allowed."""
    monkeypatch.delenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", raising=False)


@pytest.mark.parametrize("host", PRIVATE)
def test_a_mastodon_instance_at_a_private_address_is_refused_and_nothing_is_stored(session, crew, guarded, host):
    with pytest.raises(ValidationError) as refused:
        connect.start_connect(session, team_id=crew.team.id, actor_id=crew.owner.id, platform="mastodon",
                              instance=f"https://{host}")

    assert egress.REFUSED in str(refused.value)
    assert str(refused.value).startswith("Could not register SocialHub with https://")
    session.rollback()
    assert session.exec(select(PlatformApp)).all() == []
    assert session.exec(select(OAuthState)).all() == []


@pytest.mark.parametrize("host", ["127.0.0.1", "169.254.169.254", "2852039166"])
def test_adapter_requests_to_a_private_instance_are_refused_not_retried(guarded, host):
    adapter = MastodonAdapter(base_url=f"https://{host}")
    with pytest.raises(PlatformError) as refused:
        adapter.fetch_instance_limits()
    adapter.close()

    assert refused.value.message == egress.REFUSED and refused.value.code == REFUSED_CODE
    assert not refused.value.retryable, "a refused address does not become reachable by trying again"


@pytest.fixture
def login_server(monkeypatch):
    """A Bluesky login server on 127.0.0.2, the only private address the guard lets through."""
    server = FakeBlueskyServer()
    server.host = "127.0.0.2"
    with server:
        monkeypatch.setenv("SOCIALHUB_ALLOW_PRIVATE_NETWORKS", "127.0.0.2/32")
        monkeypatch.setenv("BLUESKY_API_URL", server.url)
        yield server


@pytest.mark.parametrize("pds", ["http://127.0.0.1:2583", "http://169.254.169.254", "https://2852039166",
                                 "http://[::ffff:169.254.169.254]", "https://10.1.2.3"])
def test_a_bluesky_login_naming_a_private_pds_is_refused_and_nothing_is_stored(session, crew, login_server, pds):
    login_server.pds_url = pds

    with pytest.raises(ValidationError) as refused:
        connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                identifier="alice.test", app_password="app-pass-1234")

    assert str(refused.value) == f"Your Bluesky server cannot be used: {egress.REFUSED}"
    assert login_server.received(path="createSession"), "the login server was asked"
    session.rollback()
    assert session.exec(select(PlatformAccount)).all() == []


def test_a_bluesky_login_naming_a_reachable_pds_checks_it_and_stores_it(session, crew, login_server):
    pds = FakeBlueskyServer()
    pds.host = "127.0.0.2"
    with pds:
        pds.access_tokens = login_server.access_tokens  # one account system behind both, as on bsky.social
        login_server.pds_url = pds.url
        account = connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                          identifier="alice.test", app_password="app-pass-1234")
        assert pds.received("GET", "getSession")
        assert account.base_url == pds.url


def test_a_pds_that_is_not_a_web_address_is_refused(login_server):
    login_server.pds_url = "file:///etc/passwd"
    adapter = BlueskyAdapter(base_url=login_server.url)
    with pytest.raises(PlatformError, match="not a web address"):
        adapter.create_session("alice.test", "app-pass-1234")
    adapter.close()
