"""The Analytics page. Until it has data, it says what will appear and links to what the user can do now."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.empty_state import empty_state
from socialhub.ui.layout import template


@template(route="/analytics", title="Analytics")
def analytics() -> rx.Component:
    return empty_state(
        "chart_line", "No numbers yet",
        "Follower growth, engagement, best time to post, hashtag and post performance for your connected "
        "accounts will appear here once you publish and accounts are connected.",
        [("Set your time zone for daily charts", "/settings#profile")],
    )
