"""Settings → Accounts: connected accounts (status, reconnect, disconnect, time zone, queue times)
and connecting new ones. Also the Accounts card on the Settings page that links here."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.sections import settings_section
from socialhub.ui.forms import card, field, form_error, section_title
from socialhub.ui.layout import template
from socialhub.channels.state.accounts import DAY_CHOICES
from socialhub.channels.state.accounts import AccountsState as S


def _slot_editor(a) -> rx.Component:
    return rx.el.details(
        rx.el.summary(rx.text("Queue times (", a.slots.length(), ") in ", a.timezone, size="2", weight="medium")),
        rx.vstack(
            rx.cond(
                a.slots.length() > 0,
                rx.flex(
                    rx.foreach(
                        a.slots,
                        lambda s: rx.badge(
                            s.day, " ", s.time,
                            rx.cond(
                                S.can_manage,
                                rx.el.button(rx.icon("x", size=12, aria_hidden="true"), type="button",
                                             on_click=S.remove_slot(a.id, s.key), class_name="sh-badge-x",
                                             aria_label="Remove " + s.day + " " + s.time),
                                rx.fragment(),
                            ),
                            variant="soft", size="2",
                        ),
                    ),
                    gap="6px", wrap="wrap",
                ),
                rx.text("No queue times yet. “Add to queue” puts a post in the next free time of each account.",
                        size="2", color_scheme="gray"),
            ),
            rx.cond(
                S.can_manage,
                rx.form(
                    rx.flex(
                        rx.vstack(
                            rx.el.label("Day", html_for="slot-day-" + a.id.to_string(), class_name="sh-label"),
                            rx.el.select(*[rx.el.option(label, value=value) for value, label in DAY_CHOICES],
                                         id="slot-day-" + a.id.to_string(), name="day", class_name="sh-select"),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.el.label("Time", html_for="slot-time-" + a.id.to_string(), class_name="sh-label"),
                            rx.input(id="slot-time-" + a.id.to_string(), name="time", type="time",
                                     default_value="09:00", required=True),
                            spacing="1",
                        ),
                        rx.button("Add time", type="submit", variant="soft"),
                        gap="8px", align="end", wrap="wrap",
                    ),
                    on_submit=lambda form: S.add_slot(a.id, form),
                ),
                rx.fragment(),
            ),
            rx.text("Times are local to the account's time zone and stay put across daylight-saving changes.",
                    size="1", color_scheme="gray"),
            spacing="2", width="100%", padding_top="8px",
        ),
        class_name="sh-details",
    )


def _account_row(a) -> rx.Component:
    return rx.box(
        rx.flex(
            rx.vstack(
                rx.hstack(
                    rx.text(a.platform_name, weight="bold"),
                    rx.text(a.handle, color_scheme="gray"),
                    rx.badge(a.status_label, color_scheme=rx.cond(a.needs_reconnect, "red", "green"), variant="soft",
                             radius="full", data_status=a.status),
                    spacing="2", align="center", wrap="wrap",
                ),
                rx.cond(a.display_name != a.handle, rx.text(a.display_name, size="1", color_scheme="gray"), rx.fragment()),
                rx.cond(a.needs_reconnect & (a.detail != ""),
                        rx.text(a.detail, size="2", color_scheme="red"), rx.fragment()),
                rx.cond(a.base_url != "", rx.text(a.base_url, size="1", color_scheme="gray"), rx.fragment()),
                spacing="1", align="start",
            ),
            rx.cond(
                S.can_manage,
                rx.flex(
                    rx.cond(a.needs_reconnect,
                            rx.button("Reconnect", color_scheme="red", on_click=S.reconnect(a.id),
                                      aria_label="Reconnect " + a.platform_name + " " + a.handle),
                            rx.fragment()),
                    rx.el.label("Time zone of " + a.handle, html_for="tz-" + a.id.to_string(),
                                class_name="sh-visually-hidden"),
                    rx.el.select(rx.foreach(S.timezones, lambda z: rx.el.option(z, value=z)),
                                 id="tz-" + a.id.to_string(), value=a.timezone,
                                 on_change=lambda v: S.set_timezone(a.id, v), class_name="sh-select"),
                    rx.button("Disconnect", variant="soft", color_scheme="red", on_click=S.ask_disconnect(a.id),
                              aria_label="Disconnect " + a.platform_name + " " + a.handle),
                    gap="8px", align="center", wrap="wrap",
                ),
                rx.fragment(),
            ),
            justify="between", gap="8px", wrap="wrap", width="100%",
        ),
        _slot_editor(a),
        class_name="sh-account-row", data_platform=a.platform, data_status=a.status,
    )


def connected() -> rx.Component:
    return card(
        section_title("Connected accounts", "Where this team's posts are published."),
        rx.cond(S.notice != "", rx.callout(S.notice, icon="check", color_scheme="green", width="100%", id="connect-notice"),
                rx.fragment()),
        form_error(S.error),
        form_error(S.slot_error),
        rx.cond(
            S.accounts.length() > 0,
            rx.vstack(rx.foreach(S.accounts, _account_row), spacing="3", width="100%", id="account-list"),
            rx.text("No accounts yet. Connect your SocialHub timeline below: it works offline and is the default.",
                    size="2", color_scheme="gray"),
        ),
    )


def connect() -> rx.Component:
    return rx.cond(
        S.can_manage,
        card(
            section_title("Connect an account", "Tokens are stored encrypted. Only admins and owners connect accounts."),
            rx.cond(
                ~S.has_hub,
                rx.flex(
                    rx.vstack(
                        rx.text("SocialHub timeline", weight="bold"),
                        rx.text("Your own profile here: works offline, and posts reach your followers' feeds.",
                                size="2", color_scheme="gray"),
                        spacing="1", align="start",
                    ),
                    rx.button("Connect SocialHub timeline", on_click=S.connect_hub, id="connect-hub"),
                    justify="between", align="center", gap="8px", wrap="wrap", width="100%",
                ),
                rx.fragment(),
            ),
            rx.heading("Bluesky", size="3", as_="h3"),
            rx.form(
                rx.vstack(
                    form_error(S.bluesky_error),
                    rx.flex(
                        rx.box(field("Handle or e-mail", "handle", default_value=S.bluesky_handle, max_length=300,
                                     placeholder="you.bsky.social"), flex="1", min_width="200px"),
                        rx.box(field("App password", "app_password", type="password", max_length=300,
                                     hint="Bluesky → Settings → Privacy and security → App passwords."),
                               flex="1", min_width="200px"),
                        gap="8px", wrap="wrap", width="100%",
                    ),
                    rx.el.details(
                        rx.el.summary(rx.text("Own server (PDS)?", size="2")),
                        field("Server address", "service", max_length=300, placeholder="https://bsky.social"),
                        class_name="sh-details",
                    ),
                    rx.button("Connect Bluesky", type="submit"),
                    spacing="2", width="100%", align="start",
                ),
                on_submit=S.connect_bluesky, id="bluesky-form", key=S.bluesky_handle,
            ),
            rx.heading("Mastodon", size="3", as_="h3"),
            rx.form(
                rx.vstack(
                    form_error(S.mastodon_error),
                    rx.flex(
                        rx.box(field("Your server", "instance", max_length=300, placeholder="mastodon.social"),
                               flex="1", min_width="200px"),
                        rx.button("Connect Mastodon", type="submit"),
                        gap="8px", align="end", wrap="wrap", width="100%",
                    ),
                    spacing="2", width="100%",
                ),
                on_submit=S.start_mastodon, id="mastodon-form",
            ),
            rx.heading("Other platforms", size="3", as_="h3"),
            rx.vstack(
                rx.foreach(
                    S.oauth,
                    lambda o: rx.cond(
                        o.platform != "mastodon",
                        rx.flex(
                            rx.text(o.name, weight="medium"),
                            rx.cond(
                                o.ready,
                                rx.button("Connect " + o.name, variant="soft", on_click=S.start_oauth(o.platform)),
                                rx.text(o.hint, size="1", color_scheme="gray", max_width="48ch"),
                            ),
                            justify="between", align="center", gap="8px", wrap="wrap", width="100%",
                        ),
                        rx.fragment(),
                    ),
                ),
                spacing="2", width="100%",
            ),
        ),
        rx.fragment(),
    )


def disconnect_dialog() -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disconnect this account?"),
            rx.alert_dialog.description(
                "SocialHub forgets its login and cancels what it still had to publish. Published posts and their "
                "history stay."),
            rx.flex(
                rx.alert_dialog.cancel(rx.button("Keep it", variant="soft", on_click=S.keep_connected)),
                rx.alert_dialog.action(rx.button("Disconnect", color_scheme="red", on_click=S.disconnect)),
                gap="8px", justify="end", margin_top="16px",
            ),
        ),
        open=S.confirm_disconnect > 0,
    )


@template(route="/settings/accounts", title="Accounts", on_load=S.load)
def accounts_page() -> rx.Component:
    return rx.vstack(
        rx.link(rx.hstack(rx.icon("arrow_left", size=16, aria_hidden="true"), rx.text("Settings"), spacing="1",
                          align="center"), href="/settings", underline="none"),
        connected(), connect(), disconnect_dialog(),
        spacing="4", width="100%", max_width="760px",
    )


@settings_section
def accounts_card() -> rx.Component:
    """The Accounts card on the Settings page (its anchor is where OAuth and notifications land)."""
    return card(
        section_title("Accounts", "The social accounts this team publishes to: connect, reconnect, queue times."),
        rx.cond(S.needs_reconnect > 0,
                rx.callout(rx.text(S.needs_reconnect, " account(s) need reconnecting; their posts are paused, not lost."),
                           icon="plug", color_scheme="amber", width="100%"),
                rx.fragment()),
        rx.cond(S.accounts.length() > 0,
                rx.text(S.accounts.length(), " connected.", size="2", color_scheme="gray"),
                rx.text("None connected yet: your SocialHub timeline is one click away.", size="2",
                        color_scheme="gray")),
        rx.link(rx.button("Manage accounts", variant="soft"), href="/settings/accounts", id="manage-accounts"),
        id="accounts", on_mount=S.load_card,
    )
