"""Security through the services: one user can never reach another's data, and hostile input is
either refused with a clear message or stored as inert text, exactly as given."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlmodel import select

from socialhub.identity.models import Invite, ProviderKey, Team, TeamMember, User
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.identity import notifications, teams, users
from socialhub.core.errors import NotFound, PermissionDenied, ServiceError, ValidationError

PASSWORD = "correct horse battery"


def make_user(session, name: str, email: str | None = None) -> User:
    user = users.sign_up(session, name=name, email=email or f"{name.lower()}@example.com", password=PASSWORD)
    session.commit()
    return user


def team_of(session, user: User) -> int:
    return session.exec(select(Team.id).where(Team.personal_owner_id == user.id)).one()


def snapshot(session) -> dict:
    """Everything B-side that an attack could change, as plain values."""
    session.expire_all()
    return {
        "users": sorted((u.id, u.name, u.email, u.active_team_id) for u in session.exec(select(User))),
        "teams": sorted((t.id, t.name) for t in session.exec(select(Team))),
        "members": sorted((m.team_id, m.user_id, m.role) for m in session.exec(select(TeamMember))),
        "invites": sorted((i.id, i.team_id, i.email, i.role, i.accepted_at) for i in session.exec(select(Invite))),
        "keys": sorted((k.user_id, k.provider, k.ciphertext) for k in session.exec(select(ProviderKey))),
        "notes": sorted((n.id, n.user_id, n.read_at) for n in session.exec(select(Notification))),
        "emails": session.exec(select(Email.id)).all(),
    }


@pytest.fixture
def two_users(session):
    """Bob runs a team (with Carol as editor and a pending invite); Ada is an outsider."""
    ada, bob, carol = make_user(session, "Ada"), make_user(session, "Bob"), make_user(session, "Carol")
    bob_team = team_of(session, bob)
    session.add(TeamMember(team_id=bob_team, user_id=carol.id, role="editor"))
    session.commit()
    invite, link = teams.invite_member(session, team_id=bob_team, actor_id=bob.id, email="dan@example.com",
                                       role="viewer")
    users.set_provider_key(session, user_id=bob.id, provider="openai", key="sk-bob-secret-123456")
    notifications.notify(session, user_id=bob.id, title="For Bob only")
    session.commit()
    return ada, bob, carol, bob_team, invite, link


# ---- isolation --------------------------------------------------------------------------------

def test_outsider_cannot_read_anything_of_another_team(session, two_users):
    ada, bob, carol, bob_team, invite, _ = two_users
    for call in (
        lambda: teams.list_members(session, team_id=bob_team, user_id=ada.id),
        lambda: teams.list_invites(session, team_id=bob_team, user_id=ada.id),
        lambda: teams.get_team(session, team_id=bob_team, user_id=ada.id),
    ):
        with pytest.raises(NotFound):
            call()


def test_outsider_cannot_change_another_team(session, two_users):
    ada, bob, carol, bob_team, invite, _ = two_users
    before = snapshot(session)
    attacks = [
        lambda: teams.invite_member(session, team_id=bob_team, actor_id=ada.id, email="eve@example.com", role="owner"),
        lambda: teams.change_role(session, team_id=bob_team, actor_id=ada.id, member_user_id=carol.id, role="viewer"),
        lambda: teams.change_role(session, team_id=bob_team, actor_id=ada.id, member_user_id=ada.id, role="owner"),
        lambda: teams.remove_member(session, team_id=bob_team, actor_id=ada.id, member_user_id=carol.id),
        lambda: teams.remove_member(session, team_id=bob_team, actor_id=ada.id, member_user_id=bob.id),
        lambda: teams.revoke_invite(session, team_id=bob_team, actor_id=ada.id, invite_id=invite.id),
        lambda: teams.rename_team(session, team_id=bob_team, actor_id=ada.id, name="pwned"),
        lambda: teams.switch_team(session, user_id=ada.id, team_id=bob_team),
        # Using her own team id with Bob's objects does not work either.
        lambda: teams.revoke_invite(session, team_id=team_of(session, ada), actor_id=ada.id, invite_id=invite.id),
        lambda: teams.change_role(session, team_id=team_of(session, ada), actor_id=ada.id,
                                  member_user_id=bob.id, role="viewer"),
        lambda: teams.remove_member(session, team_id=team_of(session, ada), actor_id=ada.id, member_user_id=carol.id),
    ]
    for attack in attacks:
        with pytest.raises((NotFound, PermissionDenied)):
            attack()
        session.rollback()
    assert snapshot(session) == before


def test_member_with_a_weak_role_cannot_escalate(session, two_users):
    ada, bob, carol, bob_team, invite, _ = two_users
    before = snapshot(session)
    for attack in (
        lambda: teams.change_role(session, team_id=bob_team, actor_id=carol.id, member_user_id=carol.id, role="owner"),
        lambda: teams.invite_member(session, team_id=bob_team, actor_id=carol.id, email="ada@example.com", role="admin"),
        lambda: teams.revoke_invite(session, team_id=bob_team, actor_id=carol.id, invite_id=invite.id),
        lambda: teams.remove_member(session, team_id=bob_team, actor_id=carol.id, member_user_id=bob.id),
    ):
        with pytest.raises(PermissionDenied):
            attack()
        session.rollback()
    assert snapshot(session) == before


def test_invite_for_someone_else_cannot_be_accepted(session, two_users):
    ada, bob, carol, bob_team, invite, link = two_users
    before = snapshot(session)
    with pytest.raises(PermissionDenied):
        teams.accept_invite(session, token=link.split("token=", 1)[1], user_id=ada.id)
    session.rollback()
    assert snapshot(session) == before


def test_provider_keys_are_per_user(session, two_users):
    ada, bob, *_ = two_users
    before = snapshot(session)
    assert users.list_provider_keys(session, user_id=ada.id) == []
    assert users.get_provider_key(session, user_id=ada.id, provider="openai") is None
    users.delete_provider_key(session, user_id=ada.id, provider="openai")
    users.set_provider_key(session, user_id=ada.id, provider="anthropic", key="sk-ada-key-0000")
    session.commit()
    after = snapshot(session)
    assert [k for k in after["keys"] if k[0] == bob.id] == before["keys"]
    assert users.get_provider_key(session, user_id=bob.id, provider="openai") == "sk-bob-secret-123456"


def test_notifications_are_per_user(session, two_users):
    ada, bob, *_ = two_users
    assert notifications.list_notifications(session, user_id=ada.id) == []
    assert notifications.mark_all_read(session, user_id=ada.id) == 0
    session.commit()
    assert notifications.unread_count(session, user_id=bob.id) == 1


def test_outbox_lists_only_mail_sent_by_or_to_the_user(session, two_users):
    ada, bob, *_ = two_users
    assert users.list_outbox(session, user_id=ada.id) == []
    assert [e.to_address for e in users.list_outbox(session, user_id=bob.id)] == ["dan@example.com"]


def test_session_token_of_one_user_never_resolves_to_another(session, two_users):
    ada, bob, *_ = two_users
    token, _ = users.redeem_login_ticket(session, ticket=users.create_login_ticket(session, user_id=ada.id))
    session.commit()
    assert users.user_for_token(session, token=token).id == ada.id
    assert users.user_for_token(session, token=token + "x") is None
    assert users.user_for_token(session, token="") is None


# ---- hostile input ----------------------------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
SQL = "'; DROP TABLE users; --"
UNICODE = [
    "Zoë 👩‍👩‍👧‍👦 🚀",                  # emoji with zero-width joiners
    "مرحبا بالعالم",                   # right-to-left
    "שלום\u200fעולם",                   # RTL with a right-to-left mark
    "e\u0301 n\u0303 Å",                 # combining accents, left unnormalised
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 中文 日本語 한국어",      # astral plane and CJK
]


@pytest.mark.parametrize("name", [SCRIPT, SQL, *UNICODE])
def test_names_are_stored_verbatim_and_inert(session, name):
    user = users.sign_up(session, name=name, email="ada@example.com", password=PASSWORD)
    session.commit()
    teams.rename_team(session, team_id=team_of(session, user), actor_id=user.id, name=name)
    session.commit()
    session.expire_all()
    assert session.get(User, user.id).name == name
    assert session.get(Team, team_of(session, user)).name == name
    assert session.execute(text("SELECT count(*) FROM users")).scalar_one() == 1  # the table is still there
    updated = users.update_profile(session, user_id=user.id, name=name, timezone="UTC", theme="dark")
    assert updated.name == name


def test_hostile_text_in_invites_and_notifications_is_stored_as_text(session):
    ada = users.sign_up(session, name=SCRIPT, email="ada@example.com", password=PASSWORD, verified=True)
    session.commit()
    teams.rename_team(session, team_id=team_of(session, ada), actor_id=ada.id, name=SQL)
    _, link = teams.invite_member(session, team_id=team_of(session, ada), actor_id=ada.id,
                                  email="bob@example.com", role="viewer")
    notifications.notify(session, user_id=ada.id, title=SCRIPT, body=SQL)
    session.commit()
    email = session.exec(select(Email)).one()
    assert email.subject == f"{SCRIPT} invited you to {SQL} on SocialHub"
    note = session.exec(select(Notification)).one()
    assert (note.title, note.body) == (SCRIPT, SQL)


@pytest.mark.parametrize("email", [SCRIPT + "@example.com", "a'--@example.com", "a\"b@example.com",
                                   "ada@exa mple.com", "ada@example.com\nBcc: eve@example.com"])
def test_hostile_emails_are_refused(session, email):
    with pytest.raises(ValidationError, match="valid e-mail"):
        users.sign_up(session, name="Ada", email=email, password=PASSWORD)


def test_megabyte_inputs_get_a_clear_message(session):
    big = "x" * (1024 * 1024)
    with pytest.raises(ValidationError, match="at most 100"):
        users.sign_up(session, name=big, email="ada@example.com", password=PASSWORD)
    with pytest.raises(ValidationError, match="valid e-mail"):
        users.sign_up(session, name="Ada", email=big + "@example.com", password=PASSWORD)
    with pytest.raises(ValidationError, match="at most 200"):
        users.sign_up(session, name="Ada", email="ada@example.com", password=big)
    ada = make_user(session, "Ada")
    mine = team_of(session, ada)
    with pytest.raises(ValidationError, match="1 to 100"):
        teams.rename_team(session, team_id=mine, actor_id=ada.id, name=big)
    with pytest.raises(ValidationError, match="at most 100"):
        users.update_profile(session, user_id=ada.id, name=big, timezone="UTC", theme="system")
    with pytest.raises(ValidationError, match="API key"):
        users.set_provider_key(session, user_id=ada.id, provider="openai", key=big)
    with pytest.raises(ValidationError):
        users.authenticate(session, email=big, password=big, ip="1.2.3.4")
    with pytest.raises(ValidationError):
        teams.invite_member(session, team_id=mine, actor_id=ada.id, email=big, role="viewer")
    session.rollback()
    assert session.get(User, ada.id).name == "Ada"
    # Long but allowed input is kept whole, not cut short.
    notifications.notify(session, user_id=ada.id, title="t", body="é" * 2000)
    session.commit()
    assert session.exec(select(Notification.body)).one() == "é" * 2000


def test_name_limit_counts_characters_not_bytes(session):
    name = "👩‍👩‍👧" * 20  # 100 code points, 440 bytes in UTF-8
    assert len(name) == 100
    user = users.sign_up(session, name=name, email="ada@example.com", password=PASSWORD)
    session.commit()
    session.expire_all()
    assert session.get(User, user.id).name == name


NUL = "\x00"


def test_nul_bytes_give_a_clear_validation_error_not_a_database_crash(session):
    ada = make_user(session, "Ada")
    mine = team_of(session, ada)
    calls = {
        "sign_up name": lambda: users.sign_up(session, name=f"Ev{NUL}e", email="eve@example.com",
                                                 password=PASSWORD),
        "sign_up email": lambda: users.sign_up(session, name="Eve", email=f"ev{NUL}e@example.com",
                                                  password=PASSWORD),
        "sign in email": lambda: users.authenticate(session, email=f"ada{NUL}@example.com", password=PASSWORD,
                                                       ip="1.2.3.4"),
        "profile name": lambda: users.update_profile(session, user_id=ada.id, name=f"A{NUL}da",
                                                        timezone="UTC", theme="system"),
        "profile timezone": lambda: users.update_profile(session, user_id=ada.id, name="Ada",
                                                            timezone=f"UTC{NUL}", theme="system"),
        "team name": lambda: teams.rename_team(session, team_id=mine, actor_id=ada.id, name=f"Te{NUL}am"),
        "invite email": lambda: teams.invite_member(session, team_id=mine, actor_id=ada.id,
                                                    email=f"bob{NUL}@example.com", role="viewer"),
        "invite role": lambda: teams.invite_member(session, team_id=mine, actor_id=ada.id,
                                                   email="bob@example.com", role=f"viewer{NUL}"),
        "api key": lambda: users.set_provider_key(session, user_id=ada.id, provider="openai",
                                                     key=f"sk-abcdefgh12{NUL}4"),
        "api provider": lambda: users.set_provider_key(session, user_id=ada.id, provider=f"openai{NUL}",
                                                          key="sk-abcdefgh1234"),
    }
    for label, call in calls.items():
        try:
            call()
        except ValidationError:
            pass
        except Exception as exc:  # noqa: BLE001 - the point is which kind of error escapes
            pytest.fail(f"{label}: {type(exc).__name__}: {exc}")
        else:
            pytest.fail(f"{label}: a NUL byte was accepted")
        session.rollback()
    assert session.get(User, ada.id).name == "Ada"


def test_nul_bytes_in_lookups_find_nothing_instead_of_crashing(session):
    ada = make_user(session, "Ada")
    users.set_provider_key(session, user_id=ada.id, provider="openai", key="sk-abcdefgh1234")
    session.commit()
    assert users.safe_next_path(f"/feed{NUL}") == "/feed"
    ticket = users.create_login_ticket(session, user_id=ada.id, next_path=f"/settings{NUL}x")
    assert users.redeem_login_ticket(session, ticket=ticket)[1] == "/feed"
    assert users.user_for_token(session, token=f"tok{NUL}") is None
    with pytest.raises(ServiceError):
        teams.find_invite(session, token=f"tok{NUL}")
    with pytest.raises(ServiceError):
        users.redeem_login_ticket(session, ticket=f"tick{NUL}")
    assert users.get_provider_key(session, user_id=ada.id, provider=f"openai{NUL}") is None
    users.delete_provider_key(session, user_id=ada.id, provider=f"openai{NUL}")
    session.commit()
    assert [k.provider for k in users.list_provider_keys(session, user_id=ada.id)] == ["openai"]


# ---- rate limits beyond identity, and stale OAuth states -------------------------------------------

def test_connecting_accounts_is_rate_limited_per_user(session, monkeypatch):
    from socialhub.channels import connect
    from socialhub.core.errors import RateLimited

    monkeypatch.setenv("RATE_LIMITS", "connect_account=2/hour")
    monkeypatch.delenv("X_CLIENT_ID", raising=False)
    ada = make_user(session, "Ada")
    team_id = team_of(session, ada)
    for _ in range(2):
        with pytest.raises(ValidationError, match="X_CLIENT_ID"):  # counted, then refused for its own reason
            connect.start_connect(session, team_id=team_id, actor_id=ada.id, platform="x")
    with pytest.raises(RateLimited, match="Too many attempts to connect an account"):
        connect.start_connect(session, team_id=team_id, actor_id=ada.id, platform="x")
    with pytest.raises(RateLimited):
        connect.connect_bluesky(session, team_id=team_id, actor_id=ada.id, identifier="ada.bsky.social",
                                app_password="xxxx-xxxx-xxxx-xxxx")


def test_the_cleanup_job_purges_expired_oauth_states(session):
    from datetime import timedelta

    from scheduler.jobs import JOBS
    from socialhub.channels.models import OAuthState
    from socialhub.core.models import utcnow

    ada = make_user(session, "Ada")
    for name, minutes in (("stale", -1), ("live", 5)):
        session.add(OAuthState(state_hash=name, team_id=team_of(session, ada), user_id=ada.id, platform="x",
                               redirect_uri="http://localhost:3000/oauth/x/callback",
                               expires_at=utcnow() + timedelta(minutes=minutes)))
    session.commit()
    job, trigger, store = JOBS["cleanup_oauth_states"]
    assert store == "shared" and trigger["trigger"] == "interval"
    assert job() == 1
    assert session.exec(select(OAuthState.state_hash)).all() == ["live"]
