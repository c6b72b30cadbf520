"""Public pages: sign in, create an account, accept an invite."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.routing import page

from socialhub.ui.forms import field, form_error
from socialhub.ui.layout import logo
from socialhub.identity.state.auth import AuthState

_DETECT_TZ = rx.call_function(
    "() => Intl.DateTimeFormat().resolvedOptions().timeZone", callback=AuthState.set_browser_timezone
)


def _auth_card(title: str, subtitle: str, form: rx.Component, footer: rx.Component) -> rx.Component:
    return rx.center(
        rx.vstack(
            logo(),
            rx.card(
                rx.vstack(
                    rx.heading(title, size="6", as_="h1"),
                    rx.text(subtitle, size="2", color_scheme="gray"),
                    form,
                    spacing="4", width="100%",
                ),
                size="4", width="100%",
            ),
            footer,
            spacing="5", align="center", width="100%", max_width="420px",
        ),
        min_height="100vh", padding="16px",
    )


@page(route="/signin", title="Sign in · SocialHub", on_load=AuthState.open_signin)
def signin() -> rx.Component:
    form = rx.form(
        rx.vstack(
            rx.cond(
                AuthState.router.url.query_parameters.get("expired", "") != "",
                rx.callout("That sign-in link expired. Sign in again.", icon="info", width="100%"),
                rx.fragment(),
            ),
            form_error(AuthState.error),
            field("E-mail", "email", type="email", autocomplete="email", required=True, max_length=254),
            field("Password", "password", type="password", autocomplete="current-password", required=True),
            rx.button("Sign in", type="submit", size="3", width="100%", id="signin-submit"),
            spacing="3", width="100%",
        ),
        on_submit=AuthState.sign_in,
        id="signin-form",
    )
    footer = rx.text("New here? ", rx.link("Create an account", href="/signup"), size="2")
    return _auth_card("Sign in", "Welcome back to SocialHub.", form, footer)


@page(route="/signup", title="Create your account · SocialHub", on_load=[AuthState.open_signin, _DETECT_TZ])
def signup() -> rx.Component:
    form = rx.form(
        rx.vstack(
            form_error(AuthState.error),
            field("Name", "name", autocomplete="name", required=True, max_length=100),
            field("E-mail", "email", type="email", autocomplete="email", required=True, max_length=254),
            field("Password", "password", type="password", autocomplete="new-password", required=True,
                  hint="At least 10 characters. A few unrelated words work well."),
            field("Repeat password", "confirm", type="password", autocomplete="new-password", required=True),
            rx.text("Time zone: ", rx.code(AuthState.browser_timezone), " (from your browser; change it in Settings)",
                    size="1", color_scheme="gray"),
            rx.button("Create account", type="submit", size="3", width="100%", id="signup-submit"),
            spacing="3", width="100%",
        ),
        on_submit=AuthState.sign_up,
        id="signup-form",
    )
    footer = rx.text("Already have an account? ", rx.link("Sign in", href="/signin"), size="2")
    return _auth_card("Create your account", "One place for your feeds, posts, chats and numbers.", form, footer)


# After signing in or up, come back to this invite (the token is URL-safe base64: no & or #).
_invite_path = "/invite?token=" + AuthState.router.url.query_parameters.get("token", "")


@page(route="/invite", title="Team invite · SocialHub", on_load=AuthState.open_invite)
def invite() -> rx.Component:
    body = rx.cond(
        AuthState.invite_team != "",
        rx.vstack(
            rx.text("You are invited to join ", rx.text.strong(AuthState.invite_team), " as ",
                    rx.text.strong(AuthState.invite_role), ".", size="3"),
            rx.text("The invite is for ", rx.code(AuthState.invite_email), ".", size="2", color_scheme="gray"),
            form_error(AuthState.invite_error),
            rx.cond(
                AuthState.user_email != "",
                rx.button("Accept invite", on_click=AuthState.accept_invite, size="3", width="100%"),
                rx.hstack(
                    rx.link(rx.button("Sign in to accept", size="3"), href="/signin?next=" + _invite_path),
                    rx.link(rx.button("Create an account", size="3", variant="soft"),
                            href="/signup?next=" + _invite_path),
                    spacing="2", wrap="wrap",
                ),
            ),
            spacing="3", width="100%",
        ),
        form_error(AuthState.invite_error),
    )
    return _auth_card("Team invite", "Work on the same posts, feeds and inbox together.", body,
                      rx.link("Go to SocialHub", href="/feed", size="2"))
