"""The app shell: sidebar on desktop, bottom navigation on phones, top bar with bell and user menu.

`template(route=…, title=…)` wraps a page function in the shell and guards it: the page is
just its content.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from socialhub.ui import routing
from socialhub.ui.state import AppState, SIGN_OUT_SCRIPT

NAV = [
    ("Feed", "/feed", "rss"),
    ("Remix", "/remix", "wand_sparkles"),
    ("Chat", "/chat", "message_circle"),
    ("Schedule", "/schedule", "calendar_days"),
    ("Analytics", "/analytics", "chart_line"),
    ("Inbox", "/inbox", "inbox"),
    ("Settings", "/settings", "settings"),
]


def _is_active(href: str):
    return AppState.router.url.path.startswith(href)


def _side_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.hstack(rx.icon(icon, size=18, aria_hidden="true"), rx.text(label, size="3"), spacing="3", align="center"),
        href=href,
        class_name=rx.cond(_is_active(href), "sh-nav-link sh-active", "sh-nav-link"),
        underline="none",
        aria_current=rx.cond(_is_active(href), "page", None),
    )


def _bottom_link(label: str, href: str, icon: str) -> rx.Component:
    return rx.link(
        rx.vstack(rx.icon(icon, size=20, aria_hidden="true"), rx.text(label, size="1"), spacing="0", align="center"),
        href=href,
        class_name=rx.cond(_is_active(href), "sh-tab sh-active", "sh-tab"),
        underline="none",
        aria_current=rx.cond(_is_active(href), "page", None),
    )


def logo() -> rx.Component:
    return rx.hstack(
        rx.image(src="/icon-192.png", width="28px", height="28px", alt="", border_radius="8px"),
        rx.heading("SocialHub", size="5", weight="bold"),
        align="center", spacing="2",
    )


def sidebar() -> rx.Component:
    return rx.el.nav(
        rx.vstack(
            rx.link(logo(), href="/feed", underline="none", color="inherit", padding_x="12px", padding_y="8px"),
            *[_side_link(*item) for item in NAV],
            spacing="1", align="stretch", width="100%",
        ),
        aria_label="Main",
        class_name="sh-sidebar",
    )


def bottom_nav() -> rx.Component:
    return rx.el.nav(*[_bottom_link(*item) for item in NAV], aria_label="Main", class_name="sh-bottom-nav")


def bell() -> rx.Component:
    item = lambda n: rx.box(  # noqa: E731
        rx.hstack(
            rx.cond(n["unread"] != "", rx.box(class_name="sh-dot", aria_label="unread"), rx.box(width="8px")),
            rx.vstack(
                rx.text(n["title"], size="2", weight="medium"),
                rx.cond(n["body"] != "", rx.text(n["body"], size="1", color_scheme="gray"), rx.fragment()),
                rx.text(n["when"], size="1", color_scheme="gray"),
                spacing="0", align="start",
            ),
            align="start", spacing="2",
        ),
        class_name="sh-bell-item",
    )
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(
                rx.icon("bell", size=18, aria_hidden="true"),
                rx.cond(AppState.unread > 0, rx.badge(AppState.unread, color_scheme="red", variant="solid",
                                                      radius="full", id="bell-count"), rx.fragment()),
                variant="ghost", aria_label=rx.cond(AppState.unread > 0, f"Notifications, unread", "Notifications"),
                id="bell-button",
            ),
        ),
        rx.popover.content(
            rx.vstack(
                rx.hstack(
                    rx.heading("Notifications", size="3"),
                    rx.spacer(),
                    rx.button("Mark all read", size="1", variant="soft", on_click=AppState.mark_bell_read),
                    width="100%", align="center",
                ),
                rx.cond(
                    AppState.bell.length() > 0,
                    rx.vstack(rx.foreach(AppState.bell, item), spacing="1", width="100%", id="bell-list"),
                    rx.text("Nothing yet. Invites, published posts and digests will show up here.",
                            size="2", color_scheme="gray"),
                ),
                spacing="3", width="min(340px, 86vw)",
            ),
            align="end",
        ),
    )


def user_menu() -> rx.Component:
    return rx.menu.root(
        rx.menu.trigger(
            rx.button(
                rx.avatar(fallback=AppState.user_name[:1], size="2", radius="full"),
                variant="ghost", aria_label="Account menu", id="user-menu",
            )
        ),
        rx.menu.content(
            rx.box(
                rx.text(AppState.user_name, weight="medium", size="2"),
                rx.text(AppState.user_email, size="1", color_scheme="gray"),
                rx.text(AppState.team_name, " · ", AppState.team_role, size="1", color_scheme="gray"),
                padding="8px",
            ),
            rx.menu.separator(),
            rx.menu.item(rx.link("Settings", href="/settings", underline="none", color="inherit")),
            rx.menu.item("Toggle dark mode", on_click=rx.toggle_color_mode),
            rx.menu.separator(),
            rx.menu.item("Sign out", id="sign-out", color="red", on_click=rx.call_script(SIGN_OUT_SCRIPT)),
        ),
    )


def top_bar(title: str) -> rx.Component:
    return rx.el.header(
        rx.hstack(
            rx.box(logo(), class_name="sh-mobile-only"),
            rx.heading(title, size="6", as_="h1", class_name="sh-desktop-only"),
            rx.spacer(),
            rx.cond(AppState.is_demo, rx.badge("Demo account", color_scheme="amber", variant="soft"), rx.fragment()),
            bell(),
            user_menu(),
            align="center", spacing="3", width="100%",
        ),
        class_name="sh-topbar",
    )


def shell(title: str, content: rx.Component) -> rx.Component:
    return rx.box(
        sidebar(),
        rx.el.main(
            top_bar(title),
            rx.box(
                rx.heading(title, size="6", as_="h1", class_name="sh-mobile-only", margin_bottom="12px"),
                content,
                class_name="sh-content",
            ),
            class_name="sh-main",
        ),
        bottom_nav(),
        class_name="sh-app",
    )


def template(*, route: str, title: str, on_load=None) -> Callable[[Callable[[], rx.Component]], Callable]:
    """Register a protected page: the shell around its content, and the sign-in guard on load."""

    def decorator(render: Callable[[], rx.Component]):
        loads = [AppState.guard] + ([on_load] if on_load is not None else [])

        def wrapped() -> rx.Component:
            return shell(title, render())

        wrapped.__name__ = render.__name__
        return routing.page(route=route, title=f"{title} · SocialHub", on_load=loads)(wrapped)

    return decorator
