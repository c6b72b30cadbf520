"""Accounts: sign-up, e-mail verification, sign-in (with backoff), sessions, profile, password,
deletion, AI keys.

Sign-in never sets a cookie itself: the page asks for a one-minute, one-time login ticket and
sends the browser to `/auth/session`, a plain HTTP route that swaps the ticket for an HttpOnly
cookie. So the session token is never visible to page scripts. The ticket is bound to the
browser that signed in (the hash of its HttpOnly nonce cookie is stored with it), so a ticket
made for one browser cannot sign another one in (login CSRF).

Sign-in answers an unknown address and a wrong password with the same message, after the same
work (a dummy scrypt check), so it does not tell which addresses have accounts. Failures slow
down the same address from the same IP exponentially, and cap each IP; nobody can lock an
address out for everyone else.

E-mail addresses are verified by a link (a random token, stored hashed, valid for
`VERIFY_HOURS`) sent at sign-up and again on request. Until then the account works, but mail
to its address stays hidden in its outbox and team invites cannot be accepted with it.
"""

from __future__ import annotations

import hmac
from datetime import timedelta

from sqlalchemy import delete, func, or_
from sqlmodel import Session, select

from socialhub.core import crypto, outbox, ratelimit
from socialhub.core.config import get_settings
from socialhub.core.models import Email, utcnow
from socialhub.identity.models import (
    AuthSession,
    EmailVerification,
    LoginAttempt,
    LoginTicket,
    ProviderKey,
    Team,
    TeamMember,
    THEMES,
    User,
)
from socialhub.core.timezones import clean_timezone, timezones
from socialhub.identity import teams
from socialhub.identity.addresses import normalize_email
from socialhub.core.errors import NotFound, PermissionDenied, RateLimited, ValidationError
from socialhub.core.secrets import (
    hash_password, hash_token, needs_rehash, new_token, verify_dummy_password, verify_password,
)

SESSION_DAYS = 30
TICKET_SECONDS = 60
VERIFY_HOURS = 48
LOGIN_WINDOW = timedelta(minutes=15)
FREE_FAILURES = 3  # per address and IP; after that each failure doubles the wait (1 s, 2 s, 4 s …)
MAX_BACKOFF_SECONDS = 15 * 60
MAX_FAILURES_PER_IP = 20
BAD_CREDENTIALS = "Wrong e-mail or password. Check both and try again."
PROVIDERS = {"openai": "OpenAI", "anthropic": "Anthropic", "google": "Google"}



# ---- validation -------------------------------------------------------------------------------



def check_password_strength(password: str, *, email: str = "", name: str = "") -> None:
    if len(password) < 10:
        raise ValidationError("Use at least 10 characters for your password.")
    if len(password) > 200:
        raise ValidationError("Use at most 200 characters for your password.")
    lowered = password.lower()
    if len(set(password)) < 5 or lowered in _COMMON_PASSWORDS:
        raise ValidationError("That password is too easy to guess. Try a few unrelated words.")
    if email and email.split("@")[0] and email.split("@")[0] in lowered and len(email.split("@")[0]) > 3:
        raise ValidationError("Your password must not contain the part of your e-mail address before the @.")


_COMMON_PASSWORDS = frozenset(
    {"password12", "password123", "1234567890", "qwertyuiop", "letmein123", "iloveyou12",
     "welcome123", "passw0rd12", "administrator", "0987654321", "qwerty1234", "abcdefghij"}
)


def clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError("Enter your name.")
    if "\x00" in name:  # PostgreSQL text cannot hold NUL: refuse it here, not with a database error
        raise ValidationError("Your name contains an invisible control character. Remove it and try again.")
    if len(name) > 100:
        raise ValidationError("Use at most 100 characters for your name.")
    return name


# ---- sign-up and sign-in ------------------------------------------------------------------------

def sign_up(session: Session, *, name: str, email: str, password: str, timezone: str = "UTC",
            verified: bool = False, ip: str | None = None) -> User:
    """Create a user with their personal team (they own it).

    `verified` is for accounts whose address the operator vouches for (demo data); everyone
    else gets a verification link by e-mail. With `ip` (a sign-up from the web), sign-ups from
    one address are rate limited.
    """
    name = clean_name(name)
    email = normalize_email(email)
    check_password_strength(password, email=email, name=name)
    tz = timezone if timezone in timezones() else "UTC"
    if session.exec(select(User.id).where(User.email == email)).first() is not None:
        raise ValidationError("An account with this e-mail already exists. Sign in instead.")
    if ip is not None:
        ratelimit.check("sign_up", ip or "unknown")
    user = User(email=email, name=name, password_hash=hash_password(password), timezone=tz,
                email_verified_at=utcnow() if verified else None)
    session.add(user)
    session.flush()
    team = Team(name=f"{name}'s team"[:100], personal_owner_id=user.id)
    session.add(team)
    session.flush()
    session.add(TeamMember(team_id=team.id, user_id=user.id, role="owner"))
    user.active_team_id = team.id
    session.flush()
    if not verified:
        _send_verification(session, user)
    return user


# ---- e-mail verification -----------------------------------------------------------------------

def verification_link(token: str) -> str:
    return f"{get_settings().public_url}/auth/verify-email?token={token}"


def _send_verification(session: Session, user: User) -> None:
    token = new_token()
    session.add(EmailVerification(user_id=user.id, email=user.email, token_hash=hash_token(token),
                                  expires_at=utcnow() + timedelta(hours=VERIFY_HOURS)))
    session.flush()
    # No sender: the outbox shows it to no one until the address is verified (by this link).
    outbox.send_email(
        session, to=user.email, subject="Confirm your e-mail address for SocialHub",
        text=(f"Hello {user.name},\n\nConfirm that {user.email} is your address: {verification_link(token)}\n\n"
              f"The link works for {VERIFY_HOURS} hours. If you did not create a SocialHub account, "
              "ignore this e-mail."),
    )


def resend_verification(session: Session, *, user_id: int) -> None:
    """Send a new verification link (rate limited per user)."""
    user = get_user(session, user_id=user_id)
    if user.email_verified_at is not None:
        raise ValidationError("Your e-mail address is already confirmed.")
    ratelimit.check("verify_email", user_id)
    _send_verification(session, user)


def verify_email(session: Session, *, token: str) -> User:
    """Mark the address verified if the token is a live link sent to the user's current address."""
    row = session.exec(
        select(EmailVerification).where(EmailVerification.token_hash == hash_token(token or "")).with_for_update()
    ).first()
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or row.expires_at < utcnow() or user is None or user.email != row.email:
        raise ValidationError("This confirmation link is not valid any more. Send a new one from Settings.")
    if user.email_verified_at is None:
        user.email_verified_at = utcnow()
        session.add(user)
    session.execute(delete(EmailVerification).where(EmailVerification.user_id == user.id))
    session.flush()
    return user


def is_verified(user: User) -> bool:
    return user.email_verified_at is not None


# ---- sign-in --------------------------------------------------------------------------------------

def authenticate(session: Session, *, email: str, password: str, ip: str) -> User:
    """Check credentials, with one message for an unknown address and a wrong password.

    Refused while the same address has failed from the same IP too often (the wait doubles with
    each failure) or the IP has failed `MAX_FAILURES_PER_IP` times in `LOGIN_WINDOW`.
    """
    email = (email or "").strip().lower()[:254]
    ip = (ip or "unknown").replace("\x00", "")[:64]
    if "\x00" in email:  # PostgreSQL text cannot hold NUL; no stored address contains one
        raise ValidationError("Enter a valid e-mail address, like name@example.com.")
    _check_backoff(session, email=email, ip=ip)
    user = session.exec(select(User).where(User.email == email)).first()
    ok = (verify_password(password or "", user.password_hash) if user is not None
          else verify_dummy_password(password or ""))
    if not ok:
        _record_failure(session, email=email, ip=ip)
        raise ValidationError(BAD_CREDENTIALS)
    if needs_rehash(user.password_hash):  # made with older, cheaper parameters: upgrade it now
        user.password_hash = hash_password(password)
        session.add(user)
    session.execute(delete(LoginAttempt).where(LoginAttempt.email == email, LoginAttempt.ip == ip))
    return user


def _check_backoff(session: Session, *, email: str, ip: str) -> None:
    now = utcnow()
    since = now - LOGIN_WINDOW
    per_ip = session.exec(
        select(func.count()).select_from(LoginAttempt).where(LoginAttempt.ip == ip, LoginAttempt.created_at > since)
    ).one()
    if per_ip >= MAX_FAILURES_PER_IP:
        raise RateLimited("Too many failed sign-ins from your network. Wait 15 minutes and try again.")
    count, last = session.exec(
        select(func.count(), func.max(LoginAttempt.created_at))
        .where(LoginAttempt.email == email, LoginAttempt.ip == ip, LoginAttempt.created_at > since)
    ).one()
    if count >= FREE_FAILURES:
        wait = timedelta(seconds=min(MAX_BACKOFF_SECONDS, 2 ** (count - FREE_FAILURES)))
        left = (last + wait - now).total_seconds()
        if left > 0:
            seconds = max(1, round(left))
            raise RateLimited(f"Too many failed sign-ins. Wait {seconds} second{'s' * (seconds != 1)} and try again.")


def _record_failure(session: Session, *, email: str, ip: str) -> None:
    """Count a failed sign-in in its own transaction: the caller rolls back on the error we
    raise next, and a rolled-back failure would never count towards the limit."""
    with Session(session.get_bind()) as own:
        own.add(LoginAttempt(email=email, ip=ip))
        own.commit()


def create_login_ticket(session: Session, *, user_id: int, next_path: str = "/feed", nonce: str = "") -> str:
    """A one-minute, one-time ticket for `/auth/session`, bound to the browser whose nonce
    cookie is `nonce` (the web always passes one; the route refuses tickets without)."""
    ticket = new_token()
    session.add(
        LoginTicket(
            user_id=user_id,
            ticket_hash=hash_token(ticket),
            expires_at=utcnow() + timedelta(seconds=TICKET_SECONDS),
            next_path=safe_next_path(next_path),
            nonce_hash=hash_token(nonce) if nonce else "",
        )
    )
    session.flush()
    return ticket


def redeem_login_ticket(session: Session, *, ticket: str, nonce: str = "", user_agent: str = "") -> tuple[str, str]:
    """Swap a ticket (once) for a new session token. Returns (token, next_path).

    Refused unless `nonce` is the one the ticket was made for (the same browser)."""
    row = session.exec(
        select(LoginTicket).where(LoginTicket.ticket_hash == hash_token(ticket or "")).with_for_update()
    ).first()
    if row is None or row.expires_at < utcnow():
        raise ValidationError("This sign-in link has expired. Sign in again.")
    if not hmac.compare_digest(row.nonce_hash, hash_token(nonce) if nonce else ""):
        raise PermissionDenied("This sign-in link was made for another browser. Sign in again here.")
    session.delete(row)
    token = new_token()
    session.add(
        AuthSession(
            user_id=row.user_id,
            token_hash=hash_token(token),
            expires_at=utcnow() + timedelta(days=SESSION_DAYS),
            user_agent=(user_agent or "")[:300],
        )
    )
    session.flush()
    return token, row.next_path


def safe_next_path(path: str) -> str:
    """Only same-site absolute paths: never `//evil.example` or `https://…`."""
    path = (path or "").strip()
    if (not path.startswith("/") or path.startswith("//") or "\\" in path
            or any(ord(c) < 32 or c == "\x7f" for c in path)):  # control characters, NUL included
        return "/feed"
    return path[:300]


def user_for_token(session: Session, *, token: str) -> User | None:
    if not token:
        return None
    row = session.exec(select(AuthSession).where(AuthSession.token_hash == hash_token(token))).first()
    if row is None or row.expires_at < utcnow():
        return None
    return session.get(User, row.user_id)


def end_session(session: Session, *, token: str) -> None:
    session.execute(delete(AuthSession).where(AuthSession.token_hash == hash_token(token or "")))


# ---- profile, password, deletion ---------------------------------------------------------------

def get_user(session: Session, *, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("This account no longer exists.")
    return user


def update_profile(session: Session, *, user_id: int, name: str, timezone: str, theme: str) -> User:
    user = get_user(session, user_id=user_id)
    if theme not in THEMES:
        raise ValidationError("Choose system, light or dark.")
    user.name = clean_name(name)
    user.timezone = clean_timezone(timezone, fallback="")
    user.theme = theme
    session.add(user)
    session.flush()
    return user


def change_password(session: Session, *, user_id: int, current: str, new: str, keep_token: str = "") -> None:
    """Change the password and sign out every other browser."""
    user = get_user(session, user_id=user_id)
    if not verify_password(current or "", user.password_hash):
        raise ValidationError("Your current password is not right.")
    check_password_strength(new or "", email=user.email, name=user.name)
    user.password_hash = hash_password(new)
    session.add(user)
    session.execute(
        delete(AuthSession).where(AuthSession.user_id == user_id, AuthSession.token_hash != hash_token(keep_token))
    )


def delete_account(session: Session, *, user_id: int, password: str) -> None:
    """Delete the user and everything that is theirs.

    Foreign keys cascade from `users`; teams are handled here: the personal team goes, and a
    shared team the user owned alone gets its longest-standing member promoted to owner.
    """
    user = get_user(session, user_id=user_id)
    if not verify_password(password or "", user.password_hash):
        raise ValidationError("Enter your password to delete your account.")
    teams.hand_over_teams_of(session, user_id=user_id)
    session.delete(user)
    session.flush()


# ---- AI provider keys --------------------------------------------------------------------------

def _key_context(user_id: int, provider: str) -> str:
    return f"provider_key:{user_id}:{provider}"


def set_provider_key(session: Session, *, user_id: int, provider: str, key: str) -> ProviderKey:
    if provider not in PROVIDERS:
        raise ValidationError("Choose OpenAI, Anthropic or Google.")
    key = (key or "").strip()
    if len(key) < 8 or len(key) > 400 or any(c.isspace() or not c.isprintable() for c in key):
        raise ValidationError("That does not look like an API key. Paste the whole key, without spaces.")
    row = session.exec(
        select(ProviderKey).where(ProviderKey.user_id == user_id, ProviderKey.provider == provider)
    ).first() or ProviderKey(user_id=user_id, provider=provider, ciphertext="", last4="")
    row.ciphertext = crypto.encrypt(key, context=_key_context(user_id, provider))
    row.last4 = key[-4:]
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return row


def list_provider_keys(session: Session, *, user_id: int) -> list[ProviderKey]:
    stmt = select(ProviderKey).where(ProviderKey.user_id == user_id).order_by(ProviderKey.provider)
    return list(session.exec(stmt))


def delete_provider_key(session: Session, *, user_id: int, provider: str) -> None:
    if provider not in PROVIDERS:  # nothing stored under another name (and NUL would crash the query)
        return
    session.execute(
        delete(ProviderKey).where(ProviderKey.user_id == user_id, ProviderKey.provider == provider)
    )


def get_provider_key(session: Session, *, user_id: int, provider: str) -> str | None:
    """The plaintext key, for the AI integration only; never shown in a page."""
    if provider not in PROVIDERS:
        return None
    row = session.exec(
        select(ProviderKey).where(ProviderKey.user_id == user_id, ProviderKey.provider == provider)
    ).first()
    return None if row is None else crypto.decrypt(row.ciphertext, context=_key_context(user_id, provider))


def reencrypt_provider_keys(session: Session) -> int:
    """Re-encrypt every key not under the current key id (after a rotation). Returns the count."""
    count = 0
    for row in session.exec(select(ProviderKey).with_for_update()):
        if crypto.needs_reencrypt(row.ciphertext):
            row.ciphertext = crypto.reencrypt(row.ciphertext, context=_key_context(row.user_id, row.provider))
            session.add(row)
            count += 1
    session.flush()
    return count


def list_outbox(session: Session, *, user_id: int, limit: int = 20) -> list[Email]:
    """E-mails this user sent (invites), and those addressed to them once their address is
    verified: until then the account may not be the address's owner."""
    user = session.get(User, user_id)
    mine = Email.sender_user_id == user_id
    stmt = (
        select(Email)
        .where(or_(mine, Email.to_address == user.email) if is_verified(user) else mine)
        .order_by(Email.created_at.desc(), Email.id.desc())
        .limit(limit)
    )
    return list(session.exec(stmt))
