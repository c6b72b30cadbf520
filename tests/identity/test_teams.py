"""Teams service: invites by e-mail, accepting them, roles and their limits, leaving, hand-over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from socialhub.identity.models import Invite, Team, TeamMember, User
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.identity import teams, users
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError

PASSWORD = "correct horse battery"


def make_user(session, name: str, *, verified: bool = True) -> User:
    user = users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD,
                         verified=verified)
    session.commit()
    return user


def personal_team_id(session, user: User) -> int:
    return session.exec(select(Team.id).where(Team.personal_owner_id == user.id)).one()


def shared_team(session, owner: User, name: str = "Studio") -> Team:
    """A team that is nobody's personal team, owned by `owner`."""
    team = Team(name=name)
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, user_id=owner.id, role="owner"))
    session.commit()
    return team


def add_member(session, team: Team, user: User, role: str) -> None:
    session.add(TeamMember(team_id=team.id, user_id=user.id, role=role))
    session.commit()


def role_of(session, team_id: int, user: User) -> str | None:
    session.expire_all()
    return teams.get_role(session, team_id=team_id, user_id=user.id)


def token_of(link: str) -> str:
    return link.split("token=", 1)[1]


@pytest.fixture
def crew(session):
    """A shared team with one member of every role."""
    people = {name: make_user(session, name) for name in ("Olga", "Adam", "Eddie", "Vera", "Zed")}
    team = shared_team(session, people["Olga"])
    add_member(session, team, people["Adam"], "admin")
    add_member(session, team, people["Eddie"], "editor")
    add_member(session, team, people["Vera"], "viewer")
    return team, people


# ---- invites ----------------------------------------------------------------------------------

def test_invite_writes_an_outbox_email_with_the_invite_link(session, crew):
    team, p = crew
    invite, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id,
                                       email="  New.Person@Example.com ", role="editor")
    session.commit()
    assert "/invite?token=" in link
    assert invite.email == "new.person@example.com" and invite.role == "editor"
    assert invite.token_hash != token_of(link)  # only the hash is stored
    email = session.exec(select(Email)).one()
    assert email.status == "outbox"
    assert email.to_address == "new.person@example.com"
    assert email.sender_user_id == p["Olga"].id
    assert "Studio" in email.subject
    assert link in email.text_body


def test_invite_of_an_existing_user_also_rings_their_bell(session, crew):
    team, p = crew
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Adam"].id, email="zed@example.com",
                                  role="viewer")
    session.commit()
    note = session.exec(select(Notification).where(Notification.user_id == p["Zed"].id)).one()
    assert note.kind == "invite" and note.link == f"/invite?token={token_of(link)}"


def test_an_unverified_account_holding_the_address_gets_no_link_and_cannot_accept(session, crew):
    """Whoever registers an address first must not take the invites sent to it."""
    team, p = crew
    squatter = make_user(session, "Nina", verified=False)  # claims nina@example.com, never proves it
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="nina@example.com",
                                  role="admin")
    session.commit()
    assert session.exec(select(Notification).where(Notification.user_id == squatter.id)).all() == []
    outbox = users.list_outbox(session, user_id=squatter.id)
    assert [e for e in outbox if token_of(link) in e.text_body] == []  # the invite mail is hidden
    with pytest.raises(PermissionDenied, match="Confirm that nina@example.com is yours"):
        teams.accept_invite(session, token=token_of(link), user_id=squatter.id)
    session.rollback()
    assert role_of(session, team.id, squatter) is None
    assert session.exec(select(Invite)).one().accepted_at is None  # still open for the real owner


def test_after_verifying_the_owner_sees_the_invite_and_accepts_it(session, crew):
    team, p = crew
    nina = make_user(session, "Nina", verified=False)
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="nina@example.com",
                                  role="editor")
    session.commit()
    (mail,) = [e for e in session.exec(select(Email).where(Email.to_address == "nina@example.com"))
               if "/auth/verify-email?token=" in e.text_body]
    users.verify_email(session, token=mail.text_body.split("verify-email?token=", 1)[1].split()[0])
    session.commit()
    assert any(token_of(link) in e.text_body for e in users.list_outbox(session, user_id=nina.id))
    teams.accept_invite(session, token=token_of(link), user_id=nina.id)
    session.commit()
    assert role_of(session, team.id, nina) == "editor"


def test_invites_are_rate_limited_per_inviter(session, crew, monkeypatch):
    from socialhub.core.errors import RateLimited

    monkeypatch.setenv("RATE_LIMITS", "invite=2/hour")
    team, p = crew
    for n in range(2):
        teams.invite_member(session, team_id=team.id, actor_id=p["Adam"].id, email=f"n{n}@example.com", role="viewer")
    with pytest.raises(RateLimited, match="Too many invites"):
        teams.invite_member(session, team_id=team.id, actor_id=p["Adam"].id, email="n9@example.com", role="viewer")
    teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="n9@example.com", role="viewer")


def test_invite_refuses_someone_already_in_the_team(session, crew):
    team, p = crew
    with pytest.raises(ValidationError, match="already in the team"):
        teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="VERA@example.com",
                            role="editor")


def test_invite_is_accepted_only_by_the_invited_address(session, crew):
    team, p = crew
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="zed@example.com",
                                  role="editor")
    session.commit()
    with pytest.raises(PermissionDenied, match="zed@example.com"):
        teams.accept_invite(session, token=token_of(link), user_id=p["Vera"].id)
    session.rollback()
    assert role_of(session, team.id, p["Vera"]) == "viewer"  # unchanged by the refused attempt
    joined = teams.accept_invite(session, token=token_of(link), user_id=p["Zed"].id)
    session.commit()
    assert joined.id == team.id
    assert role_of(session, team.id, p["Zed"]) == "editor"
    assert session.get(User, p["Zed"].id).active_team_id == team.id
    assert session.exec(select(Invite)).one().accepted_at is not None


def test_used_invite_is_refused(session, crew):
    team, p = crew
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="zed@example.com",
                                  role="editor")
    teams.accept_invite(session, token=token_of(link), user_id=p["Zed"].id)
    session.commit()
    with pytest.raises(NotFound, match="not valid"):
        teams.accept_invite(session, token=token_of(link), user_id=p["Zed"].id)
    with pytest.raises(NotFound):
        teams.find_invite(session, token=token_of(link))


def test_expired_invite_is_refused(session, crew):
    team, p = crew
    _, link = teams.invite_member(session, team_id=team.id, actor_id=p["Olga"].id, email="zed@example.com",
                                  role="editor")
    invite = session.exec(select(Invite)).one()
    invite.expires_at -= timedelta(days=teams.INVITE_DAYS, seconds=1)
    session.commit()
    with pytest.raises(NotFound, match="not valid"):
        teams.accept_invite(session, token=token_of(link), user_id=p["Zed"].id)
    assert role_of(session, team.id, p["Zed"]) is None
    assert teams.list_invites(session, team_id=team.id, user_id=p["Olga"].id) == []


def test_made_up_invite_token_is_refused(session, crew):
    _, p = crew
    with pytest.raises(NotFound):
        teams.accept_invite(session, token="not-a-real-token", user_id=p["Zed"].id)


def test_revoked_invite_cannot_be_accepted(session, crew):
    team, p = crew
    invite, link = teams.invite_member(session, team_id=team.id, actor_id=p["Adam"].id, email="zed@example.com",
                                       role="viewer")
    teams.revoke_invite(session, team_id=team.id, actor_id=p["Adam"].id, invite_id=invite.id)
    session.commit()
    with pytest.raises(NotFound):
        teams.accept_invite(session, token=token_of(link), user_id=p["Zed"].id)


# ---- roles ------------------------------------------------------------------------------------

@pytest.mark.parametrize("actor", ["Eddie", "Vera"])
def test_editors_and_viewers_cannot_manage_members(session, crew, actor):
    team, p = crew
    me = p[actor].id
    with pytest.raises(PermissionDenied, match="admin or higher"):
        teams.invite_member(session, team_id=team.id, actor_id=me, email="zed@example.com", role="viewer")
    with pytest.raises(PermissionDenied):
        teams.change_role(session, team_id=team.id, actor_id=me, member_user_id=p["Vera"].id, role="editor")
    with pytest.raises(PermissionDenied):
        teams.change_role(session, team_id=team.id, actor_id=me, member_user_id=me, role="admin")
    with pytest.raises(PermissionDenied):
        teams.remove_member(session, team_id=team.id, actor_id=me, member_user_id=p["Adam"].id)
    with pytest.raises(PermissionDenied):
        teams.list_invites(session, team_id=team.id, user_id=me)
    with pytest.raises(PermissionDenied):
        teams.rename_team(session, team_id=team.id, actor_id=me, name="Mine now")
    session.rollback()
    assert session.exec(select(Invite)).all() == [] and session.exec(select(Email)).all() == []
    assert [role_of(session, team.id, p[n]) for n in ("Olga", "Adam", "Eddie", "Vera")] == [
        "owner", "admin", "editor", "viewer"]
    assert session.get(Team, team.id).name == "Studio"


def test_admin_manages_non_owners(session, crew):
    team, p = crew
    teams.change_role(session, team_id=team.id, actor_id=p["Adam"].id, member_user_id=p["Vera"].id, role="editor")
    teams.remove_member(session, team_id=team.id, actor_id=p["Adam"].id, member_user_id=p["Eddie"].id)
    session.commit()
    assert role_of(session, team.id, p["Vera"]) == "editor"
    assert role_of(session, team.id, p["Eddie"]) is None


def test_admin_cannot_make_owners_or_touch_an_owner(session, crew):
    team, p = crew
    admin = p["Adam"].id
    with pytest.raises(PermissionDenied, match="Only an owner can make"):
        teams.change_role(session, team_id=team.id, actor_id=admin, member_user_id=p["Vera"].id, role="owner")
    with pytest.raises(PermissionDenied, match="Only an owner can make"):
        teams.change_role(session, team_id=team.id, actor_id=admin, member_user_id=admin, role="owner")
    with pytest.raises(PermissionDenied, match="Only an owner can make"):
        teams.invite_member(session, team_id=team.id, actor_id=admin, email="zed@example.com", role="owner")
    with pytest.raises(PermissionDenied, match="owner's role"):
        teams.change_role(session, team_id=team.id, actor_id=admin, member_user_id=p["Olga"].id, role="viewer")
    with pytest.raises(PermissionDenied, match="remove an owner"):
        teams.remove_member(session, team_id=team.id, actor_id=admin, member_user_id=p["Olga"].id)
    session.rollback()
    assert role_of(session, team.id, p["Olga"]) == "owner"
    assert role_of(session, team.id, p["Adam"]) == "admin"
    assert role_of(session, team.id, p["Vera"]) == "viewer"
    assert session.exec(select(Invite)).all() == []


def test_unknown_role_is_refused(session, crew):
    team, p = crew
    with pytest.raises(ValidationError, match="Choose owner, admin, editor or viewer"):
        teams.change_role(session, team_id=team.id, actor_id=p["Olga"].id, member_user_id=p["Vera"].id, role="god")


def test_owner_can_make_another_owner_and_then_step_down(session, crew):
    team, p = crew
    teams.change_role(session, team_id=team.id, actor_id=p["Olga"].id, member_user_id=p["Adam"].id, role="owner")
    teams.change_role(session, team_id=team.id, actor_id=p["Olga"].id, member_user_id=p["Olga"].id, role="editor")
    session.commit()
    assert role_of(session, team.id, p["Adam"]) == "owner"
    assert role_of(session, team.id, p["Olga"]) == "editor"


def test_last_owner_cannot_be_demoted_or_removed(session, crew):
    team, p = crew
    olga = p["Olga"].id
    with pytest.raises(ValidationError, match="at least one owner"):
        teams.change_role(session, team_id=team.id, actor_id=olga, member_user_id=olga, role="admin")
    with pytest.raises(ValidationError, match="at least one owner"):
        teams.remove_member(session, team_id=team.id, actor_id=olga, member_user_id=olga)
    session.rollback()
    assert role_of(session, team.id, p["Olga"]) == "owner"


@pytest.mark.parametrize("second", ["demote", "leave"])
def test_two_owners_stepping_down_at_once_leave_one_owner(session, crew, second):
    """Two transactions, each removing the other owner: the second waits for the first's
    commit (row locks), then sees one owner left and refuses."""
    import threading

    from sqlmodel import Session as DbSession

    from socialhub.core.db import get_engine, session_scope

    team, p = crew
    add_member(session, team, p["Zed"], "owner")
    olga, zed = p["Olga"].id, p["Zed"].id
    first = DbSession(get_engine())
    teams.change_role(first, team_id=team.id, actor_id=olga, member_user_id=olga, role="admin")  # not committed
    outcome: list[object] = []

    def other():
        try:
            with session_scope() as s:
                if second == "demote":
                    teams.change_role(s, team_id=team.id, actor_id=zed, member_user_id=zed, role="admin")
                else:
                    teams.remove_member(s, team_id=team.id, actor_id=zed, member_user_id=zed)
            outcome.append("done")
        except Exception as exc:  # noqa: BLE001 - the refusal is what we look for
            outcome.append(exc)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(1.0)
    assert thread.is_alive(), "the second change must wait for the first to commit"
    first.commit()
    first.close()
    thread.join(20)
    (result,) = outcome
    assert isinstance(result, ValidationError) and "at least one owner" in str(result)
    assert role_of(session, team.id, p["Zed"]) == "owner"
    assert role_of(session, team.id, p["Olga"]) == "admin"


def test_member_can_leave_a_shared_team(session, crew):
    team, p = crew
    teams.remove_member(session, team_id=team.id, actor_id=p["Vera"].id, member_user_id=p["Vera"].id)
    session.commit()
    assert role_of(session, team.id, p["Vera"]) is None
    assert [t.id for t, _ in teams.list_teams(session, user_id=p["Vera"].id)] == [personal_team_id(session, p["Vera"])]


def test_personal_team_cannot_be_left(session):
    ada, bob = make_user(session, "Ada"), make_user(session, "Bob")
    mine = personal_team_id(session, ada)
    # Alone in it: refused.
    with pytest.raises(ValidationError):
        teams.remove_member(session, team_id=mine, actor_id=ada.id, member_user_id=ada.id)
    session.rollback()
    # Even with a second owner present, the personal owner cannot leave or be removed.
    session.add(TeamMember(team_id=mine, user_id=bob.id, role="owner"))
    session.commit()
    with pytest.raises(ValidationError, match="personal team"):
        teams.remove_member(session, team_id=mine, actor_id=ada.id, member_user_id=ada.id)
    with pytest.raises(ValidationError, match="personal team"):
        teams.remove_member(session, team_id=mine, actor_id=bob.id, member_user_id=ada.id)
    session.rollback()
    assert role_of(session, mine, ada) == "owner"


def test_sole_personal_owner_is_told_it_is_their_personal_team(session):
    ada = make_user(session, "Ada")
    with pytest.raises(ValidationError, match="personal team"):
        teams.remove_member(session, team_id=personal_team_id(session, ada), actor_id=ada.id, member_user_id=ada.id)


def test_rename_team_cleans_and_limits_the_name(session, crew):
    team, p = crew
    renamed = teams.rename_team(session, team_id=team.id, actor_id=p["Adam"].id, name="  Night   Shift ")
    assert renamed.name == "Night Shift"
    with pytest.raises(ValidationError, match="1 to 100"):
        teams.rename_team(session, team_id=team.id, actor_id=p["Adam"].id, name="   ")
    with pytest.raises(ValidationError, match="1 to 100"):
        teams.rename_team(session, team_id=team.id, actor_id=p["Adam"].id, name="x" * 101)


# ---- switching, listing, scoping --------------------------------------------------------------

def test_switch_team_only_into_teams_you_belong_to(session, crew):
    team, p = crew
    zed = p["Zed"]
    own = personal_team_id(session, zed)
    with pytest.raises(NotFound):
        teams.switch_team(session, user_id=zed.id, team_id=team.id)
    session.rollback()
    assert session.get(User, zed.id).active_team_id == own
    teams.switch_team(session, user_id=p["Vera"].id, team_id=team.id)
    session.commit()
    assert session.get(User, p["Vera"].id).active_team_id == team.id


def test_active_team_falls_back_when_the_user_left_it(session, crew):
    team, p = crew
    vera = p["Vera"]
    teams.switch_team(session, user_id=vera.id, team_id=team.id)
    teams.remove_member(session, team_id=team.id, actor_id=p["Olga"].id, member_user_id=vera.id)
    session.commit()
    assert teams.active_team_id(session, user=session.get(User, vera.id)) == personal_team_id(session, vera)


def test_list_members_of_a_team_you_are_not_in_is_not_found(session, crew):
    team, p = crew
    with pytest.raises(NotFound):
        teams.list_members(session, team_id=team.id, user_id=p["Zed"].id)
    with pytest.raises(NotFound):
        teams.list_members(session, team_id=10**9, user_id=p["Zed"].id)
    members = teams.list_members(session, team_id=team.id, user_id=p["Vera"].id)
    assert [(m.name, m.role) for m in members] == [
        ("Olga", "owner"), ("Adam", "admin"), ("Eddie", "editor"), ("Vera", "viewer")]


def test_list_teams_puts_personal_team_first(session, crew):
    team, p = crew
    listed = teams.list_teams(session, user_id=p["Vera"].id)
    assert [(t.personal_owner_id, role) for t, role in listed] == [(p["Vera"].id, "owner"), (None, "viewer")]


# ---- account deletion -------------------------------------------------------------------------

def test_delete_account_hands_shared_team_to_the_admin(session, crew):
    team, p = crew
    olga = p["Olga"]
    personal = personal_team_id(session, olga)
    users.delete_account(session, user_id=olga.id, password=PASSWORD)
    session.commit()
    assert session.get(Team, personal) is None
    assert session.get(Team, team.id) is not None
    assert role_of(session, team.id, p["Adam"]) == "owner"
    assert role_of(session, team.id, p["Eddie"]) == "editor"
    assert session.get(User, olga.id) is None


def test_delete_account_without_admin_promotes_the_longest_standing_member(session):
    olga, eddie, vera = make_user(session, "Olga"), make_user(session, "Eddie"), make_user(session, "Vera")
    team = shared_team(session, olga)
    add_member(session, team, eddie, "editor")
    add_member(session, team, vera, "viewer")
    users.delete_account(session, user_id=olga.id, password=PASSWORD)
    session.commit()
    assert role_of(session, team.id, eddie) == "owner"
    assert role_of(session, team.id, vera) == "viewer"


def test_delete_account_of_a_co_owner_promotes_nobody(session, crew):
    team, p = crew
    add_member(session, team, p["Zed"], "owner")
    users.delete_account(session, user_id=p["Olga"].id, password=PASSWORD)
    session.commit()
    assert role_of(session, team.id, p["Adam"]) == "admin"
    assert role_of(session, team.id, p["Zed"]) == "owner"


def test_delete_account_removes_a_shared_team_left_empty(session):
    olga = make_user(session, "Olga")
    team = shared_team(session, olga)
    users.delete_account(session, user_id=olga.id, password=PASSWORD)
    session.commit()
    assert session.get(Team, team.id) is None
    assert session.exec(select(Team)).all() == []
