"""Reflex state handlers, called directly under pytest: no browser, no websocket.

How: a root `rx.State` built with `_reflex_internal_init=True` creates every substate (AppState,
AuthState, SettingsState) in memory. Router data is the same dict the framework puts together
for each event (headers incl. Cookie, client ip, client token, path, asPath with the query) and
is applied with `_update_router_vars`, as Reflex's event processor does, so `self.router.headers
.cookie`, `self.router.session.client_ip` and `self.router.url.query_parameters` read exactly as
they do in the running app. Handlers are then plain methods; what they return are EventSpecs
(`rx.redirect`, `rx.call_script`, toasts), inspected by their handler name and arguments.
"""

from __future__ import annotations

import re
from collections import defaultdict
from urllib.parse import urlencode

import pytest
from reflex.state import State
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.identity.models import Invite, LoginAttempt, LoginTicket, ProviderKey, Team, TeamMember, User
from socialhub.identity.models import Notification
from socialhub.identity import notifications, teams, users
from socialhub.core.secrets import hash_token
from socialhub.ui import clients, realtime
from socialhub.ui.state import AppState
from socialhub.identity.state.auth import AuthState
from socialhub.identity.cookie import COOKIE_NAME, NONCE_COOKIE_NAME
from socialhub.identity.state.settings import SettingsState

PASSWORD = "correct horse battery"
BROWSER_NONCE = "nonce-of-this-browser"


# ---- building states and reading what handlers return -----------------------------------------

def make_state(cls, *, token: str | None = None, cookie: str | None = None, path: str = "/settings",
               query: dict[str, str] | None = None, ip: str = "203.0.113.7", nonce: str = BROWSER_NONCE):
    """The `cls` substate of a fresh in-memory state tree for one browser tab.

    The browser has the sign-in nonce cookie every page load gives it (`nonce=""`: it has none)."""
    root = State(_reflex_internal_init=True)
    headers = {"origin": "http://localhost:3000", "user-agent": "pytest"}
    if token is not None:
        cookie = f"theme=dark; {COOKIE_NAME}={token}"
    if nonce:
        cookie = f"{cookie}; {NONCE_COOKIE_NAME}={nonce}" if cookie else f"{NONCE_COOKIE_NAME}={nonce}"
    if cookie is not None:
        headers["cookie"] = cookie
    qs = urlencode(query or {})
    router_data = {
        "headers": headers, "ip": ip, "token": "client-token-1", "sid": "sid-1",
        "pathname": path, "asPath": f"{path}?{qs}" if qs else path, "query": dict(query or {}),
    }
    root.router_data = root._update_router_vars(router_data, {})
    return root.get_substate(cls.get_full_name().split("."))


def as_list(result) -> list:
    if result is None:
        return []
    return list(result) if isinstance(result, list | tuple) else [result]


def spec_kind(spec) -> str:
    return spec.handler.fn.__qualname__


def spec_args(spec) -> dict:
    return {str(name): getattr(value, "_var_value", value) for name, value in spec.args}


def redirect_target(result) -> str | None:
    for spec in as_list(result):
        if spec_kind(spec) == "_redirect":
            return spec_args(spec)["path"]
    return None


def script_of(result) -> str | None:
    for spec in as_list(result):
        if spec_kind(spec) == "_call_script":
            return spec_args(spec)["javascript_code"]
    return None


# ---- data ---------------------------------------------------------------------------------------

def sign_up(name: str, *, verified: bool = True) -> User:
    with session_scope() as session:
        return users.sign_up(session, name=name, email=f"{name.lower()}@example.com", password=PASSWORD,
                             verified=verified)


def login_token(user: User) -> str:
    with session_scope() as session:
        return users.redeem_login_ticket(session, ticket=users.create_login_ticket(session, user_id=user.id))[0]


def personal_team(user: User) -> int:
    with session_scope() as session:
        return session.exec(select(Team.id).where(Team.personal_owner_id == user.id)).one()


def db_get(model, key):
    with session_scope() as session:
        return session.get(model, key)


def db_all(stmt) -> list:
    with session_scope() as session:
        return list(session.exec(stmt).all())


@pytest.fixture(autouse=True)
def fresh_realtime_registry(monkeypatch):
    monkeypatch.setattr(clients, "_clients", defaultdict(set))


@pytest.fixture
def ada(database_url) -> User:
    return sign_up("Ada")


# ---- AuthState: sign in and sign up -------------------------------------------------------------

def test_sign_in_with_wrong_password_sets_error_and_does_not_navigate(ada):
    state = make_state(AuthState, path="/signin", ip="198.51.100.9")
    result = state.sign_in({"email": "ada@example.com", "password": "not the password"})
    assert as_list(result) == []
    assert state.error == users.BAD_CREDENTIALS
    assert db_all(select(LoginTicket)) == []
    (attempt,) = db_all(select(LoginAttempt))
    assert attempt.ip == "198.51.100.9"  # the client ip from the router, used for rate limiting


def test_sign_in_with_empty_fields_asks_for_both(ada):
    state = make_state(AuthState, path="/signin")
    assert as_list(state.sign_in({"email": " ", "password": ""})) == []
    assert state.error == "Enter your e-mail and password."


def test_sign_in_with_right_password_navigates_to_the_cookie_route_with_a_ticket(ada):
    state = make_state(AuthState, path="/signin", query={"next": "/settings"})
    state.error = "old error"
    result = state.sign_in({"email": "ADA@example.com", "password": PASSWORD})
    assert state.error == ""
    assert redirect_target(result) is None  # a full page load, not client-side routing
    script = script_of(result)
    match = re.fullmatch(r"window\.location\.assign\('/auth/session\?ticket=([A-Za-z0-9_-]+)'\)", script)
    assert match, script
    (row,) = db_all(select(LoginTicket))
    assert row.ticket_hash == hash_token(match.group(1))
    assert row.user_id == ada.id and row.next_path == "/settings"
    assert row.nonce_hash == hash_token(BROWSER_NONCE)  # only this browser can redeem it


def test_sign_in_without_the_nonce_cookie_makes_no_ticket_and_says_what_to_do(ada):
    state = make_state(AuthState, path="/signin", nonce="")
    assert as_list(state.sign_in({"email": "ada@example.com", "password": PASSWORD})) == []
    assert "Reload the page" in state.error
    assert db_all(select(LoginTicket)) == []


@pytest.mark.parametrize("next_path", ["//evil.example/x", "https://evil.example", "/feed\x00"])
def test_sign_in_never_sends_the_browser_off_site(ada, next_path):
    state = make_state(AuthState, path="/signin", query={"next": next_path})
    assert script_of(state.sign_in({"email": "ada@example.com", "password": PASSWORD}))
    assert db_all(select(LoginTicket.next_path)) == ["/feed"]


def test_sign_in_is_rate_limited_per_client_ip(ada):
    for i in range(users.MAX_FAILURES_PER_IP):
        make_state(AuthState, ip="192.0.2.1").sign_in({"email": f"x{i}@example.com", "password": "wrong pass"})
    state = make_state(AuthState, ip="192.0.2.1")
    assert as_list(state.sign_in({"email": "ada@example.com", "password": PASSWORD})) == []
    assert "Too many failed sign-ins" in state.error
    other_ip = make_state(AuthState, ip="192.0.2.2")
    assert script_of(other_ip.sign_in({"email": "ada@example.com", "password": PASSWORD}))


def test_sign_up_with_mismatching_passwords_sets_error_and_creates_nothing(database_url):
    state = make_state(AuthState, path="/signup")
    result = state.sign_up({"name": "Bob", "email": "bob@example.com", "password": PASSWORD,
                            "confirm": PASSWORD + "!"})
    assert as_list(result) == []
    assert state.error == "The two passwords are not the same."
    assert db_all(select(User)) == []


def test_sign_up_reports_service_validation(database_url):
    state = make_state(AuthState, path="/signup")
    assert as_list(state.sign_up({"name": "Bob", "email": "not-an-email", "password": PASSWORD,
                                  "confirm": PASSWORD})) == []
    assert "valid e-mail" in state.error
    assert db_all(select(User)) == []


def test_sign_up_creates_the_account_in_the_browser_timezone_and_signs_in(database_url):
    state = make_state(AuthState, path="/signup")
    state.set_browser_timezone("Asia/Tokyo")
    result = state.sign_up({"name": "Bob", "email": "bob@example.com", "password": PASSWORD, "confirm": PASSWORD})
    assert "/auth/session?ticket=" in script_of(result)
    (user,) = db_all(select(User))
    assert (user.name, user.timezone) == ("Bob", "Asia/Tokyo")


def test_open_signin_sends_a_signed_in_user_on(ada):
    state = make_state(AuthState, token=login_token(ada), path="/signin", query={"next": "/chat"})
    assert redirect_target(state.open_signin()) == "/chat"
    assert redirect_target(make_state(AuthState, path="/signin").open_signin()) is None


# ---- AuthState: invites -------------------------------------------------------------------------

def test_invite_page_accepts_only_for_the_invited_user(ada):
    bob, eve = sign_up("Bob"), sign_up("Eve")
    with session_scope() as session:
        _, link = teams.invite_member(session, team_id=personal_team(ada), actor_id=ada.id,
                                      email="bob@example.com", role="editor")
    token = link.split("token=", 1)[1]

    page = make_state(AuthState, token=login_token(eve), path="/invite", query={"token": token})
    page.open_invite()
    assert (page.invite_team, page.invite_email, page.invite_role) == ("Ada's team", "bob@example.com", "editor")
    assert as_list(page.accept_invite()) == []
    assert "bob@example.com" in page.invite_error
    assert db_all(select(TeamMember).where(TeamMember.user_id == eve.id, TeamMember.team_id == personal_team(ada))) == []

    anonymous = make_state(AuthState, path="/invite", query={"token": token})
    assert redirect_target(anonymous.accept_invite()).startswith("/signin")  # the page links back with the token

    page = make_state(AuthState, token=login_token(bob), path="/invite", query={"token": token})
    assert redirect_target(page.accept_invite()) == "/settings"
    with session_scope() as session:
        assert teams.get_role(session, team_id=personal_team(ada), user_id=bob.id) == "editor"


def test_invite_page_with_a_bad_token_explains(ada):
    page = make_state(AuthState, path="/invite", query={"token": "nope"})
    page.open_invite()
    assert page.invite_team == "" and "not valid" in page.invite_error


# ---- AppState: the guard and the bell -----------------------------------------------------------

def test_guard_without_a_session_redirects_to_signin(database_url):
    state = make_state(AppState, path="/feed")
    assert redirect_target(state.guard()) == "/signin?next=/feed"
    state = make_state(AppState, cookie=f"{COOKIE_NAME}=forged", path="/chat")
    assert redirect_target(state.guard()) == "/signin?next=/chat"
    assert clients.clients_of(0) == []


def test_guard_loads_the_shell_and_registers_the_browser(ada):
    with session_scope() as session:
        notifications.notify(session, user_id=ada.id, title="Hi <b>Ada</b>", link="https://evil.example")
    state = make_state(AppState, token=login_token(ada), path="/feed")
    assert as_list(state.guard()) == []
    assert (state.user_name, state.user_email, state.team_name, state.team_role) == (
        "Ada", "ada@example.com", "Ada's team", "owner")
    assert state.unread == 1
    assert state.bell[0]["title"] == "Hi <b>Ada</b>"
    assert state.bell[0]["link"] == ""  # only same-site links are shown
    assert clients.clients_of(ada.id) == ["client-token-1"]


def test_mark_bell_read_marks_only_the_signed_in_users_notifications(ada):
    bob = sign_up("Bob")
    with session_scope() as session:
        notifications.notify(session, user_id=ada.id, title="for ada")
        notifications.notify(session, user_id=bob.id, title="for bob")
    state = make_state(AppState, token=login_token(ada), path="/feed")
    state._user_id = bob.id  # a stale id in the state must not matter: the cookie decides
    state.mark_bell_read()
    assert state.unread == 0
    with session_scope() as session:
        assert notifications.unread_count(session, user_id=bob.id) == 1


# ---- SettingsState ------------------------------------------------------------------------------

@pytest.mark.parametrize("cookie", [None, f"{COOKIE_NAME}=not-a-session", "garbage;;=="])
def test_save_profile_without_a_session_redirects_and_changes_nothing(ada, cookie):
    state = make_state(SettingsState, cookie=cookie)
    result = state.save_profile({"name": "Mallory", "timezone": "Asia/Tokyo"})
    assert redirect_target(result) == "/signin?next=/settings"
    user = db_get(User, ada.id)
    assert (user.name, user.timezone) == ("Ada", "UTC")


def test_save_profile_with_a_session_saves(ada):
    state = make_state(SettingsState, token=login_token(ada))
    result = state.save_profile({"name": "  Ada   Lovelace ", "timezone": "Europe/London"})
    assert as_list(result) and state.profile_error == ""
    assert (state.name, state.user_name, state.timezone) == ("Ada Lovelace", "Ada Lovelace", "Europe/London")
    user = db_get(User, ada.id)
    assert (user.name, user.timezone) == ("Ada Lovelace", "Europe/London")


def test_save_profile_shows_validation_errors(ada):
    state = make_state(SettingsState, token=login_token(ada))
    state.save_profile({"name": "Ada", "timezone": "Mars/Base"})
    assert "time zone" in state.profile_error
    state.save_profile({"name": "A\x00da", "timezone": "UTC"})
    assert "control character" in state.profile_error
    assert db_get(User, ada.id).name == "Ada"


def test_signed_out_session_stops_working_in_handlers(ada):
    token = login_token(ada)
    state = make_state(SettingsState, token=token)
    assert redirect_target(state.load()) is None
    with session_scope() as session:
        users.end_session(session, token=token)
    assert redirect_target(state.save_profile({"name": "Later", "timezone": "UTC"})) == "/signin?next=/settings"
    assert db_get(User, ada.id).name == "Ada"


def test_load_fills_the_settings_page(ada):
    with session_scope() as session:
        users.set_provider_key(session, user_id=ada.id, provider="openai", key="sk-secret-abcd1234")
    state = make_state(SettingsState, token=login_token(ada))
    state.load()
    assert state.is_owner and state.can_manage
    assert [m["email"] for m in state.members] == ["ada@example.com"]
    assert state.keys == [{"provider": "openai", "label": "OpenAI", "last4": "1234",
                           "updated": state.keys[0]["updated"]}]
    assert "sk-secret" not in repr(state.keys)
    assert "UTC" in state.timezones


@pytest.fixture
def bobs_team(ada):
    """Bob owns his personal team; Vera is a viewer in it and works in it."""
    bob, vera = sign_up("Bob"), sign_up("Vera")
    team_id = personal_team(bob)
    with session_scope() as session:
        session.add(TeamMember(team_id=team_id, user_id=vera.id, role="viewer"))
        session.flush()
        teams.switch_team(session, user_id=vera.id, team_id=team_id)
    return bob, vera, team_id


def test_invite_by_a_viewer_sets_the_permission_message(bobs_team):
    bob, vera, team_id = bobs_team
    state = make_state(SettingsState, token=login_token(vera))
    state.load()
    assert not state.can_manage and state.invites == []
    result = state.invite({"email": "new@example.com", "role": "editor"})
    assert as_list(result) == []
    assert state.team_error == "Only a team admin or higher can do this; you are a viewer."
    assert db_all(select(Invite)) == []


def test_invite_by_an_owner_sends_and_lists_it(ada):
    state = make_state(SettingsState, token=login_token(ada))
    state.load()
    result = state.invite({"email": "new@example.com", "role": "viewer"})
    assert as_list(result) and state.team_error == ""
    assert "/invite?token=" in state.last_invite_link
    assert [(i["email"], i["role"]) for i in state.invites] == [("new@example.com", "viewer")]
    assert [e["to"] for e in state.outbox] == ["new@example.com"]


def test_a_cookie_for_ada_never_acts_on_bobs_team(ada, bobs_team):
    bob, vera, bob_team = bobs_team
    with session_scope() as session:
        bob_invite, _ = teams.invite_member(session, team_id=bob_team, actor_id=bob.id, email="x@example.com",
                                            role="viewer")
        users.set_provider_key(session, user_id=bob.id, provider="openai", key="sk-bob-key-0000")
        users.set_provider_key(session, user_id=ada.id, provider="openai", key="sk-ada-key-0000")

    def bob_side():
        with session_scope() as session:
            return (
                sorted((m.user_id, m.role) for m in session.exec(select(TeamMember).where(TeamMember.team_id == bob_team))),
                session.get(Team, bob_team).name,
                sorted(i.id for i in session.exec(select(Invite).where(Invite.team_id == bob_team))),
                session.exec(select(ProviderKey.last4).where(ProviderKey.user_id == bob.id)).all(),
            )

    before = bob_side()
    state = make_state(SettingsState, token=login_token(ada))
    # Pretend the state still holds Bob's ids (a stale tab, a tampered state): the cookie decides.
    state._user_id, state._team_id = bob.id, bob_team

    state.set_role(str(vera.id), "admin")
    assert "not in this team" in state.team_error
    state.remove(str(vera.id))
    assert "not in this team" in state.team_error
    state.revoke(str(bob_invite.id))
    assert "no longer exists" in state.team_error
    state.switch_team(str(bob_team))
    assert "not a member" in state.team_error
    assert db_get(User, ada.id).active_team_id == personal_team(ada)
    state._team_id = bob_team
    state.rename_team({"team_name": "Taken over"})
    assert db_get(Team, bob_team).name == "Bob's team"
    assert db_get(Team, personal_team(ada)).name == "Taken over"  # it acted on Ada's own team
    state._team_id = bob_team
    state.invite({"email": "friend@example.com", "role": "editor"})
    (invite,) = db_all(select(Invite).where(Invite.email == "friend@example.com"))
    assert invite.team_id == personal_team(ada)
    state.remove_key("openai")
    assert db_all(select(ProviderKey.user_id)) == [bob.id]

    assert bob_side() == before
    state.load()
    assert [m["email"] for m in state.members] == ["ada@example.com"]
    assert state.keys == []  # Ada's own key went; Bob's is not hers to see


def test_switch_team_into_a_team_you_belong_to(bobs_team):
    bob, vera, bob_team = bobs_team
    state = make_state(SettingsState, token=login_token(vera))
    own = personal_team(vera)
    state.switch_team(str(own))
    assert state.team_error == ""
    assert db_get(User, vera.id).active_team_id == own
    assert (state.team_name, state.team_role) == ("Vera's team", "owner")


def test_delete_account_needs_the_word_and_the_password(ada):
    state = make_state(SettingsState, token=login_token(ada))
    state.delete_account({"confirm": "nope", "password": PASSWORD})
    assert state.delete_error == "Type DELETE to confirm."
    state.delete_account({"confirm": "delete", "password": "wrong"})
    assert "password" in state.delete_error
    assert db_get(User, ada.id) is not None
    result = state.delete_account({"confirm": "DELETE", "password": PASSWORD})
    assert "/auth/signout" in script_of(result)
    assert db_get(User, ada.id) is None
    assert db_all(select(Notification)) == []


# ---- SettingsState: e-mail verification ------------------------------------------------------------

def test_settings_shows_an_unverified_address_and_resends_the_link(database_url):
    from socialhub.core.models import Email

    nina = sign_up("Nina", verified=False)
    state = make_state(SettingsState, token=login_token(nina))
    state.load()
    assert state.email_verified is False
    state.resend_verification()
    links = [e for e in db_all(select(Email).where(Email.to_address == "nina@example.com"))
             if "/auth/verify-email?token=" in e.text_body]
    assert len(links) == 2  # the sign-up's and the new one
    assert state.outbox == []  # neither is shown to an account that has not proved the address


def test_settings_confirms_a_followed_link(database_url):
    nina = sign_up("Nina")
    state = make_state(SettingsState, token=login_token(nina), query={"verified": "1"})
    result = state.load()
    assert state.email_verified is True
    assert "confirmed" in str(spec_args(as_list(result)[0]))
