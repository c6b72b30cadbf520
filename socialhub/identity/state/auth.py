"""Sign-in, sign-up and invite pages: validate through the services, then hand over to the
`/auth/session` route, which sets the HttpOnly cookie."""

from __future__ import annotations

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.identity import teams, users
from socialhub.core.errors import ServiceError
from socialhub.identity.cookie import nonce_from_cookie_header
from socialhub.ui.state import AppState

MAX_FIELD = 1000  # longer input is never valid here; refuse it before hashing anything


def _go(url: str):
    # A full navigation (not client-side routing): /auth/session is an HTTP route, not a page.
    return rx.call_script(f"window.location.assign({url!r})")


class AuthState(AppState):
    error: str = ""
    busy: bool = False
    browser_timezone: str = "UTC"
    invite_team: str = ""
    invite_email: str = ""
    invite_role: str = ""
    invite_error: str = ""

    def _nonce(self) -> str:
        """This browser's sign-in nonce (HttpOnly cookie, seen in the websocket handshake)."""
        nonce = nonce_from_cookie_header(self.router.headers.cookie)
        if not nonce:
            self.error = "Your browser did not keep our sign-in cookie. Reload the page (and allow cookies for this site)."
        return nonce

    def _next(self) -> str:
        return users.safe_next_path(self.router.url.query_parameters.get("next", "/feed"))

    @rx.event
    def set_browser_timezone(self, tz: str):
        self.browser_timezone = tz if isinstance(tz, str) and len(tz) < 64 else "UTC"

    @rx.event
    def open_signin(self):
        self.error = ""
        if self._signed_in_user() is not None:
            return rx.redirect(self._next())

    @rx.event
    def sign_in(self, form: dict):
        email, password = str(form.get("email", ""))[:MAX_FIELD], str(form.get("password", ""))[:MAX_FIELD]
        if not email.strip() or not password:
            self.error = "Enter your e-mail and password."
            return
        nonce = self._nonce()
        if not nonce:
            return
        try:
            with session_scope() as session:
                user = users.authenticate(session, email=email, password=password,
                                             ip=self.router.session.client_ip)
                ticket = users.create_login_ticket(session, user_id=user.id, next_path=self._next(), nonce=nonce)
        except ServiceError as exc:
            self.error = str(exc)
            return
        self.error = ""
        return _go(f"/auth/session?ticket={ticket}")

    @rx.event
    def sign_up(self, form: dict):
        fields = {k: str(form.get(k, ""))[:MAX_FIELD] for k in ("name", "email", "password", "confirm")}
        if fields["password"] != fields["confirm"]:
            self.error = "The two passwords are not the same."
            return
        nonce = self._nonce()
        if not nonce:
            return
        try:
            with session_scope() as session:
                user = users.sign_up(session, name=fields["name"], email=fields["email"],
                                        password=fields["password"], timezone=self.browser_timezone,
                                        ip=self.router.session.client_ip or "unknown")
                ticket = users.create_login_ticket(session, user_id=user.id, next_path=self._next(), nonce=nonce)
        except ServiceError as exc:
            self.error = str(exc)
            return
        self.error = ""
        return _go(f"/auth/session?ticket={ticket}")

    # ---- invites --------------------------------------------------------------------------------

    @rx.event
    def open_invite(self):
        self.invite_error = ""
        token = self.router.url.query_parameters.get("token", "")
        try:
            with session_scope() as session:
                invite, team = teams.find_invite(session, token=token)
                self.invite_team, self.invite_email, self.invite_role = team.name, invite.email, invite.role
        except ServiceError as exc:
            self.invite_team = ""
            self.invite_error = str(exc)
        user = self._signed_in_user()
        self.user_email = user.email if user else ""

    @rx.event
    def accept_invite(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            with session_scope() as session:
                team = teams.accept_invite(session, token=self.router.url.query_parameters.get("token", ""),
                                           user_id=user.id)
        except ServiceError as exc:
            self.invite_error = str(exc)
            return
        return [rx.toast.success(f"You joined {team.name}."), rx.redirect("/settings")]
