"""Platform accounts of a team: connecting, reading, credentials, adapters, token refresh,
"needs reconnect", and the weekly time slots of the queue.

Invariants:
- Tokens are stored only as ciphertext, each bound to its row and column by the encryption
  context `platform_account:<id>:<column>`; `credentials_for` is the one place that decrypts.
- One refresh per account at a time: `refresh_account_token` holds the account row lock
  (`SELECT … FOR UPDATE`) across the platform call, and a caller that waited for the lock uses
  the token the other refresh stored instead of refreshing again. The refresh job takes the
  lock with SKIP LOCKED so several scheduler processes spread the work.
- An account whose token cannot be refreshed is `needs_reconnect`: its waiting targets are
  `paused` (not failed) and the owners are told. Connecting it again resumes them.
- Connecting, changing and disconnecting accounts needs an admin or owner; anyone in the team
  may list them.
"""

from __future__ import annotations

import inspect
import json
import threading
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timedelta
from functools import lru_cache
from collections.abc import Callable
from typing import Any

import httpx
from sqlmodel import Session, select

from socialhub.core import crypto, egress
from socialhub.channels.adapters import (
    AccountCredentials,
    AuthError,
    get_adapter,
    OAuthTokens,
    PlatformAdapter,
    PlatformError,
    PlatformLimits,
)
from socialhub.channels.adapters.registry import ADAPTERS
from socialhub.core.models import utcnow
from socialhub.identity.models import User
from socialhub.channels.models import PlatformAccount, PlatformApp
from socialhub.core import outbox
from socialhub.identity import notifications, teams
from socialhub.core.errors import NotFound, ValidationError
from socialhub.core.timezones import clean_timezone
from socialhub.channels.config import (
    client_credentials,
    endpoint_overrides,
    http_connections,
    http_timeout_seconds,
    http_total_seconds,
    token_refresh_margin_minutes,
)

HUB_PLATFORM = "hub"  # SocialHub's own network: no token, never refreshed (its adapter lives in schedule/hub)

# What other packages do when an account changes. Schedule registers its handlers when it is
# imported (`schedule/targets.py`): it pauses, resumes or cancels the posts waiting for the
# account. Channels never imports Schedule. A handler returns the ids of the posts it touched.
AccountHandler = Callable[..., list[int]]
ACCOUNT_EVENTS = ("disconnected", "needs_reconnect", "reconnected")
_handlers: dict[str, list[AccountHandler]] = {event: [] for event in ACCOUNT_EVENTS}


def on_account_event(event: str, handler: AccountHandler) -> None:
    """Call `handler(session, account=…, actor_id=…)` in the transaction that changes the account."""
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def _emit(event: str, session: Session, *, account: PlatformAccount, actor_id: int | None) -> list[int]:
    post_ids: set[int] = set()
    for handler in _handlers[event]:
        post_ids.update(handler(session, account=account, actor_id=actor_id))
    return sorted(post_ids)


class AccountNeedsReconnect(Exception):
    """The platform refused the account's credentials for good; it was marked needs_reconnect."""


@dataclass(frozen=True)
class AccountView:
    """What the Settings → Accounts list and the composer's account picker show."""

    id: int
    platform: str
    platform_name: str
    handle: str
    display_name: str
    base_url: str
    timezone: str
    status: str
    status_detail: str
    token_expires_at: datetime | None
    max_text_length: int


# ---- reading ---------------------------------------------------------------------------------

def platform_display_name(platform: str) -> str:
    adapter = ADAPTERS.get(platform)
    return adapter.display_name if adapter is not None else platform


def _view(account: PlatformAccount) -> AccountView:
    return AccountView(
        id=account.id, platform=account.platform, platform_name=platform_display_name(account.platform),
        handle=account.handle, display_name=account.display_name or account.handle, base_url=account.base_url,
        timezone=account.timezone, status=account.status, status_detail=account.status_detail,
        token_expires_at=account.token_expires_at, max_text_length=limits_for(account).max_text_length,
    )


def list_accounts(session: Session, *, team_id: int, user_id: int, include_disconnected: bool = False) -> list[AccountView]:
    """The team's accounts, hub first. Any member may read them."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    stmt = select(PlatformAccount).where(PlatformAccount.team_id == team_id)
    if not include_disconnected:
        stmt = stmt.where(PlatformAccount.status != "disconnected")
    rows = session.exec(stmt.order_by(PlatformAccount.platform != "hub", PlatformAccount.platform, PlatformAccount.handle))
    return [_view(a) for a in rows]


def get_account(session: Session, *, team_id: int, user_id: int, account_id: int, minimum: str = "viewer") -> PlatformAccount:
    """One account of the team, after checking the user's role (NotFound for other teams' accounts)."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum=minimum)
    account = session.get(PlatformAccount, account_id)
    if account is None or account.team_id != team_id:
        raise NotFound("This account does not exist or belongs to another team.")
    return account


def team_accounts(session: Session, *, team_id: int, account_ids: list[int]) -> list[PlatformAccount]:
    """The given accounts, all checked to belong to the team and to be usable."""
    ids = list(dict.fromkeys(account_ids))
    rows = {a.id: a for a in session.exec(select(PlatformAccount).where(PlatformAccount.id.in_(ids)))} if ids else {}
    out = []
    for account_id in ids:
        account = rows.get(account_id)
        if account is None or account.team_id != team_id:
            raise NotFound("One of the chosen accounts does not exist or belongs to another team.")
        if account.status == "disconnected":
            raise ValidationError(f"{platform_display_name(account.platform)} {account.handle} is disconnected; connect it again first.")
        out.append(account)
    return out


# ---- secrets ---------------------------------------------------------------------------------

def _context(account_id: int, column: str) -> str:
    return f"platform_account:{account_id}:{column}"


def credentials_for(account: PlatformAccount) -> AccountCredentials:
    """Decrypt the account's tokens into what an adapter needs."""
    def dec(column: str) -> str | None:
        value = getattr(account, f"{column}_ciphertext")
        return crypto.decrypt(value, context=_context(account.id, column)) if value else None

    secrets = json.loads(dec("secrets") or "{}")
    return AccountCredentials(
        access_token=dec("access_token") or "",
        refresh_token=dec("refresh_token"),
        expires_at=account.token_expires_at,
        base_url=account.base_url or None,
        account_id=account.external_id,
        handle=account.handle or None,
        extra=secrets,
    )


def store_tokens(account: PlatformAccount, tokens: OAuthTokens, *, secrets: dict[str, Any] | None = None) -> None:
    """Encrypt and keep new tokens (the account must have an id). A refresh without a new
    refresh token keeps the old one."""
    assert account.id is not None, "flush the account before storing tokens"
    account.access_token_ciphertext = crypto.encrypt(tokens.access_token, context=_context(account.id, "access_token"))
    if tokens.refresh_token:
        account.refresh_token_ciphertext = crypto.encrypt(tokens.refresh_token, context=_context(account.id, "refresh_token"))
    if secrets is not None:
        account.secrets_ciphertext = (
            crypto.encrypt(json.dumps(secrets), context=_context(account.id, "secrets")) if secrets else ""
        )
    account.token_expires_at = tokens.expires_at
    account.updated_at = utcnow()


def reencrypt_tokens(session: Session) -> int:
    """Re-encrypt every stored token with the current key (after `socialhub rotate-keys`)."""
    count = 0
    for account in session.exec(select(PlatformAccount)):
        for column in ("access_token", "refresh_token", "secrets"):
            value = getattr(account, f"{column}_ciphertext")
            if value and crypto.needs_reencrypt(value):
                setattr(account, f"{column}_ciphertext", crypto.reencrypt(value, context=_context(account.id, column)))
                count += 1
        session.add(account)
    return count


# ---- adapters --------------------------------------------------------------------------------

USER_AGENT = "SocialHub (+https://github.com/socialhub)"


class _NoCookies(httpx.Cookies):
    """An empty cookie jar that stays empty: keeps no cookie a platform sets, sends none."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None

    def __bool__(self) -> bool:
        return False


_NO_COOKIES = _NoCookies()


class AdapterClient(egress.Client):
    """The egress client without a cookie jar (and without httpx's cookie work per request)."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, value) -> None:
        return None


_client_lock = threading.Lock()
_client: httpx.Client | None = None


def new_http_client(*, max_connections: int) -> httpx.Client:
    """The adapters' HTTP client: the `core.egress` client (every address checked, one overall
    deadline per request; `AdapterClient` only drops its cookie jar) with a pool of `max_connections` kept-alive connections, shared by the threads that
    use it (one per publishing engine), `PUBLISH_HTTP_TIMEOUT_SECONDS` per phase and
    `PUBLISH_HTTP_TOTAL_SECONDS` per request, and no cookie jar: platform APIs authenticate with
    tokens, and a jar shared by every account would carry one account's cookies into another's
    requests.

    `max_connections` must be at least the number of threads that send through the client at
    once: httpcore 1.0.9 can close a connection under a request that had to wait for one
    (encode/httpcore#1110), which an adapter would see as a lost answer.
    """
    timeout = http_timeout_seconds()
    return AdapterClient(
        timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
        limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections,
                            keepalive_expiry=60.0),
        total_seconds=http_total_seconds(),
        headers={"User-Agent": USER_AGENT},
    )


def http_client() -> httpx.Client:
    """One pooled HTTP client per process for adapters outside the publisher (thread-safe)."""
    global _client
    with _client_lock:
        if _client is None or _client.is_closed:
            _client = new_http_client(max_connections=http_connections())
        return _client


def close_http_client() -> None:
    global _client
    with _client_lock:
        if _client is not None:
            _client.close()
            _client = None


@lru_cache(maxsize=64)
def _accepted_options(adapter_class: type) -> frozenset[str] | None:
    """Keyword options the adapter's constructor chain accepts (None: anything)."""
    names: set[str] = set()
    for klass in adapter_class.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        params = inspect.signature(init).parameters.values()
        names.update(p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD))
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            return frozenset(names - {"self"})
    return None


def limits_to_json(limits: PlatformLimits) -> dict[str, Any]:
    return {k: sorted(v) if isinstance(v, frozenset) else v for k, v in asdict(limits).items()}


def limits_from_json(data: dict[str, Any]) -> PlatformLimits | None:
    names = {f.name for f in fields(PlatformLimits)}
    if not data or "max_text_length" not in data:
        return None
    kwargs = {k: frozenset(v) if isinstance(v, list) else v for k, v in data.items() if k in names}
    return PlatformLimits(**kwargs)


def adapter_options(account: PlatformAccount | None, platform: str, *, client: httpx.Client | None = None,
                    session: Session | None = None) -> dict[str, Any]:
    """Constructor options for the account's adapter: its server, SocialHub's client app, the
    cached instance limits, endpoint overrides from the environment, and the shared HTTP client."""
    adapter_class = ADAPTERS.get(platform)
    if adapter_class is None:
        return {}
    client_id, client_secret = client_credentials(platform)
    options: dict[str, Any] = {"client": client or http_client(), "client_id": client_id, "client_secret": client_secret}
    options.update(endpoint_overrides(platform))
    if account is not None:
        if account.base_url:
            options["base_url"] = account.base_url
        cached = limits_from_json(account.limits)
        if cached is not None:
            options["limits"] = cached
        if session is not None and platform == "mastodon":  # per-instance app registration
            app = session.exec(select(PlatformApp).where(PlatformApp.platform == platform, PlatformApp.base_url == account.base_url)
                               .order_by(PlatformApp.id.desc())).first()
            if app is not None:
                options["client_id"] = app.client_id
                options["client_secret"] = crypto.decrypt(app.client_secret_ciphertext, context=f"platform_app:{app.id}") if app.client_secret_ciphertext else None
    accepted = _accepted_options(adapter_class)
    if accepted is not None:
        options = {k: v for k, v in options.items() if k in accepted}
    return {k: v for k, v in options.items() if v is not None}


def adapter_for(account: PlatformAccount, *, client: httpx.Client | None = None, session: Session | None = None) -> PlatformAdapter:
    """A ready adapter for the account (hub included)."""
    return get_adapter(account.platform, **adapter_options(account, account.platform, client=client, session=session))


def limits_for(account: PlatformAccount) -> PlatformLimits:
    """The account's limits: cached from its server when known, else the platform's defaults."""
    cached = limits_from_json(account.limits)
    if cached is not None:
        return cached
    adapter = ADAPTERS.get(account.platform)
    if adapter is None:
        return PlatformLimits(max_text_length=500)
    try:
        instance = adapter(**adapter_options(account, account.platform))
    except TypeError:
        return PlatformLimits(max_text_length=500)
    return instance.limits


# ---- connecting -------------------------------------------------------------------------------

def connect_account(
    session: Session,
    *,
    team_id: int,
    actor_id: int,
    platform: str,
    tokens: OAuthTokens,
    base_url: str = "",
    handle: str = "",
    display_name: str = "",
    secrets: dict[str, Any] | None = None,
    limits: PlatformLimits | None = None,
) -> PlatformAccount:
    """Store a connected account (or refresh an existing one's tokens) and resume its paused posts.

    The same platform account connected twice in a team is one row: reconnecting updates it.
    """
    teams.require_role(session, team_id=team_id, user_id=actor_id, minimum="admin")
    if platform not in ADAPTERS:
        raise ValidationError(f"SocialHub cannot publish to {platform!r}.")
    external_id = tokens.account_id or ""
    if not external_id:
        raise ValidationError("The platform did not say which account this is; try connecting again.")
    base_url = (tokens.base_url or base_url or "").rstrip("/")
    account = session.exec(
        select(PlatformAccount).where(
            PlatformAccount.team_id == team_id, PlatformAccount.platform == platform,
            PlatformAccount.base_url == base_url, PlatformAccount.external_id == external_id,
        ).with_for_update().execution_options(populate_existing=True)
    ).first()
    was_paused = account is not None and account.status != "ok"
    if account is None:
        actor = session.get(User, actor_id)
        account = PlatformAccount(team_id=team_id, platform=platform, external_id=external_id, base_url=base_url,
                                  timezone=actor.timezone if actor else "UTC", connected_by_id=actor_id)
        session.add(account)
        session.flush()
    account.handle = (tokens.handle or handle or account.handle or external_id)[:200]
    account.display_name = (display_name or account.display_name or account.handle)[:200]
    account.status, account.status_detail = "ok", ""
    account.rate_limited_until = None
    account.last_refreshed_at = utcnow()
    if limits is not None:
        account.limits = limits_to_json(limits)
        account.limits_fetched_at = utcnow()
    store_tokens(account, tokens, secrets=secrets if secrets is not None else None)
    session.add(account)
    session.flush()
    if was_paused:
        _emit("reconnected", session, account=account, actor_id=actor_id)
    return account


def update_account(session: Session, *, team_id: int, actor_id: int, account_id: int,
                   timezone: str | None = None, display_name: str | None = None) -> PlatformAccount:
    """Change the account's time zone (its slots keep their local times) or its label."""
    account = get_account(session, team_id=team_id, user_id=actor_id, account_id=account_id, minimum="admin")
    if timezone is not None:
        account.timezone = clean_timezone(timezone)
    if display_name is not None:
        name = " ".join(display_name.split())
        if not 1 <= len(name) <= 200:
            raise ValidationError("An account label needs 1 to 200 characters.")
        account.display_name = name
    account.updated_at = utcnow()
    session.add(account)
    return account


def disconnect_account(session: Session, *, team_id: int, actor_id: int, account_id: int) -> PlatformAccount:
    """Forget the account's tokens and cancel what it still had to publish (history stays)."""
    account = get_account(session, team_id=team_id, user_id=actor_id, account_id=account_id, minimum="admin")
    account.status, account.status_detail = "disconnected", "Disconnected by a team member."
    account.access_token_ciphertext = account.refresh_token_ciphertext = account.secrets_ciphertext = ""
    account.token_expires_at = None
    session.add(account)
    _emit("disconnected", session, account=account, actor_id=actor_id)
    return account


# ---- needs reconnect, pause and resume ----------------------------------------------------------

def mark_needs_reconnect(session: Session, *, account: PlatformAccount, reason: str) -> list[int]:
    """Mark the account, pause its waiting targets (not fail them), tell the owners. Returns paused post ids."""
    already = account.status == "needs_reconnect"
    account.status = "needs_reconnect"
    account.status_detail = (reason or "The platform refused the saved login.")[:500]
    account.updated_at = utcnow()
    session.add(account)
    name = platform_display_name(account.platform)
    post_ids = _emit("needs_reconnect", session, account=account, actor_id=None)
    if not already:
        people = set(teams.team_owner_ids(session, team_id=account.team_id))
        if account.connected_by_id:
            people.add(account.connected_by_id)
        title = f"Reconnect {name} {account.handle}"
        body = (f"{name} no longer accepts SocialHub's saved login for {account.handle} ({account.status_detail}). "
                f"{len(post_ids)} scheduled post(s) are paused, not lost: reconnect the account in Settings → Accounts "
                "and they continue.")
        for user_id in people:
            notifications.notify(session, user_id=user_id, kind="account_reconnect", title=title, body=body,
                                 link="/settings#accounts")
            user = session.get(User, user_id)
            if user is not None:
                outbox.send_email(session, to=user.email, subject=f"SocialHub: {title}", text=body)
    return post_ids


def mark_account_needs_reconnect(*, account_id: int, reason: str) -> None:
    """`mark_needs_reconnect` in its own transaction (for the publisher)."""
    from socialhub.core.db import session_scope

    with session_scope() as session:
        account = session.exec(select(PlatformAccount).where(PlatformAccount.id == account_id).with_for_update().execution_options(populate_existing=True)).first()
        if account is not None and account.status == "ok":
            mark_needs_reconnect(session, account=account, reason=reason)


# ---- token refresh ------------------------------------------------------------------------------

def refresh_account_token(*, account_id: int, force: bool = False, failed_access_token: str | None = None,
                          client: httpx.Client | None = None) -> AccountCredentials:
    """Fresh credentials for the account, refreshing its token if it is about to expire, if
    `force`, or if `failed_access_token` (the token a platform just refused) is still the stored one.

    Holds the account's row lock across the platform call, so one refresh runs per account;
    a caller that waited gets the tokens the other stored. Raises `AccountNeedsReconnect` when
    the platform refuses the refresh (the account is then marked, its posts paused, owners told),
    and the adapter's `PlatformError` when the platform could not be reached (try again later).
    """
    from socialhub.core.db import session_scope

    reconnect_reason: str | None = None
    with session_scope() as session:
        account = session.exec(select(PlatformAccount).where(PlatformAccount.id == account_id).with_for_update().execution_options(populate_existing=True)).first()
        if account is None:
            raise NotFound("This account no longer exists.")
        if account.status != "ok":
            raise AccountNeedsReconnect(account.status_detail or "the account needs to be reconnected")
        credentials = credentials_for(account)
        margin = token_refresh_margin_minutes() * 60
        if failed_access_token is not None:
            if credentials.access_token != failed_access_token:
                return credentials  # another process refreshed while we waited for the lock
        elif not force and not credentials.expires_within(margin):
            return credentials
        adapter = adapter_for(account, client=client, session=session)
        try:
            tokens = adapter.refresh_token(credentials)
        except AuthError as exc:
            reconnect_reason = exc.message
            mark_needs_reconnect(session, account=account, reason=exc.message)
        else:
            store_tokens(account, tokens)
            account.last_refreshed_at = utcnow()
            session.add(account)
            credentials = credentials.with_tokens(tokens)
    if reconnect_reason is not None:
        raise AccountNeedsReconnect(reconnect_reason)
    return credentials


def refresh_expiring_tokens(*, now: datetime | None = None, limit: int = 20) -> int:
    """Refresh tokens that expire within the margin (the scheduler job). Returns how many were refreshed.

    Each account is taken with SKIP LOCKED, so concurrent scheduler processes refresh different
    accounts and never the same one twice.
    """
    from socialhub.core.db import session_scope

    now = now or utcnow()
    horizon = now + timedelta(minutes=token_refresh_margin_minutes())
    with session_scope() as session:
        ids = list(session.exec(
            select(PlatformAccount.id).where(
                PlatformAccount.status == "ok", PlatformAccount.token_expires_at.is_not(None),
                PlatformAccount.token_expires_at < horizon, PlatformAccount.platform != HUB_PLATFORM,
            ).order_by(PlatformAccount.token_expires_at).limit(limit)
        ))
    refreshed = 0
    for account_id in ids:
        if _refresh_if_free(account_id, horizon):
            refreshed += 1
    return refreshed


def _refresh_if_free(account_id: int, horizon: datetime) -> bool:
    from socialhub.core.db import session_scope

    with session_scope() as session:  # skip accounts another process is refreshing right now
        locked = session.exec(select(PlatformAccount.id).where(
            PlatformAccount.id == account_id, PlatformAccount.token_expires_at < horizon, PlatformAccount.status == "ok"
        ).with_for_update(skip_locked=True)).first()
        if locked is None:
            return False
    try:
        refresh_account_token(account_id=account_id, force=True)
    except (AccountNeedsReconnect, PlatformError):
        return False
    return True


# ---- time slots ---------------------------------------------------------------------------------






