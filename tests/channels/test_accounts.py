"""Connecting accounts (OAuth routes, PKCE, per-instance app registration, Bluesky app
passwords), tokens at rest, refresh one at a time, and needs-reconnect."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from socialhub.core import crypto
from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.identity.models import Notification
from socialhub.channels.models import OAuthState, PlatformAccount, PlatformApp
from socialhub.identity import users
from socialhub.channels import accounts as platform_accounts, connect
from socialhub.core.errors import PermissionDenied, ValidationError
from socialhub.identity.cookie import COOKIE_NAME
from tests.fakes.platforms.bluesky import FakeBlueskyServer
from tests.fakes.platforms.facebook import FakeFacebookServer
from tests.fakes.platforms.linkedin import FakeLinkedInServer
from tests.fakes.platforms.mastodon import FakeMastodonServer
from tests.fakes.platforms.threads import FakeThreadsServer
from tests.fakes.platforms.x import FakeXServer
from tests.schedule import support
from tests.schedule.support import (  # noqa: F401  (fixtures)
    due_post,
    fast_publishing,
    hub_account,
    targets_of,
    x_account,
)

crew = support.crew  # the fixture


def browser_of(user_id: int) -> TestClient:
    from socialhub.api import build_api

    with session_scope() as s:
        token, _ = users.redeem_login_ticket(s, ticket=users.create_login_ticket(s, user_id=user_id))
    client = TestClient(build_api(), follow_redirects=False)
    client.cookies.set(COOKIE_NAME, token)
    return client


def query(url: str) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(url).query).items()}


def only_account(session, platform: str) -> PlatformAccount:
    session.expire_all()
    return session.exec(select(PlatformAccount).where(PlatformAccount.platform == platform)).one()


def test_mastodon_connects_through_oauth_with_one_app_per_instance(session, crew):
    with FakeMastodonServer(max_characters=777) as server:
        browser = browser_of(crew.owner.id)
        start = browser.get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}")
        assert start.status_code == 303 and start.headers["location"].startswith(f"{server.url}/oauth/authorize?")
        params = query(start.headers["location"])
        assert params["redirect_uri"] == "http://localhost:3000/oauth/mastodon/callback" and params["code_challenge_method"] == "S256"
        code = server.issue_code(params["client_id"], params["redirect_uri"])
        done = browser.get(f"/oauth/mastodon/callback?code={code}&state={params['state']}")
        assert done.status_code == 303 and done.headers["location"].startswith("/settings?connected=mastodon")
        # A second connection start reuses the app registered on that instance.
        browser.get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}")
        assert len(server.received("POST", r"/api/v1/apps")) == 1
        token = next(iter(server.tokens))
        account = only_account(session, "mastodon")
        assert (account.handle, account.external_id, account.base_url) == ("alice", server.account["id"], server.url)
    assert token not in account.access_token_ciphertext, "stored encrypted"
    assert platform_accounts.credentials_for(account).access_token == token
    assert platform_accounts.limits_for(account).max_text_length == 777, "the instance's own limit is kept"
    app = session.exec(select(PlatformApp)).one()
    assert app.client_secret_ciphertext and "secret" not in app.client_secret_ciphertext


def test_an_oauth_state_works_once_only_for_the_user_who_started_it(session, crew):
    with FakeMastodonServer() as server:
        owner, admin = browser_of(crew.owner.id), browser_of(crew.admin.id)
        params = query(owner.get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}").headers["location"])
        code = server.issue_code(params["client_id"], params["redirect_uri"])
        stolen = admin.get(f"/oauth/mastodon/callback?code={code}&state={params['state']}")
        assert "connect_error" in stolen.headers["location"] and "someone+else" in stolen.headers["location"]
        assert session.exec(select(PlatformAccount).where(PlatformAccount.platform == "mastodon")).first() is None
        first = owner.get(f"/oauth/mastodon/callback?code={code}&state={params['state']}")
        assert "connected=mastodon" in first.headers["location"], "someone else's attempt does not burn the state"
        replay = owner.get(f"/oauth/mastodon/callback?code={code}&state={params['state']}")
        assert "expired+or+was+already+used" in replay.headers["location"], "a state works once"
        params = query(owner.get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}").headers["location"])
        denied = owner.get(f"/oauth/mastodon/callback?error=access_denied&error_description=The+user+said+no&state={params['state']}")
        assert "The+user+said+no" in denied.headers["location"]
        assert session.exec(select(OAuthState)).all() == []


def test_only_admins_and_owners_start_a_connection(session, crew):
    with FakeMastodonServer() as server:
        answer = browser_of(crew.editor.id).get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}")
        assert "connect_error" in answer.headers["location"] and "admin" in answer.headers["location"]
    signed_out = TestClient(__import__("socialhub.api", fromlist=["build_api"]).build_api(), follow_redirects=False)
    assert signed_out.get("/oauth/x/start").headers["location"].startswith("/signin")


@pytest.mark.parametrize("value, expected", [
    ("mastodon.social", "https://mastodon.social"),
    ("https://Mastodon.Social/", "https://mastodon.social"),
    ("@me@fosstodon.org", "https://fosstodon.org"),
    ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
])
def test_instance_addresses_are_normalised(value, expected):
    assert connect.normalize_instance(value) == expected


@pytest.mark.parametrize("value", ["http://evil.example", "https://user:pw@host.example", "https://host.example/path",
                                   "javascript:alert(1)", "https://host.example/?q=1", ""])
def test_strange_instance_addresses_are_refused(value):
    with pytest.raises(ValidationError):
        connect.normalize_instance(value)


def test_x_connects_with_pkce(session, crew, monkeypatch):
    with FakeXServer() as server:
        monkeypatch.setenv("X_CLIENT_ID", server.client_id)
        monkeypatch.setenv("X_API_URL", server.url)
        monkeypatch.setenv("X_AUTHORIZE_URL", f"{server.url}/i/oauth2/authorize")
        browser = browser_of(crew.owner.id)
        params = query(browser.get(f"/oauth/x/start?team_id={crew.team.id}").headers["location"])
        assert params["code_challenge_method"] == "S256" and "offline.access" in params["scope"]
        code = server.issue_code(params["redirect_uri"], params["code_challenge"])
        assert "connected=x" in browser.get(f"/oauth/x/callback?code={code}&state={params['state']}").headers["location"]
        account = only_account(session, "x")
        assert account.external_id == server.user["id"] and account.token_expires_at > utcnow()
        assert platform_accounts.credentials_for(account).refresh_token in server.refresh_tokens


def test_x_without_an_app_says_which_settings_are_missing(session, crew, monkeypatch):
    monkeypatch.delenv("X_CLIENT_ID", raising=False)
    with pytest.raises(ValidationError, match="X_CLIENT_ID"):
        connect.start_connect(session, team_id=crew.team.id, actor_id=crew.owner.id, platform="x")


def test_linkedin_and_threads_connect_through_their_callbacks(session, crew, monkeypatch):
    with FakeLinkedInServer() as linkedin, FakeThreadsServer() as threads:
        for name, server in (("LINKEDIN", linkedin), ("THREADS", threads)):
            monkeypatch.setenv(f"{name}_CLIENT_ID", server.client_id)
            monkeypatch.setenv(f"{name}_CLIENT_SECRET", server.client_secret)
            monkeypatch.setenv(f"{name}_API_URL", server.url)
        monkeypatch.setenv("LINKEDIN_OAUTH_URL", linkedin.url)
        browser = browser_of(crew.owner.id)
        for platform, server in (("linkedin", linkedin), ("threads", threads)):
            params = query(browser.get(f"/oauth/{platform}/start?team_id={crew.team.id}").headers["location"])
            code = server.issue_code(params["redirect_uri"])
            answer = browser.get(f"/oauth/{platform}/callback?code={code}&state={params['state']}")
            assert f"connected={platform}" in answer.headers["location"], answer.headers["location"]
    assert only_account(session, "linkedin").external_id == linkedin.member_urn
    assert only_account(session, "threads").external_id == threads.user_id


def test_a_facebook_login_connects_every_page_it_manages(session, crew, monkeypatch):
    with FakeFacebookServer() as server:
        monkeypatch.setenv("FACEBOOK_CLIENT_ID", server.client_id)
        monkeypatch.setenv("FACEBOOK_CLIENT_SECRET", server.client_secret)
        monkeypatch.setenv("FACEBOOK_API_URL", server.url)
        monkeypatch.setenv("FACEBOOK_WEB_URL", server.url)
        pending = connect.PendingConnect(crew.team.id, crew.owner.id, "facebook", "",
                                                    "http://localhost:3000/oauth/facebook/callback", None)
        connected = connect.complete_connect(session, pending=pending, code=server.issue_code(pending.redirect_uri))
        session.commit()
    assert connected and all(a.platform == "facebook" for a in connected)
    creds = platform_accounts.credentials_for(connected[0])
    assert creds.access_token in server.page_tokens and creds.refresh_token in server.user_tokens


def test_bluesky_logs_in_with_an_app_password_kept_encrypted(session, crew):
    with FakeBlueskyServer() as server:
        with pytest.raises(ValidationError, match="Bluesky refused"):
            connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                               identifier="alice.test", app_password="wrong", service_url=server.url)
        account = connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                                     identifier="@alice.test", app_password="app-pass-1234", service_url=server.url)
        session.commit()
    assert (account.external_id, account.handle) == ("did:plc:alice", "alice.test")
    assert "app-pass-1234" not in account.secrets_ciphertext
    creds = platform_accounts.credentials_for(account)
    assert creds.extra["app_password"] == "app-pass-1234" and creds.expires_at > utcnow()
    with pytest.raises(PermissionDenied):
        connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.editor.id,
                                           identifier="alice.test", app_password="app-pass-1234")


def test_a_token_copied_to_another_account_does_not_decrypt(session, crew):
    with FakeBlueskyServer() as server:
        first = connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                                   identifier="alice.test", app_password="app-pass-1234", service_url=server.url)
    second = hub_account(session, crew)
    second.access_token_ciphertext = first.access_token_ciphertext
    with pytest.raises(crypto.DecryptionError):
        platform_accounts.credentials_for(second)
    session.rollback()


def test_tokens_about_to_expire_are_refreshed_by_the_job(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch, expires_in=300)  # expires in 5 minutes
        assert platform_accounts.refresh_expiring_tokens() == 1
        assert len(server.received("POST", r"/2/oauth2/token")) == 1
        session.expire_all()
        assert session.get(PlatformAccount, account.id).token_expires_at > utcnow() + timedelta(hours=1)
        assert platform_accounts.refresh_expiring_tokens() == 0, "nothing is due any more"


def test_concurrent_refreshes_of_one_account_make_one_platform_call(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
        refused = platform_accounts.credentials_for(account).access_token
        results, barrier = [], threading.Barrier(4)

        def refresh():
            barrier.wait()
            results.append(platform_accounts.refresh_account_token(account_id=account.id, failed_access_token=refused).access_token)

        threads = [threading.Thread(target=refresh) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(server.received("POST", r"/2/oauth2/token")) == 1, "one refresh per account at a time"
        assert len(set(results)) == 1 and results[0] != refused


def test_a_refresh_the_platform_refuses_pauses_the_accounts_posts(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch, expires_in=60)
        post = due_post(session, crew, [account], seconds_ago=-3600)
        server.refresh_tokens.clear()
        assert platform_accounts.refresh_expiring_tokens() == 0
    session.expire_all()
    assert session.get(PlatformAccount, account.id).status == "needs_reconnect"
    assert [t.status for t in targets_of(session, post)] == ["paused"]
    assert session.exec(select(Notification).where(Notification.kind == "account_reconnect")).all()


def test_disconnecting_forgets_tokens_and_cancels_what_waited(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
        post = due_post(session, crew, [account], seconds_ago=-3600)
        platform_accounts.disconnect_account(session, team_id=crew.team.id, actor_id=crew.admin.id, account_id=account.id)
        session.commit()
    session.expire_all()
    stored = session.get(PlatformAccount, account.id)
    assert stored.status == "disconnected" and stored.access_token_ciphertext == "" and stored.refresh_token_ciphertext == ""
    assert [t.status for t in targets_of(session, post)] == ["cancelled"]
    assert account.id not in [a.id for a in platform_accounts.list_accounts(session, team_id=crew.team.id, user_id=crew.viewer.id)]


def test_stored_tokens_are_reencrypted_with_a_new_key(session, crew, monkeypatch):
    with FakeXServer() as server:
        account = x_account(session, crew, server, monkeypatch)
    before = platform_accounts.credentials_for(account).access_token
    crypto.rotate_key_file()
    assert platform_accounts.reencrypt_tokens(session) == 2  # access and refresh token
    session.commit()
    session.expire_all()
    stored = session.get(PlatformAccount, account.id)
    assert not crypto.needs_reencrypt(stored.access_token_ciphertext)
    assert platform_accounts.credentials_for(stored).access_token == before


def test_oauth_start_and_callback_hold_no_transaction_open_while_the_platform_answers(session, crew, database_url):
    import threading as _threading
    import time

    import psycopg

    from socialhub.core import db

    def idle_in_transaction() -> int:
        with psycopg.connect(db.libpq_url(database_url), autocommit=True) as conn:
            return conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                "AND state LIKE 'idle in transaction%'").fetchone()[0]

    def while_slow(server, path: str, call) -> tuple[int, object]:
        """Run `call` in a thread; once the slow endpoint has the request, count open transactions."""
        before = len(server.received(path=path))
        answer: list = []
        worker = _threading.Thread(target=lambda: answer.append(call()))
        worker.start()
        deadline = time.monotonic() + 10
        while len(server.received(path=path)) == before and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.1)
        count = idle_in_transaction()
        worker.join(timeout=20)
        return count, answer[0]

    session.commit()
    session.close()
    with FakeMastodonServer() as server:
        server.slow_down(r"/api/v1/apps", 0.35)  # under the tests' 0.5 s client timeout
        server.slow_down(r"/oauth/token", 0.35)
        browser = browser_of(crew.owner.id)
        open_during_registration, start = while_slow(
            server, r"/api/v1/apps", lambda: browser.get(f"/oauth/mastodon/start?team_id={crew.team.id}&instance={server.url}"))
        assert start.status_code == 303 and start.headers["location"].startswith(f"{server.url}/oauth/authorize?")
        params = query(start.headers["location"])
        code = server.issue_code(params["client_id"], params["redirect_uri"])
        open_during_exchange, done = while_slow(
            server, r"/oauth/token", lambda: browser.get(f"/oauth/mastodon/callback?code={code}&state={params['state']}"))
        assert done.headers["location"].startswith("/settings?connected=mastodon"), done.headers["location"]
    assert (open_during_registration, open_during_exchange) == (0, 0), "no transaction open while the platform answers"
    assert only_account(session, "mastodon").handle == "alice"
