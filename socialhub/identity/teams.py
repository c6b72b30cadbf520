"""Teams, members, roles and invites. Every write checks the actor's role here, not in pages.

Roles, strongest first: owner > admin > editor > viewer. Owners and admins manage members;
only an owner can make or unmake an owner; a team always keeps at least one owner (changes to
roles and members lock the team's member rows first, so two at once cannot both remove the last
owner but one).

Invites go to an e-mail address and are accepted only by a user who verified that address; an
unverified account holding the address gets no notification with the link.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, select

from socialhub.core.config import get_settings
from socialhub.core.models import utcnow
from socialhub.identity.models import Invite, ROLES, Team, TeamMember, User
from socialhub.core import outbox, ratelimit
from socialhub.identity import notifications
from socialhub.identity.addresses import normalize_email
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from socialhub.core.secrets import hash_token, new_token

INVITE_DAYS = 7
_RANK = {role: rank for rank, role in enumerate(reversed(ROLES))}  # viewer 0 … owner 3


@dataclass(frozen=True)
class MemberView:
    user_id: int
    name: str
    email: str
    role: str


def role_at_least(role: str, minimum: str) -> bool:
    return _RANK.get(role, -1) >= _RANK[minimum]


def get_role(session: Session, *, team_id: int, user_id: int) -> str | None:
    return session.exec(
        select(TeamMember.role).where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
    ).first()


def require_role(session: Session, *, team_id: int, user_id: int, minimum: str) -> str:
    """Return the user's role in the team, or refuse if it is weaker than `minimum`."""
    role = get_role(session, team_id=team_id, user_id=user_id)
    if role is None:
        raise NotFound("This team does not exist or you are not a member of it.")
    if not role_at_least(role, minimum):
        raise PermissionDenied(f"Only a team {minimum} or higher can do this; you are a {role}.")
    return role


def list_teams(session: Session, *, user_id: int) -> list[tuple[Team, str]]:
    stmt = (
        select(Team, TeamMember.role)
        .join(TeamMember, TeamMember.team_id == Team.id)
        .where(TeamMember.user_id == user_id)
        .order_by(Team.personal_owner_id.is_(None), Team.name)
    )
    return [(team, role) for team, role in session.exec(stmt)]


def get_team(session: Session, *, team_id: int, user_id: int) -> Team:
    require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    return session.get(Team, team_id)


def switch_team(session: Session, *, user_id: int, team_id: int) -> Team:
    team = get_team(session, team_id=team_id, user_id=user_id)
    user = session.get(User, user_id)
    user.active_team_id = team_id
    session.add(user)
    return team


def active_team_id(session: Session, *, user: User) -> int:
    """The team the user works in; falls back to any team they belong to."""
    if user.active_team_id and get_role(session, team_id=user.active_team_id, user_id=user.id):
        return user.active_team_id
    teams = list_teams(session, user_id=user.id)
    if not teams:
        raise NotFound("You are not a member of any team.")
    user.active_team_id = teams[0][0].id
    session.add(user)
    return user.active_team_id


def rename_team(session: Session, *, team_id: int, actor_id: int, name: str) -> Team:
    require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 100:
        raise ValidationError("A team name needs 1 to 100 characters.")
    if "\x00" in name:  # PostgreSQL text cannot hold NUL
        raise ValidationError("The team name contains an invisible control character. Remove it and try again.")
    team = session.get(Team, team_id)
    team.name = name
    session.add(team)
    return team


def list_members(session: Session, *, team_id: int, user_id: int) -> list[MemberView]:
    require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    stmt = (
        select(TeamMember.user_id, User.name, User.email, TeamMember.role)
        .join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id)
        .order_by(TeamMember.created_at)
    )
    return [MemberView(*row) for row in session.exec(stmt)]


def _check_assignable(actor_role: str, role: str) -> None:
    if role not in ROLES:
        raise ValidationError("Choose owner, admin, editor or viewer.")
    if role == "owner" and actor_role != "owner":
        raise PermissionDenied("Only an owner can make someone an owner.")


def _owner_count(session: Session, team_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(TeamMember).where(TeamMember.team_id == team_id, TeamMember.role == "owner")
    ).one()


def _lock_members(session: Session, team_id: int) -> None:
    """Lock the team's member rows until commit: role and membership changes then run one at a
    time per team, and each counts owners after the one before it committed."""
    session.exec(select(TeamMember.id).where(TeamMember.team_id == team_id).with_for_update()).all()


def change_role(session: Session, *, team_id: int, actor_id: int, member_user_id: int, role: str) -> None:
    _lock_members(session, team_id)
    actor_role = require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    _check_assignable(actor_role, role)
    member = session.exec(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == member_user_id)
    ).first()
    if member is None:
        raise NotFound("That person is not in this team.")
    if member.role == "owner" and actor_role != "owner":
        raise PermissionDenied("Only an owner can change an owner's role.")
    if member.role == "owner" and role != "owner" and _owner_count(session, team_id) <= 1:
        raise ValidationError("A team needs at least one owner. Make someone else an owner first.")
    member.role = role
    session.add(member)


def remove_member(session: Session, *, team_id: int, actor_id: int, member_user_id: int) -> None:
    """Remove a member; anyone may leave a team themselves."""
    _lock_members(session, team_id)
    if actor_id != member_user_id:
        actor_role = require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    member = session.exec(
        select(TeamMember).where(TeamMember.team_id == team_id, TeamMember.user_id == member_user_id)
    ).first()
    if member is None:
        raise NotFound("That person is not in this team.")
    if actor_id != member_user_id and member.role == "owner" and actor_role != "owner":
        raise PermissionDenied("Only an owner can remove an owner.")
    # Checked before the owner count: "make someone else an owner first" would be bad advice here.
    team = session.get(Team, team_id)
    if team.personal_owner_id == member_user_id:
        raise ValidationError("You cannot leave your personal team.")
    if member.role == "owner" and _owner_count(session, team_id) <= 1:
        raise ValidationError("A team needs at least one owner. Make someone else an owner first.")
    session.delete(member)


# ---- invites --------------------------------------------------------------------------------------

def invite_link(token: str) -> str:
    return f"{get_settings().public_url}/invite?token={token}"


def invite_member(
    session: Session, *, team_id: int, actor_id: int, email: str, role: str
) -> tuple[Invite, str]:
    """Create an invite and e-mail its link (SMTP, or the outbox). Returns (invite, link).

    The link is returned too so the inviter can also share it by hand.
    """
    actor_role = require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    _check_assignable(actor_role, role)
    email = normalize_email(email)
    ratelimit.check("invite", actor_id)
    existing = session.exec(
        select(TeamMember.id).join(User, User.id == TeamMember.user_id)
        .where(TeamMember.team_id == team_id, User.email == email)
    ).first()
    if existing is not None:
        raise ValidationError("This person is already in the team.")
    token = new_token()
    invite = Invite(
        team_id=team_id, email=email, role=role, token_hash=hash_token(token),
        invited_by_id=actor_id, expires_at=utcnow() + timedelta(days=INVITE_DAYS),
    )
    session.add(invite)
    session.flush()
    team = session.get(Team, team_id)
    actor = session.get(User, actor_id)
    link = invite_link(token)
    outbox.send_email(
        session,
        to=email,
        subject=f"{actor.name} invited you to {team.name} on SocialHub",
        text=(
            f"{actor.name} invited you to join the team “{team.name}” on SocialHub as {role}.\n\n"
            f"Accept the invite: {link}\n\nThe link works for {INVITE_DAYS} days."
        ),
        sender_user_id=actor_id,
    )
    invitee = session.exec(select(User).where(User.email == email)).first()
    # Only the address's verified owner sees the link in the app; anyone may have claimed it.
    if invitee is not None and invitee.email_verified_at is not None:
        notifications.notify(
            session, user_id=invitee.id, kind="invite",
            title=f"{actor.name} invited you to {team.name}", link=f"/invite?token={token}",
        )
    return invite, link


def list_invites(session: Session, *, team_id: int, user_id: int) -> list[Invite]:
    require_role(session, team_id=team_id, user_id=user_id, minimum="admin")
    stmt = (
        select(Invite)
        .where(Invite.team_id == team_id, Invite.accepted_at.is_(None), Invite.expires_at > utcnow())
        .order_by(Invite.created_at.desc())
    )
    return list(session.exec(stmt))


def revoke_invite(session: Session, *, team_id: int, actor_id: int, invite_id: int) -> None:
    require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    invite = session.get(Invite, invite_id)
    if invite is None or invite.team_id != team_id:
        raise NotFound("This invite no longer exists.")
    session.delete(invite)


def find_invite(session: Session, *, token: str) -> tuple[Invite, Team]:
    invite = session.exec(select(Invite).where(Invite.token_hash == hash_token(token or ""))).first()
    if invite is None or invite.accepted_at is not None or invite.expires_at < utcnow():
        raise NotFound("This invite link is not valid any more. Ask for a new one.")
    return invite, session.get(Team, invite.team_id)


def accept_invite(session: Session, *, token: str, user_id: int) -> Team:
    """Join the team. The invite is for one e-mail address: the signed-in user must own it."""
    invite, team = find_invite(session, token=token)
    user = session.get(User, user_id)
    if user.email != invite.email:
        raise PermissionDenied(
            f"This invite is for {invite.email}. Sign in with that address to accept it."
        )
    if user.email_verified_at is None:
        raise PermissionDenied(
            f"Confirm that {user.email} is yours first: open the link we e-mailed you "
            "(Settings can send a new one), then accept the invite."
        )
    if get_role(session, team_id=team.id, user_id=user_id) is None:
        session.add(TeamMember(team_id=team.id, user_id=user_id, role=invite.role))
    invite.accepted_at = utcnow()
    user.active_team_id = team.id
    session.add_all([invite, user])
    session.flush()
    return team


def hand_over_teams_of(session: Session, *, user_id: int) -> None:
    """Before a user is deleted: drop their personal team, keep shared teams owned."""
    for team, role in list_teams(session, user_id=user_id):
        if team.personal_owner_id == user_id:
            session.delete(team)
            continue
        _lock_members(session, team.id)
        if role == "owner" and _owner_count(session, team.id) <= 1:
            successor = session.exec(
                select(TeamMember).where(TeamMember.team_id == team.id, TeamMember.user_id != user_id)
                .order_by(TeamMember.created_at)
            ).all()
            if not successor:
                session.delete(team)
                continue
            # The longest-standing admin inherits the team, else the longest-standing member.
            admins = [m for m in successor if m.role == "admin"]
            heir = (admins or successor)[0]
            heir.role = "owner"
            session.add(heir)
    session.flush()


def team_member_ids(session: Session, *, team_id: int) -> list[int]:
    return list(session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id)))


def team_owner_ids(session: Session, *, team_id: int) -> list[int]:
    return list(session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id, TeamMember.role == "owner")))
