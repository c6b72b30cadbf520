"""Connecting platform accounts: OAuth round trips and Bluesky app-password logins.

Flow for OAuth platforms (Mastodon, X, LinkedIn, Threads, Instagram, Facebook):
1. `start_connect` (an admin or owner) registers SocialHub with the Mastodon instance if it has
   not yet (one app per instance, kept in `platform_apps`), makes an unguessable `state` (and a
   PKCE verifier where the platform takes one), stores them for ten minutes (the state hashed,
   the verifier encrypted), and returns the platform's authorization URL.
2. The platform sends the browser to `/oauth/<platform>/callback?code=…&state=…`
   (`socialhub/routes/oauth.py`). `consume_state` finds the state, checks it belongs to the
   signed-in user, and deletes it (single use) in its own transaction.
3. `complete_connect` trades the code for tokens and stores the account with its tokens
   encrypted (`platform_accounts.connect_account`); a Facebook login connects every Page the
   person manages. Reconnecting an account resumes its paused posts.
No network call happens inside a database transaction on the routes' path: `begin_connect` and
`connect_with_code` read in one short transaction, talk to the platform with none open (app
registration, code exchange), and write in another. `start_connect`/`complete_connect` take
the caller's session instead (for code that already holds one).

Bluesky has no OAuth here: `connect_bluesky` logs in with a handle and an app password
(createSession); the app password is kept encrypted so an expired refresh token can log in again.
The hub needs nothing: `schedule.hub.timeline.connect_hub_account`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session, select

from socialhub.core import crypto, ratelimit
from socialhub.core.config import get_settings
from socialhub.channels.adapters import get_adapter, OAuthTokens, PlatformError
from socialhub.channels.adapters.http import REFUSED_CODE
from socialhub.channels.adapters.oauth import new_state
from socialhub.channels.adapters.types import AuthorizationStart
from socialhub.core.models import utcnow
from socialhub.channels.models import OAuthState, PlatformAccount, PlatformApp
from socialhub.channels import accounts
from socialhub.core.db import session_scope as _session_scope
from socialhub.identity import teams, users
from socialhub.core.errors import PermissionDenied, ValidationError
from socialhub.core.secrets import hash_token

OAUTH_PLATFORMS = ("mastodon", "x", "linkedin", "threads", "instagram", "facebook")
STATE_MINUTES = 10
APP_NAME = "SocialHub"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class PendingConnect:
    """A consumed OAuth state: who connects what, where the code goes back to."""

    team_id: int
    user_id: int
    platform: str
    base_url: str
    redirect_uri: str
    code_verifier: str | None


def redirect_uri(platform: str) -> str:
    return f"{get_settings().public_url}/oauth/{platform}/callback"


def normalize_instance(value: str) -> str:
    """`mastodon.social`, `https://mastodon.social/`, or `@me@mastodon.social` → `https://mastodon.social`.

    Only https, except for this machine (local test servers). No paths, users or queries.
    """
    value = (value or "").strip()
    if value.startswith("@") and value.count("@") == 2:
        value = value.rsplit("@", 1)[1]
    if "://" not in value:
        value = "https://" + value
    try:
        parts = urlsplit(value)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        raise ValidationError("Enter the address of your Mastodon server, like mastodon.social.") from None
    if not host or parts.username or parts.password or parts.query or parts.fragment or parts.path.strip("/"):
        raise ValidationError("Enter the address of your Mastodon server, like mastodon.social.")
    if parts.scheme != "https" and not (parts.scheme == "http" and host in LOOPBACK_HOSTS):
        raise ValidationError("Mastodon servers must be reached over https.")
    if len(host) > 253 or not all(c.isalnum() or c in ".-:" for c in host):
        raise ValidationError("That is not a server address.")
    netloc = f"[{host}]" if ":" in host else host  # an IPv6 address keeps its brackets
    netloc = netloc if port is None else f"{netloc}:{port}"
    return f"{parts.scheme}://{netloc}"


def _app_context(app_id: int) -> str:
    return f"platform_app:{app_id}"


def reencrypt_app_secrets(session: Session) -> int:
    """Re-encrypt registered apps' client secrets with the current key (`socialhub rotate-keys`).

    Pending connects (PKCE verifiers) are not re-encrypted: they expire within minutes."""
    count = 0
    for app in session.exec(select(PlatformApp)):
        if app.client_secret_ciphertext and crypto.needs_reencrypt(app.client_secret_ciphertext):
            app.client_secret_ciphertext = crypto.reencrypt(app.client_secret_ciphertext, context=_app_context(app.id))
            session.add(app)
            count += 1
    return count


@dataclass(frozen=True)
class _AppKeys:
    """SocialHub's app on one Mastodon instance, read out of the database."""

    client_id: str
    client_secret: str | None


def _stored_mastodon_app(session: Session, *, base_url: str) -> _AppKeys | None:
    uri = redirect_uri("mastodon")
    app = session.exec(select(PlatformApp).where(PlatformApp.platform == "mastodon", PlatformApp.base_url == base_url,
                                                 PlatformApp.redirect_uri == uri)).first()
    if app is None:
        return None
    secret = crypto.decrypt(app.client_secret_ciphertext, context=_app_context(app.id)) if app.client_secret_ciphertext else None
    return _AppKeys(app.client_id, secret)


def _register_mastodon_app(*, base_url: str):
    """POST /api/v1/apps on the instance (network only: call it with no transaction open)."""
    adapter = get_adapter("mastodon", base_url=base_url, client=accounts.http_client())
    try:
        return adapter.register_app(client_name=APP_NAME, redirect_uri=redirect_uri("mastodon"), website=get_settings().public_url)
    except PlatformError as exc:
        raise ValidationError(f"Could not register SocialHub with {base_url}: {exc.message}") from None
    finally:
        adapter.close()


def _save_mastodon_app(session: Session, *, base_url: str, registered) -> PlatformApp:
    """Store a registration; when another one got there first, theirs is kept and returned."""
    uri = redirect_uri("mastodon")
    session.execute(insert(PlatformApp).values(
        platform="mastodon", base_url=base_url, redirect_uri=uri, scopes=registered.scopes, client_id=registered.client_id,
        client_secret_ciphertext="", created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["platform", "base_url", "redirect_uri"]))
    app = session.exec(select(PlatformApp).where(PlatformApp.platform == "mastodon", PlatformApp.base_url == base_url,
                                                 PlatformApp.redirect_uri == uri)).one()
    if not app.client_secret_ciphertext and app.client_id == registered.client_id:
        app.client_secret_ciphertext = crypto.encrypt(registered.client_secret, context=_app_context(app.id))
        session.add(app)
        session.flush()
    return app


def mastodon_app(session: Session, *, base_url: str) -> PlatformApp:
    """SocialHub's app on this Mastodon instance, registered (POST /api/v1/apps) on first use.

    The registration is a network call made in `session`'s transaction: the routes use
    `begin_connect`/`connect_with_code`, which register with no transaction open."""
    uri = redirect_uri("mastodon")
    app = session.exec(select(PlatformApp).where(PlatformApp.platform == "mastodon", PlatformApp.base_url == base_url,
                                                 PlatformApp.redirect_uri == uri)).first()
    if app is not None:
        return app
    return _save_mastodon_app(session, base_url=base_url, registered=_register_mastodon_app(base_url=base_url))


def _app_keys(session_for, platform: str, base_url: str) -> _AppKeys | None:
    """The Mastodon app's keys (registered first if needed); None for other platforms.

    `session_for()` gives a context manager around a session: each database step takes its own,
    and the registration in between runs with none open."""
    if platform != "mastodon":
        return None
    with session_for() as session:
        keys = _stored_mastodon_app(session, base_url=base_url)
    if keys is not None:
        return keys
    registered = _register_mastodon_app(base_url=base_url)
    with session_for() as session:
        _save_mastodon_app(session, base_url=base_url, registered=registered)
        return _stored_mastodon_app(session, base_url=base_url)


def _oauth_adapter(platform: str, base_url: str, keys: _AppKeys | None):
    """The adapter for an OAuth round trip (no database)."""
    if platform == "mastodon":
        assert keys is not None
        return get_adapter("mastodon", base_url=base_url, client=accounts.http_client(),
                           client_id=keys.client_id, client_secret=keys.client_secret)
    options = accounts.adapter_options(None, platform)
    if not options.get("client_id"):
        prefix = platform.upper()
        raise ValidationError(f"{accounts.platform_display_name(platform)} is not set up on this server: "
                              f"set {prefix}_CLIENT_ID and {prefix}_CLIENT_SECRET (see the README).")
    return get_adapter(platform, **options)


def _adapter(session: Session, platform: str, base_url: str = ""):
    keys = None
    if platform == "mastodon":
        app = mastodon_app(session, base_url=base_url)
        secret = crypto.decrypt(app.client_secret_ciphertext, context=_app_context(app.id)) if app.client_secret_ciphertext else None
        keys = _AppKeys(app.client_id, secret)
    return _oauth_adapter(platform, base_url, keys)


class _Given:
    """`session_for` over a session the caller holds (it commits; nothing is closed here)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def __call__(self):
        return self

    def __enter__(self) -> Session:
        return self.session

    def __exit__(self, *exc_info) -> None:
        return None


def _check_start(session: Session, *, team_id: int, actor_id: int, platform: str, instance: str | None) -> str:
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    if platform not in OAUTH_PLATFORMS:
        raise ValidationError("Choose Mastodon, X, LinkedIn, Threads, Instagram or Facebook (Bluesky uses an app password).")
    ratelimit.check("connect_account", actor_id)
    return normalize_instance(instance or "") if platform == "mastodon" else ""


def _authorization(platform: str, base_url: str, keys: _AppKeys | None) -> AuthorizationStart:
    adapter = _oauth_adapter(platform, base_url, keys)
    uri = redirect_uri(platform)
    try:
        if hasattr(adapter, "start_authorization"):
            return adapter.start_authorization(redirect_uri=uri)
        state = new_state()
        return AuthorizationStart(adapter.authorization_url(redirect_uri=uri, state=state), state, None)
    finally:
        adapter.close()


def _save_state(session: Session, *, team_id: int, actor_id: int, platform: str, base_url: str, start: AuthorizationStart) -> None:
    state_hash = hash_token(start.state)
    session.add(OAuthState(
        state_hash=state_hash, team_id=team_id, user_id=actor_id, platform=platform, base_url=base_url,
        redirect_uri=redirect_uri(platform),
        code_verifier_ciphertext=crypto.encrypt(start.code_verifier, context=f"oauth_state:{state_hash}") if start.code_verifier else "",
        expires_at=utcnow() + timedelta(minutes=STATE_MINUTES),
    ))
    session.flush()


def start_connect(session: Session, *, team_id: int, actor_id: int, platform: str, instance: str | None = None) -> str:
    """Begin connecting an account; returns the URL to send the browser to.

    Uses `session` throughout (a first Mastodon registration happens inside its transaction);
    the route uses `begin_connect`, which holds no transaction while it talks to the platform."""
    base_url = _check_start(session, team_id=team_id, actor_id=actor_id, platform=platform, instance=instance)
    keys = _app_keys(_Given(session), platform, base_url)
    start = _authorization(platform, base_url, keys)
    _save_state(session, team_id=team_id, actor_id=actor_id, platform=platform, base_url=base_url, start=start)
    return start.url


def begin_connect(*, team_id: int | None, actor_id: int, platform: str, instance: str | None = None) -> str:
    """`start_connect` for the route: checks in one short transaction, a first Mastodon app
    registration with no transaction open, the state saved in another. `team_id` None: the
    person's active team."""
    with _session_scope() as session:
        if team_id is None:
            team_id = teams.active_team_id(session, user=users.get_user(session, user_id=actor_id))
        base_url = _check_start(session, team_id=team_id, actor_id=actor_id, platform=platform, instance=instance)
    keys = _app_keys(_session_scope, platform, base_url)
    start = _authorization(platform, base_url, keys)
    with _session_scope() as session:
        _save_state(session, team_id=team_id, actor_id=actor_id, platform=platform, base_url=base_url, start=start)
    return start.url


def consume_state(session: Session, *, platform: str, state: str, user_id: int) -> PendingConnect:
    """Take (and delete) the state of a callback; it must be fresh, for this platform and this user."""
    state_hash = hash_token(state or "")
    row = session.exec(select(OAuthState).where(OAuthState.state_hash == state_hash).with_for_update().execution_options(populate_existing=True)).first()
    if row is None or row.platform != platform or row.expires_at < utcnow():
        raise ValidationError("This connection attempt expired or was already used. Start connecting again.")
    if row.user_id != user_id:
        raise PermissionDenied("This connection was started by someone else. Start connecting again yourself.")
    verifier = crypto.decrypt(row.code_verifier_ciphertext, context=f"oauth_state:{state_hash}") if row.code_verifier_ciphertext else None
    pending = PendingConnect(row.team_id, row.user_id, row.platform, row.base_url, row.redirect_uri, verifier)
    session.delete(row)
    session.flush()
    return pending


@dataclass(frozen=True)
class _Fetched:
    tokens: OAuthTokens
    limits: object = None
    pages: list | None = None


def _fetch_tokens(pending: PendingConnect, code: str, keys: _AppKeys | None) -> _Fetched:
    """Trade the code for tokens (and a Mastodon server's limits, a Facebook login's Pages): network only."""
    name = accounts.platform_display_name(pending.platform)
    if not code:
        raise ValidationError(f"{name} did not send a code back; try connecting again.")
    adapter = _oauth_adapter(pending.platform, pending.base_url, keys)
    limits = None
    try:
        kwargs = {"code": code, "redirect_uri": pending.redirect_uri}
        if pending.code_verifier:
            kwargs["code_verifier"] = pending.code_verifier
        tokens = adapter.exchange_code(**kwargs)
        if pending.platform == "mastodon":
            try:
                limits = adapter.fetch_instance_limits()
            except PlatformError:
                limits = None  # the defaults (500 characters) until the next refresh
        pages = adapter.list_pages(tokens.access_token) if pending.platform == "facebook" else None
    except PlatformError as exc:
        raise ValidationError(f"{name} refused the connection: {exc.message}") from None
    finally:
        adapter.close()
    if pages is not None and not pages:
        raise ValidationError("This Facebook login manages no Page; SocialHub publishes to Pages.")
    return _Fetched(tokens, limits, pages)


def _store_connected(session: Session, pending: PendingConnect, fetched: _Fetched) -> list[PlatformAccount]:
    tokens = fetched.tokens
    if fetched.pages is not None:
        return [
            accounts.connect_account(
                session, team_id=pending.team_id, actor_id=pending.user_id, platform="facebook",
                tokens=OAuthTokens(access_token=page["access_token"], refresh_token=tokens.access_token,
                                   account_id=str(page["id"]), handle=page.get("name") or str(page["id"])),
            )
            for page in fetched.pages
        ]
    return [accounts.connect_account(session, team_id=pending.team_id, actor_id=pending.user_id,
                                     platform=pending.platform, tokens=tokens, base_url=pending.base_url, limits=fetched.limits)]


def complete_connect(session: Session, *, pending: PendingConnect, code: str) -> list[PlatformAccount]:
    """Trade the code for tokens and store the account(s) with `session` (the route uses
    `connect_with_code`, which holds no transaction while it talks to the platform)."""
    keys = _app_keys(_Given(session), pending.platform, pending.base_url)
    return _store_connected(session, pending, _fetch_tokens(pending, code, keys))


def connect_with_code(*, pending: PendingConnect, code: str) -> list[PlatformAccount]:
    """`complete_connect` for the route: the app's keys read in one short transaction, the code
    traded with none open, the account(s) stored in another."""
    keys = _app_keys(_session_scope, pending.platform, pending.base_url) if code else None
    fetched = _fetch_tokens(pending, code, keys)
    with _session_scope() as session:
        return _store_connected(session, pending, fetched)


def connect_bluesky(session: Session, *, team_id: int, actor_id: int, identifier: str, app_password: str,
                    service_url: str | None = None) -> PlatformAccount:
    """Log in to Bluesky with a handle (or e-mail) and an app password, and store the session."""
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    identifier = (identifier or "").strip().lstrip("@")
    if not identifier or not app_password:
        raise ValidationError("Enter your Bluesky handle and an app password (Settings → Privacy → App passwords).")
    ratelimit.check("connect_account", actor_id)
    base_url = normalize_instance(service_url) if service_url else ""
    options = accounts.adapter_options(None, "bluesky")
    if base_url:
        options["base_url"] = base_url
    adapter = get_adapter("bluesky", **options)
    try:
        tokens = adapter.create_session(identifier, app_password, base_url=base_url or None)
    except PlatformError as exc:
        if exc.code == REFUSED_CODE:  # the login server or the PDS it named is a private address
            raise ValidationError(f"Your Bluesky server cannot be used: {exc.message}") from None
        raise ValidationError(f"Bluesky refused this login: {exc.message}") from None
    finally:
        adapter.close()
    return accounts.connect_account(
        session, team_id=team_id, actor_id=actor_id, platform="bluesky", tokens=tokens,
        base_url=tokens.base_url or base_url, secrets={"app_password": app_password},
    )
