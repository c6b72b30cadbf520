"""The Remix page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.empty_state import empty_state
from socialhub.ui.layout import template


@template(route="/remix", title="Remix")
def remix() -> rx.Component:
    return empty_state(
        "wand_sparkles", "No ads to remix yet",
        "Image and video ads that brands upload will appear here. You can remix them with a prompt, "
        "follow remix threads, and brands see what people made of their ads.",
        [("Add an OpenAI or Google key for AI edits", "/settings#keys"), ("Invite your team", "/settings#team")],
    )
