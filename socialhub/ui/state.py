"""AppState: who is signed in, their team, and the bell; the base of every page's state."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from collections.abc import Callable
from typing import Any

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity.models import User
from socialhub.core.errors import ServiceError
from socialhub.identity import notifications, teams, users
from socialhub.ui import clients
from socialhub.identity.cookie import token_from_cookie_header

PUBLIC_PATHS = ("/signin", "/signup", "/invite")

# Sign-out is a POST (a plain link could be planted on another site); pages submit this form.
SIGN_OUT_SCRIPT = (
    "(() => { const f = document.createElement('form'); f.method = 'post';"
    " f.action = '/auth/signout'; document.body.appendChild(f); f.submit(); })()"
)


def local_time(moment: datetime, timezone: str, fmt: str = "%d %b %H:%M") -> str:
    """Show an aware UTC timestamp in the user's own time zone."""
    return moment.astimezone(ZoneInfo(timezone)).strftime(fmt)


class AppState(rx.State):
    user_name: str = ""
    user_email: str = ""
    team_name: str = ""
    team_role: str = ""
    is_demo: bool = False
    unread: int = 0
    bell: list[dict[str, str]] = []

    _user_id: int = 0
    _team_id: int = 0
    _timezone: str = "UTC"

    # ---- the signed-in user, re-checked on every call ------------------------------------------

    def _session_token(self) -> str:
        return token_from_cookie_header(self.router.headers.cookie)

    def _signed_in_user(self) -> User | None:
        """The user behind this browser's session cookie right now, or None."""
        with session_scope() as session:
            user = users.user_for_token(session, token=self._session_token())
            if user is None:
                self._user_id = self._team_id = 0
                return None
            self._team_id = teams.active_team_id(session, user=user)
            self._user_id, self._timezone = user.id, user.timezone
            return user

    def _to_signin(self):
        path = self.router.url.path or "/feed"
        return rx.redirect(f"/signin?next={path}" if path not in PUBLIC_PATHS else "/signin")

    def _act(self, action: Callable[[Any, int], Any], success: str | Callable[[Any], Any] = "", *,
             error_field: str = "", reload: Callable[[int], None] | None = None, toast_error: bool = True):
        """The one way a page runs a service call for the signed-in user.

        Re-checks the session (none: off to sign-in), runs `action(session, user_id)` in one
        transaction, and on a `ServiceError` keeps nothing, shows its message in `error_field`
        (if given) and as a toast. On success it clears `error_field`, calls `reload(user_id)`,
        and returns `success(result)` when it is callable, else a success toast (if any).
        """
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            with session_scope() as session:
                result = action(session, user.id)
        except ServiceError as exc:
            if error_field:
                setattr(self, error_field, str(exc))
            return rx.toast.error(str(exc)) if toast_error else None
        if error_field:
            setattr(self, error_field, "")
        if reload is not None:
            reload(user.id)
        if callable(success):
            return success(result)
        return rx.toast.success(success) if success else None

    # ---- page load ------------------------------------------------------------------------------

    @rx.event
    def guard(self):
        """on_load of every protected page: load the shell or send the browser to sign in."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load_shell(user)
        clients.register(self.router.session.client_token, user.id)

    def _load_shell(self, user: User) -> None:
        with session_scope() as session:
            team = teams.get_team(session, team_id=self._team_id, user_id=user.id)
            self.team_role = teams.get_role(session, team_id=team.id, user_id=user.id) or ""
            self.team_name = team.name
            self._load_bell(session, user.id)
        self.user_name, self.user_email, self.is_demo = user.name, user.email, user.is_demo

    def _load_bell(self, session, user_id: int) -> None:
        self.unread = notifications.unread_count(session, user_id=user_id)
        self.bell = [
            {
                "id": str(n.id),
                "title": n.title,
                "body": n.body,
                "link": n.link if n.link.startswith("/") else "",
                "when": local_time(n.created_at, self._timezone),
                "unread": "1" if n.read_at is None else "",
            }
            for n in notifications.list_notifications(session, user_id=user_id, limit=8)
        ]

    def _refresh_bell(self) -> None:
        """Called by the real-time listener when a notification for this user arrives."""
        if self._user_id:
            with session_scope() as session:
                self._load_bell(session, self._user_id)

    @rx.event
    def mark_bell_read(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        with session_scope() as session:
            notifications.mark_all_read(session, user_id=user.id)
            self._load_bell(session, user.id)
