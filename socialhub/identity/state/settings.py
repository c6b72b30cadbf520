"""The Settings page: profile, password, team and roles, AI keys, appearance, outbox, deletion."""

from __future__ import annotations

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.timezones import timezones
from socialhub.identity import teams, users
from socialhub.core.errors import NotFound, ServiceError
from socialhub.ui.state import AppState, local_time, SIGN_OUT_SCRIPT

MAX_FIELD = 1000


def _f(form: dict, key: str) -> str:
    return str(form.get(key, ""))[:MAX_FIELD]


def _id(value) -> int:
    """Ids come back from the page as strings; anything else is refused like a missing row."""
    try:
        return int(str(value))
    except ValueError:
        raise NotFound("That item no longer exists.") from None


class SettingsState(AppState):
    name: str = ""
    timezone: str = "UTC"
    theme: str = "system"
    timezones: list[str] = []
    members: list[dict[str, str]] = []
    invites: list[dict[str, str]] = []
    my_teams: list[dict[str, str]] = []
    keys: list[dict[str, str]] = []
    outbox: list[dict[str, str]] = []
    last_invite_link: str = ""
    email_verified: bool = True
    can_manage: bool = False
    is_owner: bool = False
    profile_error: str = ""
    password_error: str = ""
    team_error: str = ""
    keys_error: str = ""
    delete_error: str = ""

    @rx.event
    def load(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self.name, self.timezone, self.theme = user.name, user.timezone, user.theme
        self.email_verified = users.is_verified(user)
        if not self.timezones:
            self.timezones = timezones()
        self._load_team(user.id)
        self._load_keys(user.id)
        verified = self.router.url.query_parameters.get("verified", "")
        if verified == "1":
            return rx.toast.success("Your e-mail address is confirmed.")
        if verified:
            return rx.toast.error("That confirmation link is not valid any more. Send a new one below.")

    @rx.event
    def resend_verification(self):
        return self._act(lambda session, user_id: users.resend_verification(session, user_id=user_id),
                         "We sent a new confirmation link. It works for 48 hours.",
                         reload=self._load_team)

    def _load_team(self, user_id: int) -> None:
        with session_scope() as session:
            role = teams.get_role(session, team_id=self._team_id, user_id=user_id) or "viewer"
            self.can_manage = teams.role_at_least(role, "admin")
            self.is_owner = role == "owner"
            self.members = [
                {"user_id": str(m.user_id), "name": m.name, "email": m.email, "role": m.role,
                 "me": "1" if m.user_id == user_id else ""}
                for m in teams.list_members(session, team_id=self._team_id, user_id=user_id)
            ]
            self.invites = [
                {"id": str(i.id), "email": i.email, "role": i.role, "expires": i.expires_at.strftime("%d %b %Y")}
                for i in (teams.list_invites(session, team_id=self._team_id, user_id=user_id) if self.can_manage else [])
            ]
            self.my_teams = [
                {"id": str(t.id), "name": t.name, "role": r}
                for t, r in teams.list_teams(session, user_id=user_id)
            ]
            self.outbox = [
                {"id": str(e.id), "to": e.to_address, "subject": e.subject, "status": e.status,
                 "body": e.text_body[:2000], "when": local_time(e.created_at, self._timezone)}
                for e in users.list_outbox(session, user_id=user_id)
            ]

    def _load_keys(self, user_id: int) -> None:
        with session_scope() as session:
            self.keys = [
                {"provider": k.provider, "label": users.PROVIDERS[k.provider], "last4": k.last4,
                 "updated": k.updated_at.strftime("%d %b %Y")}
                for k in users.list_provider_keys(session, user_id=user_id)
            ]

    # ---- profile and appearance ----------------------------------------------------------------

    @rx.event
    def save_profile(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            with session_scope() as session:
                user = users.update_profile(session, user_id=user.id, name=_f(form, "name"),
                                               timezone=_f(form, "timezone"), theme=user.theme)
        except ServiceError as exc:
            self.profile_error = str(exc)
            return
        self.profile_error = ""
        self.name = self.user_name = user.name
        self.timezone = self._timezone = user.timezone
        return rx.toast.success("Profile saved.")

    @rx.event
    def save_theme(self, theme: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            with session_scope() as session:
                users.update_profile(session, user_id=user.id, name=user.name, timezone=user.timezone,
                                        theme=str(theme))
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self.theme = str(theme)

    # ---- password and account ------------------------------------------------------------------

    @rx.event
    def change_password(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if _f(form, "new") != _f(form, "confirm"):
            self.password_error = "The two new passwords are not the same."
            return
        try:
            with session_scope() as session:
                users.change_password(session, user_id=user.id, current=_f(form, "current"),
                                         new=_f(form, "new"), keep_token=self._session_token())
        except ServiceError as exc:
            self.password_error = str(exc)
            return
        self.password_error = ""
        return [rx.toast.success("Password changed. Other browsers were signed out."),
                rx.call_script("document.getElementById('password-form').reset()")]

    @rx.event
    def delete_account(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if _f(form, "confirm").strip().upper() != "DELETE":
            self.delete_error = "Type DELETE to confirm."
            return
        try:
            with session_scope() as session:
                users.delete_account(session, user_id=user.id, password=_f(form, "password"))
        except ServiceError as exc:
            self.delete_error = str(exc)
            return
        return rx.call_script(SIGN_OUT_SCRIPT)

    # ---- team ----------------------------------------------------------------------------------

    def _team_action(self, action, success: str):
        return self._act(action, success, error_field="team_error", reload=self._load_team, toast_error=False)

    @rx.event
    def invite(self, form: dict):
        email, role = _f(form, "email"), _f(form, "role") or "editor"

        def act(session, user_id):
            _, self.last_invite_link = teams.invite_member(
                session, team_id=self._team_id, actor_id=user_id, email=email, role=role)

        return self._team_action(act, f"Invite sent to {email.strip()}.")

    @rx.event
    def set_role(self, member_user_id: str, role: str):
        return self._team_action(
            lambda session, user_id: teams.change_role(session, team_id=self._team_id, actor_id=user_id,
                                                    member_user_id=_id(member_user_id), role=str(role)),
            "Role changed.")

    @rx.event
    def remove(self, member_user_id: str):
        return self._team_action(
            lambda session, user_id: teams.remove_member(session, team_id=self._team_id, actor_id=user_id,
                                                      member_user_id=_id(member_user_id)),
            "Member removed.")

    @rx.event
    def revoke(self, invite_id: str):
        return self._team_action(
            lambda session, user_id: teams.revoke_invite(session, team_id=self._team_id, actor_id=user_id,
                                                      invite_id=_id(invite_id)),
            "Invite revoked.")

    @rx.event
    def rename_team(self, form: dict):
        name = _f(form, "team_name")

        def act(session, user_id):
            self.team_name = teams.rename_team(session, team_id=self._team_id, actor_id=user_id, name=name).name

        return self._team_action(act, "Team renamed.")

    @rx.event
    def switch_team(self, team_id: str):
        def act(session, user_id):
            teams.switch_team(session, user_id=user_id, team_id=_id(team_id))
            self._team_id = _id(team_id)

        result = self._team_action(act, "Switched team.")
        if self._user_id:
            self._load_shell(self._signed_in_user())
        return result

    # ---- AI provider keys ----------------------------------------------------------------------

    @rx.event
    def save_key(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            with session_scope() as session:
                users.set_provider_key(session, user_id=user.id, provider=_f(form, "provider"),
                                          key=_f(form, "key"))
        except ServiceError as exc:
            self.keys_error = str(exc)
            return
        self.keys_error = ""
        self._load_keys(user.id)
        return [rx.toast.success("Key saved, encrypted."),
                rx.call_script("document.getElementById('key-form').reset()")]

    @rx.event
    def remove_key(self, provider: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        with session_scope() as session:
            users.delete_provider_key(session, user_id=user.id, provider=str(provider))
        self._load_keys(user.id)
        return rx.toast.success("Key removed.")
