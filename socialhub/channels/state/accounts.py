"""Settings → Accounts: the team's platform accounts, connecting them, their status and their
weekly queue times.

Connecting: the hub and Bluesky (app password) connect here; the OAuth platforms go through the
`/oauth/<platform>/start` route (a full page load, so the platform's page opens), which comes
back to `/settings?connected=…` or `?connect_error=…`; the Settings page's Accounts card sends
those on to this page, which shows them. Any member sees the accounts; admins and owners change
them (the services check).
"""

from __future__ import annotations

import dataclasses
import json
from urllib.parse import urlencode

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity import users as user_accounts
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule.hub import timeline
from socialhub.channels import connect
from socialhub.schedule import queue
from socialhub.identity import teams
from socialhub.core.errors import NotFound, ServiceError
from socialhub.channels.config import client_credentials
from socialhub.ui.state import AppState
from socialhub.schedule.queue import WEEKDAYS

MAX_FIELD = 500
OAUTH_NAMES = {"mastodon": "Mastodon", "x": "X", "linkedin": "LinkedIn", "threads": "Threads",
               "instagram": "Instagram", "facebook": "Facebook Page"}
STATUS_WORDS = {"ok": "connected", "needs_reconnect": "needs reconnecting", "disconnected": "disconnected"}
DAY_CHOICES = [("weekdays", "Every weekday"), ("all", "Every day")] + [(str(i), d) for i, d in enumerate(WEEKDAYS)]


@dataclasses.dataclass
class SlotRow:
    key: str = ""  # "weekday|HH:MM"
    day: str = ""
    time: str = ""


@dataclasses.dataclass
class AccountRow:
    id: int = 0
    platform: str = ""
    platform_name: str = ""
    handle: str = ""
    display_name: str = ""
    base_url: str = ""
    status: str = ""
    status_label: str = ""
    needs_reconnect: bool = False
    detail: str = ""
    timezone: str = ""
    expires: str = ""
    slots: list[SlotRow] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class PlatformOption:
    platform: str = ""
    name: str = ""
    ready: bool = False
    hint: str = ""


def _f(form: dict, key: str, limit: int = MAX_FIELD) -> str:
    return str(form.get(key, ""))[:limit]


def _id(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise NotFound("That account no longer exists.") from None


def connect_result_path(params: dict) -> str | None:
    """Where the Settings page sends an OAuth round trip's result (None: nothing to forward)."""
    keep = {k: str(params[k])[:300] for k in ("connected", "handles", "connect_error") if params.get(k)}
    return f"/settings/accounts?{urlencode(keep)}" if keep else None


def start_path(platform: str, *, team_id: int, instance: str = "") -> str:
    query = {"team_id": str(team_id)}
    if instance:
        query["instance"] = instance
    return f"/oauth/{platform}/start?{urlencode(query)}"


def _go(path: str):
    """A full page load (the OAuth start route is not a page of the app)."""
    return rx.call_script(f"window.location.assign({json.dumps(path)})")


class AccountsState(AppState):
    accounts: list[AccountRow] = []
    oauth: list[PlatformOption] = []
    timezones: list[str] = []
    can_manage: bool = False
    has_hub: bool = False
    needs_reconnect: int = 0
    notice: str = ""
    error: str = ""
    bluesky_error: str = ""
    bluesky_handle: str = ""
    mastodon_error: str = ""
    slot_error: str = ""
    confirm_disconnect: int = 0
    loaded: bool = False

    @rx.event
    def load(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        params = self.router.url.query_parameters
        self.error = self.bluesky_error = self.mastodon_error = self.slot_error = ""
        self.notice = ""
        if params.get("connected"):
            name = OAUTH_NAMES.get(str(params.get("connected")), "The account")
            handles = str(params.get("handles", ""))[:300]
            self.notice = f"{name} connected" + (f": {handles}." if handles else ".")
        if params.get("connect_error"):
            self.error = str(params.get("connect_error"))[:300]
        if not self.timezones:
            self.timezones = user_accounts.timezones()
        self.oauth = []
        for platform, name in OAUTH_NAMES.items():
            ready = platform == "mastodon" or bool(client_credentials(platform)[0])
            self.oauth.append(PlatformOption(platform=platform, name=name, ready=ready, hint="" if ready else (
                f"Not set up on this server: an admin sets {platform.upper()}_CLIENT_ID and "
                f"{platform.upper()}_CLIENT_SECRET.")))
        self._load(user.id)
        self.loaded = True

    @rx.event
    def load_card(self):
        """The Settings page's Accounts card: counts, and forwarding an OAuth result here."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        forward = connect_result_path(self.router.url.query_parameters)
        if forward:
            return rx.redirect(forward)
        self._load(user.id)

    def _load(self, user_id: int) -> None:
        try:
            with session_scope() as session:
                role = teams.get_role(session, team_id=self._team_id, user_id=user_id) or "viewer"
                self.can_manage = teams.role_at_least(role, "admin")
                rows = []
                for a in platform_accounts.list_accounts(session, team_id=self._team_id, user_id=user_id):
                    slots = queue.list_time_slots(session, team_id=self._team_id, user_id=user_id,
                                                              account_id=a.id)
                    rows.append(AccountRow(
                        id=a.id, platform=a.platform, platform_name=a.platform_name, handle=a.handle,
                        display_name=a.display_name, base_url=a.base_url, status=a.status,
                        status_label=STATUS_WORDS.get(a.status, a.status), needs_reconnect=a.status == "needs_reconnect",
                        detail=a.status_detail, timezone=a.timezone,
                        expires=a.token_expires_at.strftime("%d %b %Y %H:%M UTC") if a.token_expires_at else "",
                        slots=[SlotRow(key=f"{s.weekday}|{s.local_time.strftime('%H:%M')}", day=WEEKDAYS[s.weekday],
                                       time=s.local_time.strftime("%H:%M")) for s in slots],
                    ))
        except ServiceError as exc:
            self.error = str(exc)
            return
        self.accounts = rows
        self.has_hub = any(r.platform == "hub" for r in rows)
        self.needs_reconnect = sum(1 for r in rows if r.needs_reconnect)

    def _act(self, action, success, error_field: str = "error"):
        return super()._act(action, success, error_field=error_field, reload=self._load, toast_error=False)

    # ---- connecting ---------------------------------------------------------------------------

    def _connect_hub(self):
        return self._act(lambda s, uid: timeline.connect_hub_account(s, team_id=self._team_id, actor_id=uid),
                         "Your SocialHub timeline is connected.")

    @rx.event
    def connect_hub(self):
        return self._connect_hub()

    @rx.event
    def connect_bluesky(self, form: dict):
        handle, password = _f(form, "handle", 300), _f(form, "app_password", 300)
        service = _f(form, "service", 300).strip()
        result = self._act(
            lambda s, uid: connect.connect_bluesky(s, team_id=self._team_id, actor_id=uid, identifier=handle,
                                                              app_password=password, service_url=service or None),
            lambda account: [rx.toast.success(f"Bluesky {account.handle} connected."),
                             rx.call_script("var f=document.getElementById('bluesky-form'); if (f) f.reset();")],
            "bluesky_error")
        return result

    @rx.event
    def start_mastodon(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            instance = connect.normalize_instance(_f(form, "instance", 300))
        except ServiceError as exc:
            self.mastodon_error = str(exc)
            return None
        except ValueError:  # urlsplit refuses some addresses itself (a port that is not a number)
            self.mastodon_error = "Enter the address of your Mastodon server, like mastodon.social."
            return None
        self.mastodon_error = ""
        return _go(start_path("mastodon", team_id=self._team_id, instance=instance))

    @rx.event
    def start_oauth(self, platform: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        platform = str(platform)
        if platform not in connect.OAUTH_PLATFORMS or platform == "mastodon":
            return rx.toast.error("Choose one of the platforms listed.")
        return _go(start_path(platform, team_id=self._team_id))

    @rx.event
    def reconnect(self, account_id: int):
        """Log in again: the hub at once, Bluesky with the form, the others through their platform."""
        row = next((a for a in self.accounts if a.id == int(account_id)), None)
        if row is None:
            return rx.toast.error("That account no longer exists.")
        if row.platform == "hub":
            return self._connect_hub()
        if row.platform == "bluesky":
            self.bluesky_handle = row.handle
            return [rx.toast.info("Enter a new app password for " + row.handle + " below."),
                    rx.call_script("document.getElementById('f-app_password')?.focus()")]
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        return _go(start_path(row.platform, team_id=self._team_id, instance=row.base_url if row.platform == "mastodon" else ""))

    @rx.event
    def ask_disconnect(self, account_id: int):
        self.confirm_disconnect = int(account_id)

    @rx.event
    def keep_connected(self):
        self.confirm_disconnect = 0

    @rx.event
    def disconnect(self):
        account_id, self.confirm_disconnect = self.confirm_disconnect, 0
        return self._act(lambda s, uid: platform_accounts.disconnect_account(s, team_id=self._team_id, actor_id=uid,
                                                                             account_id=account_id),
                         "Disconnected. What it still had to publish was cancelled; its history stays.")

    @rx.event
    def set_timezone(self, account_id: int, timezone: str):
        return self._act(lambda s, uid: platform_accounts.update_account(
            s, team_id=self._team_id, actor_id=uid, account_id=_id(account_id), timezone=str(timezone)[:64]),
            "Time zone saved; its queue times keep their local times.")

    # ---- queue times --------------------------------------------------------------------------

    def _slots_of(self, account_id: int) -> list[tuple[int, str]]:
        row = next((a for a in self.accounts if a.id == account_id), None)
        if row is None:
            raise NotFound("That account no longer exists.")
        return [(int(s.key.split("|")[0]), s.time) for s in row.slots]

    @rx.event
    def add_slot(self, account_id: int, form: dict):
        days, at = _f(form, "day", 10), _f(form, "time", 5)
        weekdays = list(range(5)) if days == "weekdays" else list(range(7)) if days == "all" else (
            [int(days)] if days.isdigit() and int(days) < 7 else [])

        def act(session, uid):
            if not weekdays:
                raise NotFound("Choose a day.")
            account = _id(account_id)
            current = self._slots_of(account)
            return queue.set_time_slots(session, team_id=self._team_id, actor_id=uid, account_id=account,
                                                    slots=current + [(d, at) for d in weekdays])

        return self._act(act, "Queue time added.", "slot_error")

    @rx.event
    def remove_slot(self, account_id: int, key: str):
        def act(session, uid):
            account = _id(account_id)
            keep = [(d, t) for d, t in self._slots_of(account) if f"{d}|{t}" != str(key)]
            return queue.set_time_slots(session, team_id=self._team_id, actor_id=uid, account_id=account,
                                                    slots=keep)

        return self._act(act, "Queue time removed.", "slot_error")

