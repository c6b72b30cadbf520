"""Shared helpers for the publishing tests (no tests here): people in every role, connected
accounts on the fake platform servers, and posts that are due now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from sqlmodel import select

from socialhub.channels.adapters import OAuthTokens
from socialhub.core.models import utcnow
from socialhub.identity.models import Team, TeamMember, User
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostTarget
from socialhub.identity import users
from socialhub.channels import accounts as platform_accounts, connect
from socialhub.schedule.hub import timeline
from socialhub.schedule import posts

PASSWORD = "correct horse battery"


def make_user(session, name: str, timezone: str = "UTC") -> User:
    user = users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD, timezone=timezone)
    session.commit()
    return user


@dataclass
class Crew:
    team: Team
    owner: User
    admin: User
    editor: User
    viewer: User


def make_crew(session, team_name: str = "Studio", prefix: str = "") -> Crew:
    people = {role: make_user(session, f"{prefix}{role.title()}") for role in ("owner", "admin", "editor", "viewer")}
    team = Team(name=team_name)
    session.add(team)
    session.flush()
    for role, user in people.items():
        session.add(TeamMember(team_id=team.id, user_id=user.id, role=role))
    session.commit()
    return Crew(team, people["owner"], people["admin"], people["editor"], people["viewer"])


@pytest.fixture
def crew(session) -> Crew:
    return make_crew(session)


@pytest.fixture(autouse=True)
def fast_publishing(monkeypatch):
    """Immediate retries and short HTTP timeouts (shorter than the fakes' 1.5 s "timeout")."""
    monkeypatch.setenv("PUBLISH_RETRY_BASE_SECONDS", "0")
    monkeypatch.setenv("PUBLISH_UNCONFIRMED_CHECK_SECONDS", "0")
    monkeypatch.setenv("PUBLISH_HTTP_TIMEOUT_SECONDS", "0.5")
    platform_accounts.close_http_client()
    yield
    platform_accounts.close_http_client()


def hub_account(session, crew: Crew) -> PlatformAccount:
    account = timeline.connect_hub_account(session, team_id=crew.team.id, actor_id=crew.owner.id)
    session.commit()
    return account


def bluesky_account(session, crew: Crew, server) -> PlatformAccount:
    account = connect.connect_bluesky(session, team_id=crew.team.id, actor_id=crew.owner.id,
                                                 identifier="alice.test", app_password="app-pass-1234", service_url=server.url)
    session.commit()
    return account


def mastodon_account(session, crew: Crew, server) -> PlatformAccount:
    tokens = OAuthTokens(access_token=server.issue_token(), account_id=server.account["id"], handle="alice", base_url=server.url)
    account = platform_accounts.connect_account(session, team_id=crew.team.id, actor_id=crew.owner.id, platform="mastodon",
                                                tokens=tokens, base_url=server.url)
    session.commit()
    return account


def x_account(session, crew: Crew, server, monkeypatch, *, expires_in: float = 7200) -> PlatformAccount:
    monkeypatch.setenv("X_API_URL", server.url)
    monkeypatch.setenv("X_CLIENT_ID", server.client_id)
    tokens = OAuthTokens(access_token=server.issue_token(), refresh_token=server.issue_refresh_token(),
                         expires_at=utcnow() + timedelta(seconds=expires_in), account_id=server.user["id"], handle="alice")
    account = platform_accounts.connect_account(session, team_id=crew.team.id, actor_id=crew.owner.id, platform="x", tokens=tokens)
    session.commit()
    return account


def due_post(session, crew: Crew, accounts_: list[PlatformAccount], text: str = "Hello from SocialHub",
             *, seconds_ago: float = 1.0, **kwargs) -> Post:
    """A scheduled post whose time has just come (arranged directly, as if scheduled earlier)."""
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=text,
                                  account_ids=[a.id for a in accounts_], **kwargs)
    at = utcnow() - timedelta(seconds=seconds_ago)
    post.status, post.scheduled_at = "scheduled", at
    for target in session.exec(select(PostTarget).where(PostTarget.post_id == post.id)):
        target.status, target.scheduled_at, target.due_at = "pending", at, at
        session.add(target)
    session.add(post)
    session.commit()
    return post


def targets_of(session, post: Post) -> list[PostTarget]:
    session.expire_all()
    return list(session.exec(select(PostTarget).where(PostTarget.post_id == post.id).order_by(PostTarget.id)))


def status_of(session, post: Post) -> str:
    session.expire_all()
    return session.get(Post, post.id).status
