"""The root path: send the browser to the Feed (which sends it to sign-in if needed)."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.routing import page


@page(route="/", title="SocialHub")
def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh", on_mount=rx.redirect("/feed", replace=True))
