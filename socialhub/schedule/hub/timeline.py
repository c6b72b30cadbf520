"""The hub's own timeline: profiles, follows, a profile's posts and a person's home feed.

Minimal on purpose (the social issue grows it): enough for the `hub` platform account to
publish somewhere real. A user's profile is created on first use; anyone signed in can read
any profile's posts (the hub is one shared, self-hosted network).
"""

from __future__ import annotations

import re

from sqlalchemy import or_
from sqlmodel import Session, select

from socialhub.channels import accounts
from socialhub.channels.adapters import OAuthTokens
from socialhub.channels.models import PlatformAccount
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.schedule.hub.models import Follow, Profile, SocialPost
from socialhub.core.errors import NotFound, ValidationError

_HANDLE_CHARS = re.compile(r"[^a-z0-9_]+")
PAGE_SIZE = 20


def _handle_base(user: User) -> str:
    base = _HANDLE_CHARS.sub("", user.email.split("@", 1)[0].lower().replace(".", "_").replace("-", "_"))
    return (base or "user")[:30]


def get_or_create_profile(session: Session, *, user_id: int) -> Profile:
    """The user's hub profile; created with a unique handle from their e-mail on first use."""
    profile = session.exec(select(Profile).where(Profile.user_id == user_id)).first()
    if profile is not None:
        return profile
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("This person does not exist.")
    base = _handle_base(user)
    handle, n = base, 1
    while session.exec(select(Profile.id).where(Profile.handle == handle)).first() is not None:
        n += 1
        handle = f"{base}{n}"
    profile = Profile(user_id=user_id, handle=handle, display_name=user.name[:100])
    session.add(profile)
    session.flush()
    return profile


def get_profile(session: Session, *, profile_id: int) -> Profile:
    profile = session.get(Profile, profile_id)
    if profile is None:
        raise NotFound("This profile does not exist.")
    return profile


def follow(session: Session, *, user_id: int, profile_id: int) -> Follow:
    """`user_id` follows the profile (idempotent)."""
    me = get_or_create_profile(session, user_id=user_id)
    get_profile(session, profile_id=profile_id)
    if me.id == profile_id:
        raise ValidationError("You cannot follow yourself.")
    existing = session.exec(select(Follow).where(Follow.follower_id == me.id, Follow.followee_id == profile_id)).first()
    if existing is not None:
        return existing
    row = Follow(follower_id=me.id, followee_id=profile_id)
    session.add(row)
    session.flush()
    return row


def unfollow(session: Session, *, user_id: int, profile_id: int) -> None:
    me = get_or_create_profile(session, user_id=user_id)
    row = session.exec(select(Follow).where(Follow.follower_id == me.id, Follow.followee_id == profile_id)).first()
    if row is not None:
        session.delete(row)


def follower_user_ids(session: Session, *, profile_id: int) -> list[int]:
    """Users who follow the profile (for live updates of their home feeds)."""
    stmt = (
        select(Profile.user_id)
        .join(Follow, Follow.follower_id == Profile.id)
        .where(Follow.followee_id == profile_id, Profile.user_id.is_not(None))
    )
    return [uid for uid in session.exec(stmt)]


def list_profile_posts(session: Session, *, profile_id: int, before_id: int | None = None, limit: int = PAGE_SIZE) -> list[SocialPost]:
    """The profile's posts, newest first; pass the last id as `before_id` for the next page."""
    stmt = select(SocialPost).where(SocialPost.profile_id == profile_id)
    if before_id is not None:
        stmt = stmt.where(SocialPost.id < before_id)
    return list(session.exec(stmt.order_by(SocialPost.id.desc()).limit(min(limit, 100))))


def home_feed(session: Session, *, user_id: int, before_id: int | None = None, limit: int = PAGE_SIZE) -> list[SocialPost]:
    """Posts of the profiles the user follows, and their own, newest first."""
    me = get_or_create_profile(session, user_id=user_id)
    followed = select(Follow.followee_id).where(Follow.follower_id == me.id)
    stmt = select(SocialPost).where(or_(SocialPost.profile_id == me.id, SocialPost.profile_id.in_(followed)))
    if before_id is not None:
        stmt = stmt.where(SocialPost.id < before_id)
    return list(session.exec(stmt.order_by(SocialPost.id.desc()).limit(min(limit, 100))))


def connect_hub_account(session: Session, *, team_id: int, actor_id: int) -> PlatformAccount:
    """Connect the actor's own SocialHub profile to the team (works offline; the default target)."""
    profile = get_or_create_profile(session, user_id=actor_id)
    tokens = OAuthTokens(access_token="", account_id=str(profile.id), handle=profile.handle)
    return accounts.connect_account(session, team_id=team_id, actor_id=actor_id, platform=accounts.HUB_PLATFORM, tokens=tokens,
                           display_name=profile.display_name)


def default_account_ids(session: Session, *, team_id: int, actor_id: int) -> list[int]:
    """The composer's default targets: the team's hub accounts, connecting the actor's if there is none."""
    ids = list(session.exec(select(PlatformAccount.id).where(
        PlatformAccount.team_id == team_id, PlatformAccount.platform == accounts.HUB_PLATFORM,
        PlatformAccount.status == "ok").order_by(PlatformAccount.id)))
    if ids:
        return ids[:1]
    role = teams.get_role(session, team_id=team_id, user_id=actor_id)
    if role is not None and teams.role_at_least(role, "admin"):
        return [connect_hub_account(session, team_id=team_id, actor_id=actor_id).id]
    return []
