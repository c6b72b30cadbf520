"""Settings: profile and time zone, appearance, password, team and roles, AI keys, outbox, account."""

from __future__ import annotations

import reflex as rx
from reflex_base.style import set_color_mode

from socialhub.ui.forms import card, field, form_error, section_title, select_field
from socialhub.ui.layout import template
from socialhub.identity.models import ROLES
from socialhub.ui.sections import settings_sections
from socialhub.identity.state.settings import SettingsState as S

PROVIDERS = [("openai", "OpenAI"), ("anthropic", "Anthropic"), ("google", "Google")]


def profile() -> rx.Component:
    return card(
        section_title("Profile", "Your name and the time zone your schedules and digests use."),
        rx.cond(
            S.email_verified,
            rx.fragment(),
            rx.callout(
                rx.hstack(
                    rx.text("Confirm ", rx.code(S.user_email),
                            " with the link we e-mailed you. Until then, team invites to it cannot be accepted.",
                            size="2"),
                    rx.button("Send a new link", size="1", variant="soft", on_click=S.resend_verification,
                              id="resend-verification"),
                    spacing="2", wrap="wrap", align="center",
                ),
                icon="mail", color_scheme="amber", width="100%", id="verify-email-callout",
            ),
        ),
        rx.form(
            rx.vstack(
                form_error(S.profile_error),
                field("Name", "name", default_value=S.name, autocomplete="name", max_length=100),
                select_field("Time zone", "timezone", S.timezones, default_value=S.timezone),
                rx.button("Save profile", type="submit", size="3"),
                spacing="3", align="start", width="100%",
            ),
            on_submit=S.save_profile, key=S.name + S.timezone, id="profile-form",
        ),
        id="profile",
    )


def appearance() -> rx.Component:
    return card(
        section_title("Appearance", "Light, dark, or follow your device."),
        rx.el.fieldset(
            rx.el.legend("Theme", class_name="sh-label"),
            rx.segmented_control.root(
                rx.segmented_control.item("System", value="system"),
                rx.segmented_control.item("Light", value="light"),
                rx.segmented_control.item("Dark", value="dark"),
                value=S.theme,
                on_change=lambda v: [S.save_theme(v), set_color_mode(v)],
                aria_label="Theme",
            ),
            class_name="sh-fieldset",
        ),
    )


def password() -> rx.Component:
    return card(
        section_title("Password", "Changing it signs out your other browsers."),
        rx.form(
            rx.vstack(
                form_error(S.password_error),
                field("Current password", "current", type="password", autocomplete="current-password"),
                field("New password", "new", type="password", autocomplete="new-password",
                      hint="At least 10 characters."),
                field("Repeat new password", "confirm", type="password", autocomplete="new-password"),
                rx.button("Change password", type="submit", size="3"),
                spacing="3", align="start", width="100%",
            ),
            on_submit=S.change_password, id="password-form",
        ),
    )


def _member_row(m) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.vstack(rx.text(m["name"], weight="medium"), rx.text(m["email"], size="1", color_scheme="gray"),
                                spacing="0")),
        rx.table.cell(
            rx.cond(
                S.can_manage & (m["me"] == ""),
                rx.el.select(
                    *[rx.el.option(r.title(), value=r) for r in ROLES],
                    value=m["role"], on_change=lambda v: S.set_role(m["user_id"], v),
                    aria_label="Role of " + m["name"], class_name="sh-select",
                ),
                rx.badge(m["role"]),
            )
        ),
        rx.table.cell(
            rx.cond(
                S.can_manage & (m["me"] == ""),
                rx.button("Remove", size="1", variant="soft", color_scheme="red", on_click=S.remove(m["user_id"]),
                          aria_label="Remove " + m["name"]),
                rx.fragment(),
            )
        ),
    )


def team() -> rx.Component:
    return card(
        section_title("Team", "Owners and admins manage members. Editors write posts; viewers read."),
        rx.cond(
            S.my_teams.length() > 1,
            rx.hstack(
                rx.el.label("Working in", html_for="team-switch", class_name="sh-label"),
                rx.el.select(
                    rx.foreach(S.my_teams, lambda t: rx.el.option(t["name"] + " (" + t["role"] + ")", value=t["id"])),
                    id="team-switch", on_change=S.switch_team, class_name="sh-select",
                    value=rx.cond(S.my_teams.length() > 0, S.my_teams[0]["id"], ""),
                ),
                align="center", spacing="2", wrap="wrap",
            ),
            rx.fragment(),
        ),
        form_error(S.team_error),
        rx.cond(
            S.can_manage,
            rx.form(
                rx.flex(
                    rx.box(field("Team name", "team_name", default_value=S.team_name, max_length=100), flex="1",
                           min_width="200px"),
                    rx.button("Rename", type="submit", size="3", variant="soft"),
                    gap="8px", align="end", wrap="wrap", width="100%",
                ),
                on_submit=S.rename_team, key=S.team_name,
            ),
            rx.text("Team: ", rx.text.strong(S.team_name)),
        ),
        rx.box(
            rx.table.root(
                rx.table.header(rx.table.row(rx.table.column_header_cell("Member"),
                                             rx.table.column_header_cell("Role"), rx.table.column_header_cell(""))),
                rx.table.body(rx.foreach(S.members, _member_row)),
                width="100%", variant="surface",
            ),
            overflow_x="auto", width="100%",
        ),
        rx.cond(
            S.can_manage,
            rx.vstack(
                rx.heading("Invite someone", size="3", as_="h3"),
                rx.form(
                    rx.flex(
                        rx.box(field("E-mail", "email", type="email", max_length=254), flex="1", min_width="200px"),
                        rx.box(select_field("Role", "role", ["editor", "viewer", "admin", "owner"],
                                            default_value="editor"), width="140px"),
                        rx.button("Send invite", type="submit", size="3"),
                        gap="8px", align="end", wrap="wrap", width="100%",
                    ),
                    on_submit=S.invite, reset_on_submit=True, id="invite-form",
                ),
                rx.cond(
                    S.last_invite_link != "",
                    rx.callout(rx.text("Invite link (also e-mailed): ", rx.code(S.last_invite_link, word_break="break-all")),
                               icon="link", width="100%"),
                    rx.fragment(),
                ),
                rx.foreach(
                    S.invites,
                    lambda i: rx.hstack(
                        rx.text(i["email"], " · ", i["role"], " · until ", i["expires"], size="2"),
                        rx.spacer(),
                        rx.button("Revoke", size="1", variant="soft", on_click=S.revoke(i["id"])),
                        width="100%", align="center",
                    ),
                ),
                spacing="3", width="100%", align="stretch",
            ),
            rx.fragment(),
        ),
        id="team",
    )


def keys() -> rx.Component:
    return card(
        section_title("AI provider keys",
                      "Your own keys, encrypted at rest. Without a key, SocialHub uses its built-in offline "
                      "provider (simple, and labelled as such)."),
        form_error(S.keys_error),
        rx.foreach(
            S.keys,
            lambda k: rx.hstack(
                rx.icon("key_round", size=16, aria_hidden="true"),
                rx.text(k["label"], weight="medium"),
                rx.code("…" + k["last4"]),
                rx.text("saved " + k["updated"], size="1", color_scheme="gray"),
                rx.spacer(),
                rx.button("Remove", size="1", variant="soft", color_scheme="red", on_click=S.remove_key(k["provider"]),
                          aria_label="Remove " + k["label"] + " key"),
                width="100%", align="center", wrap="wrap",
            ),
        ),
        rx.form(
            rx.flex(
                rx.box(
                    rx.el.label("Provider", html_for="f-provider", class_name="sh-label"),
                    rx.el.select(*[rx.el.option(label, value=value) for value, label in PROVIDERS],
                                 id="f-provider", name="provider", class_name="sh-select"),
                    width="140px",
                ),
                rx.box(field("API key", "key", type="password", autocomplete="off", max_length=400), flex="1",
                       min_width="200px"),
                rx.button("Save key", type="submit", size="3"),
                gap="8px", align="end", wrap="wrap", width="100%",
            ),
            on_submit=S.save_key, id="key-form",
        ),
        id="keys",
    )


def outbox() -> rx.Component:
    return card(
        section_title("Outbox", "E-mails SocialHub sent for you or to you. Without SMTP set up, they stay here."),
        rx.cond(
            S.outbox.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.outbox,
                    lambda e: rx.el.details(
                        rx.el.summary(
                            rx.hstack(rx.badge(e["status"]), rx.text(e["subject"], size="2", weight="medium"),
                                      rx.text("to " + e["to"] + " · " + e["when"], size="1", color_scheme="gray"),
                                      spacing="2", wrap="wrap", align="center", display="inline-flex"),
                        ),
                        rx.el.pre(e["body"], class_name="sh-pre"),
                        class_name="sh-details",
                    ),
                ),
                spacing="2", width="100%", id="outbox-list",
            ),
            rx.text("No e-mails yet. Invites you send appear here.", size="2", color_scheme="gray"),
        ),
        id="outbox",
    )


def danger() -> rx.Component:
    return card(
        section_title("Delete account", "Removes your account and everything in it. This cannot be undone."),
        rx.form(
            rx.vstack(
                form_error(S.delete_error),
                field("Password", "password", type="password", autocomplete="current-password"),
                field("Type DELETE to confirm", "confirm", max_length=20),
                rx.button("Delete my account", type="submit", color_scheme="red", size="3"),
                spacing="3", align="start", width="100%",
            ),
            on_submit=S.delete_account, id="delete-form",
        ),
        id="delete",
    )


@template(route="/settings", title="Settings", on_load=S.load)
def settings() -> rx.Component:
    return rx.vstack(profile(), appearance(), team(), *settings_sections(), keys(), password(), outbox(), danger(),
                     spacing="4", width="100%", max_width="760px")
