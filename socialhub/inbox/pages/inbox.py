"""The unified Inbox page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.empty_state import empty_state
from socialhub.ui.layout import template


@template(route="/inbox", title="Inbox")
def inbox() -> rx.Component:
    return empty_state(
        "inbox", "Your inbox is empty",
        "Comments, mentions and direct messages from your connected accounts will arrive here in one list, "
        "so your team can answer them in one place.",
        [("Invite teammates to share the inbox", "/settings#team")],
    )
