"""Accounts service: sign-up, sign-in with rate limits, tickets, sessions, profile, keys, deletion."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from socialhub.identity.models import AuthSession, LoginTicket, ProviderKey, Team, TeamMember, User
from socialhub.identity import users
from socialhub.core.errors import RateLimited, ValidationError

PASSWORD = "correct horse battery"


def make_user(session, email="ada@example.com", name="Ada", password=PASSWORD):
    user = users.sign_up(session, name=name, email=email, password=password, timezone="Europe/Berlin")
    session.commit()
    return user


def test_sign_up_creates_personal_team_owned_by_user(session):
    user = make_user(session)
    member = session.exec(select(TeamMember).where(TeamMember.user_id == user.id)).one()
    team = session.get(Team, member.team_id)
    assert member.role == "owner"
    assert team.personal_owner_id == user.id
    assert user.active_team_id == team.id
    assert user.timezone == "Europe/Berlin"
    assert user.password_hash.startswith("scrypt$") and PASSWORD not in user.password_hash


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", PASSWORD, "valid e-mail"),
        ("a@b", PASSWORD, "valid e-mail"),
        ("<script>@x.com", PASSWORD, "valid e-mail"),
        ("ok@example.com", "short", "at least 10"),
        ("ok@example.com", "aaaaaaaaaaaa", "too easy"),
        ("ok@example.com", "x" * 201, "at most 200"),
    ],
)
def test_sign_up_rejects_bad_input_with_clear_message(session, email, password, message):
    with pytest.raises(ValidationError, match=message):
        users.sign_up(session, name="Ada", email=email, password=password)


def test_sign_up_refuses_taken_email_case_insensitively(session):
    make_user(session)
    with pytest.raises(ValidationError, match="already exists"):
        users.sign_up(session, name="Other", email="ADA@Example.com", password=PASSWORD)


def test_unknown_timezone_falls_back_to_utc(session):
    user = users.sign_up(session, name="Ada", email="ada@example.com", password=PASSWORD, timezone="Mars/Olympus")
    assert user.timezone == "UTC"


def test_authenticate_answers_unknown_email_and_wrong_password_alike(session):
    make_user(session)
    assert users.authenticate(session, email=" ADA@example.com ", password=PASSWORD, ip="1.1.1.1").name == "Ada"
    with pytest.raises(ValidationError) as wrong_password:
        users.authenticate(session, email="ada@example.com", password="nope", ip="1.1.1.1")
    with pytest.raises(ValidationError) as unknown:
        users.authenticate(session, email="bob@example.com", password=PASSWORD, ip="1.1.1.1")
    assert str(wrong_password.value) == str(unknown.value) == users.BAD_CREDENTIALS


def test_unknown_email_costs_a_password_check_too(session, monkeypatch):
    """No shortcut for addresses without an account: the time does not tell them apart."""
    from socialhub.core import secrets as core_secrets

    make_user(session)
    checks = []
    real = core_secrets.verify_password
    monkeypatch.setattr(core_secrets, "verify_password", lambda *a: checks.append(1) or real(*a))
    with pytest.raises(ValidationError):
        users.authenticate(session, email="nobody@example.com", password="whatever it is", ip="1.1.1.1")
    assert checks == [1]


def _fail(session, email="ada@example.com", ip="10.0.0.1"):
    with pytest.raises(ValidationError):
        users.authenticate(session, email=email, password="wrong", ip=ip)
    session.commit()


def _age_failures(session, seconds: float) -> None:
    from sqlalchemy import update

    from socialhub.identity.models import LoginAttempt

    session.execute(update(LoginAttempt).values(created_at=LoginAttempt.created_at - timedelta(seconds=seconds)))
    session.commit()


def test_failures_slow_down_the_same_address_from_the_same_ip_only(session):
    make_user(session)
    for _ in range(users.FREE_FAILURES):
        _fail(session)
    # The next try from that IP waits (even with the right password) …
    with pytest.raises(RateLimited, match="Wait 1 second and"):
        users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.0.0.1")
    # … while the owner, from elsewhere, is not locked out.
    assert users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.0.0.2").name == "Ada"
    # Each further failure doubles the wait.
    _age_failures(session, 2)
    _fail(session)
    with pytest.raises(RateLimited, match="Wait 2 seconds"):
        users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.0.0.1")
    _age_failures(session, 3)
    assert users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.0.0.1").name == "Ada"


@pytest.mark.owasp_cost
def test_a_successful_sign_in_upgrades_a_weaker_password_hash(session):
    import base64
    import hashlib

    user = make_user(session)
    salt = b"0123456789abcdef"
    old = hashlib.scrypt(PASSWORD.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    user.password_hash = f"scrypt$16384$8$1${base64.b64encode(salt).decode()}${base64.b64encode(old).decode()}"
    session.add(user)
    session.commit()
    users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="1.1.1.1")
    session.commit()
    stored = session.get(User, user.id).password_hash
    assert stored.startswith("scrypt$131072$8$1$")
    assert users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="1.1.1.1")


@pytest.mark.owasp_cost
def test_new_password_hashes_use_owasp_scrypt_parameters(session):
    user = make_user(session)
    assert user.password_hash.split("$")[1:4] == ["131072", "8", "1"]


def test_login_ticket_is_bound_to_the_browser_nonce(session):
    from socialhub.core.errors import PermissionDenied

    user = make_user(session)
    ticket = users.create_login_ticket(session, user_id=user.id, nonce="victim-browser")
    session.commit()
    for other in ("", "attacker-browser"):
        with pytest.raises(PermissionDenied, match="another browser"):
            users.redeem_login_ticket(session, ticket=ticket, nonce=other)
        session.rollback()
    token, _ = users.redeem_login_ticket(session, ticket=ticket, nonce="victim-browser")
    assert users.user_for_token(session, token=token).id == user.id


def test_sign_in_is_rate_limited_per_ip_across_emails(session):
    make_user(session)
    for i in range(users.MAX_FAILURES_PER_IP):
        with pytest.raises(ValidationError):
            users.authenticate(session, email=f"x{i}@example.com", password="wrong", ip="10.9.9.9")
        session.commit()
    with pytest.raises(RateLimited):
        users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.9.9.9")
    # Another address is not affected.
    assert users.authenticate(session, email="ada@example.com", password=PASSWORD, ip="10.1.1.1")


def test_login_ticket_is_single_use_and_yields_a_session(session):
    user = make_user(session)
    ticket = users.create_login_ticket(session, user_id=user.id, next_path="/settings")
    token, next_path = users.redeem_login_ticket(session, ticket=ticket)
    session.commit()
    assert next_path == "/settings"
    assert users.user_for_token(session, token=token).id == user.id
    stored = session.exec(select(AuthSession)).one()
    assert stored.token_hash != token  # only the hash is stored
    with pytest.raises(ValidationError, match="expired"):
        users.redeem_login_ticket(session, ticket=ticket)


def test_expired_ticket_and_session_are_refused(session):
    user = make_user(session)
    ticket = users.create_login_ticket(session, user_id=user.id)
    row = session.exec(select(LoginTicket)).one()
    row.expires_at -= timedelta(minutes=5)
    session.commit()
    with pytest.raises(ValidationError):
        users.redeem_login_ticket(session, ticket=ticket)
    ticket = users.create_login_ticket(session, user_id=user.id)
    token, _ = users.redeem_login_ticket(session, ticket=ticket)
    auth = session.exec(select(AuthSession)).one()
    auth.expires_at -= timedelta(days=users.SESSION_DAYS + 1)
    session.commit()
    assert users.user_for_token(session, token=token) is None


@pytest.mark.parametrize("path", ["//evil.example/x", "https://evil.example", "javascript:alert(1)", "/\\evil", ""])
def test_next_path_never_leaves_the_site(path):
    assert users.safe_next_path(path) == "/feed"


def test_change_password_keeps_this_session_and_ends_others(session):
    user = make_user(session)
    tokens = [users.redeem_login_ticket(session, ticket=users.create_login_ticket(session, user_id=user.id))[0]
              for _ in range(2)]
    session.commit()
    with pytest.raises(ValidationError, match="current password"):
        users.change_password(session, user_id=user.id, current="bad", new="another good phrase", keep_token=tokens[0])
    users.change_password(session, user_id=user.id, current=PASSWORD, new="another good phrase", keep_token=tokens[0])
    session.commit()
    assert users.user_for_token(session, token=tokens[0]) is not None
    assert users.user_for_token(session, token=tokens[1]) is None
    assert users.authenticate(session, email="ada@example.com", password="another good phrase", ip="x")


def test_update_profile_validates_timezone_and_theme(session):
    user = make_user(session)
    with pytest.raises(ValidationError, match="time zone"):
        users.update_profile(session, user_id=user.id, name="Ada", timezone="Nowhere/Land", theme="dark")
    with pytest.raises(ValidationError):
        users.update_profile(session, user_id=user.id, name="Ada", timezone="UTC", theme="neon")
    updated = users.update_profile(session, user_id=user.id, name="  Ada   L. ", timezone="Asia/Tokyo", theme="dark")
    assert (updated.name, updated.timezone, updated.theme) == ("Ada L.", "Asia/Tokyo", "dark")


def test_provider_key_is_stored_encrypted_and_masked(session):
    user = make_user(session)
    users.set_provider_key(session, user_id=user.id, provider="openai", key="sk-test-1234567890abcd")
    session.commit()
    row = session.exec(select(ProviderKey)).one()
    assert "sk-test" not in row.ciphertext and row.last4 == "abcd"
    assert users.get_provider_key(session, user_id=user.id, provider="openai") == "sk-test-1234567890abcd"
    with pytest.raises(ValidationError):
        users.set_provider_key(session, user_id=user.id, provider="cohere", key="sk-1234567890")
    with pytest.raises(ValidationError):
        users.set_provider_key(session, user_id=user.id, provider="openai", key="has space inside key")


def test_ciphertext_copied_to_another_user_does_not_decrypt(session):
    from socialhub.core.crypto import DecryptionError

    ada = make_user(session)
    bob = make_user(session, email="bob@example.com", name="Bob")
    users.set_provider_key(session, user_id=ada.id, provider="openai", key="sk-ada-secret-0001")
    users.set_provider_key(session, user_id=bob.id, provider="openai", key="sk-bob-secret-0002")
    rows = {r.user_id: r for r in session.exec(select(ProviderKey))}
    rows[bob.id].ciphertext = rows[ada.id].ciphertext
    session.commit()
    with pytest.raises(DecryptionError):
        users.get_provider_key(session, user_id=bob.id, provider="openai")


def test_delete_account_removes_user_and_all_their_rows(session):
    user = make_user(session)
    users.set_provider_key(session, user_id=user.id, provider="anthropic", key="sk-ant-123456789")
    users.redeem_login_ticket(session, ticket=users.create_login_ticket(session, user_id=user.id))
    session.commit()
    with pytest.raises(ValidationError):
        users.delete_account(session, user_id=user.id, password="wrong")
    users.delete_account(session, user_id=user.id, password=PASSWORD)
    session.commit()
    for model in (User, AuthSession, ProviderKey, Team, TeamMember):
        assert session.exec(select(model)).all() == [], model.__name__


# ---- e-mail verification and the outbox ----------------------------------------------------------

def _verification_token(session, email="ada@example.com") -> str:
    from socialhub.core.models import Email

    bodies = [e.text_body for e in session.exec(select(Email).where(Email.to_address == email).order_by(Email.id))
              if "/auth/verify-email?token=" in e.text_body]
    return bodies[-1].split("verify-email?token=", 1)[1].split()[0]


def test_sign_up_mails_a_verification_link_the_account_cannot_see_itself(session):
    from socialhub.core.models import Email

    user = make_user(session)
    assert user.email_verified_at is None and not users.is_verified(user)
    (mail,) = session.exec(select(Email)).all()
    assert (mail.to_address, mail.sender_user_id, mail.status) == ("ada@example.com", None, "outbox")
    assert "http://localhost:3000/auth/verify-email?token=" in mail.text_body
    # Whoever holds the account may not own the address: the link must not show in the app.
    assert users.list_outbox(session, user_id=user.id) == []


def test_the_link_verifies_the_address_once_and_then_mail_to_it_shows(session):
    user = make_user(session)
    token = _verification_token(session)
    assert users.verify_email(session, token=token).id == user.id
    session.commit()
    assert session.get(User, user.id).email_verified_at is not None
    assert [e.to_address for e in users.list_outbox(session, user_id=user.id)] == ["ada@example.com"]
    with pytest.raises(ValidationError, match="not valid any more"):
        users.verify_email(session, token=token)


def test_expired_or_made_up_verification_links_are_refused(session):
    from socialhub.identity.models import EmailVerification

    user = make_user(session)
    token = _verification_token(session)
    row = session.exec(select(EmailVerification)).one()
    row.expires_at -= timedelta(hours=users.VERIFY_HOURS + 1)
    session.commit()
    for bad in (token, "made-up", ""):
        with pytest.raises(ValidationError, match="Send a new one"):
            users.verify_email(session, token=bad)
        session.rollback()
    assert session.get(User, user.id).email_verified_at is None


def test_a_new_link_can_be_sent_a_few_times_until_verified(session, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "verify_email=2/hour")
    user = make_user(session)
    users.resend_verification(session, user_id=user.id)
    users.resend_verification(session, user_id=user.id)
    with pytest.raises(RateLimited, match="verification e-mails"):
        users.resend_verification(session, user_id=user.id)
    session.rollback()
    users.verify_email(session, token=_verification_token(session))
    session.commit()
    with pytest.raises(ValidationError, match="already confirmed"):
        users.resend_verification(session, user_id=user.id)


def test_outbox_shows_mail_the_user_sent_even_before_verifying(session):
    from socialhub.core import outbox

    user = make_user(session)
    outbox.send_email(session, to="friend@example.com", subject="Hi", text="x", sender_user_id=user.id)
    outbox.send_email(session, to="ada@example.com", subject="For Ada", text="y")
    session.commit()
    assert [e.subject for e in users.list_outbox(session, user_id=user.id)] == ["Hi"]


def test_sign_up_from_the_web_is_rate_limited_per_ip(session, monkeypatch):
    monkeypatch.setenv("RATE_LIMITS", "sign_up=2/hour")
    for n in range(2):
        users.sign_up(session, name="A", email=f"a{n}@example.com", password=PASSWORD, ip="192.0.2.5")
    with pytest.raises(RateLimited, match="new accounts"):
        users.sign_up(session, name="A", email="a9@example.com", password=PASSWORD, ip="192.0.2.5")
    users.sign_up(session, name="A", email="a9@example.com", password=PASSWORD, ip="192.0.2.6")
