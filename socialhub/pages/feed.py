"""The Feed page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.components.empty_state import empty_state
from socialhub.components.layout import template


@template(route="/feed", title="Feed")
def feed() -> rx.Component:
    return empty_state(
        "rss", "Your feed has no sources yet",
        "Stories from the RSS, Atom and JSON feeds and websites you follow will appear here, "
        "de-duplicated and scored for your interests, with a daily AI digest built from the best of them.",
        [("Set your time zone for the digest", "/settings#profile"), ("Add an AI key for summaries", "/settings#keys")],
    )
