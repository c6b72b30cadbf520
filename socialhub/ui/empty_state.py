"""An honest empty state: what will appear here, and links to what the user can do now."""

from __future__ import annotations

import reflex as rx


def empty_state(icon: str, heading: str, text: str, actions: list[tuple[str, str]]) -> rx.Component:
    return rx.center(
        rx.vstack(
            rx.box(rx.icon(icon, size=36, aria_hidden="true"), class_name="sh-empty-icon"),
            rx.heading(heading, size="5", as_="h2", text_align="center"),
            rx.text(text, size="3", color_scheme="gray", text_align="center", max_width="52ch"),
            rx.flex(
                *[rx.link(rx.button(label, variant="soft", size="3"), href=href) for label, href in actions],
                gap="8px", wrap="wrap", justify="center",
            ),
            align="center", spacing="4", padding_y="48px", padding_x="16px",
        ),
        width="100%",
    )
