"""The Schedule page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.components.empty_state import empty_state
from socialhub.components.layout import template


@template(route="/schedule", title="Schedule")
def schedule() -> rx.Component:
    return empty_state(
        "calendar_days", "Nothing scheduled",
        "Posts you compose once and schedule for Bluesky, Mastodon, X, LinkedIn, Threads, Instagram "
        "and your SocialHub timeline will appear here on a calendar, with their publishing status.",
        [("Set your time zone", "/settings#profile"), ("Invite editors and approvers", "/settings#team")],
    )
