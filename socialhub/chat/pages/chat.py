"""The Chat page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.empty_state import empty_state
from socialhub.ui.layout import template


@template(route="/chat", title="Chat")
def chat() -> rx.Component:
    return empty_state(
        "message_circle", "No conversations yet",
        "Direct and group conversations with your team and the people you follow will appear here, "
        "with read receipts, reactions, polls and 24-hour stories. Messages are encrypted at rest.",
        [("Invite a teammate to talk to", "/settings#team")],
    )
