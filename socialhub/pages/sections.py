"""The five products and the inbox. Until a product has data, its page says honestly what will
appear there and links to what the user can already do."""

from __future__ import annotations

import reflex as rx

from socialhub.components.empty_state import empty_state
from socialhub.components.layout import template


@rx.page(route="/", title="SocialHub")
def index() -> rx.Component:
    return rx.center(rx.spinner(size="3"), min_height="100vh", on_mount=rx.redirect("/feed", replace=True))


@template(route="/feed", title="Feed")
def feed() -> rx.Component:
    return empty_state(
        "rss", "Your feed has no sources yet",
        "Stories from the RSS, Atom and JSON feeds and websites you follow will appear here, "
        "de-duplicated and scored for your interests, with a daily AI digest built from the best of them.",
        [("Set your time zone for the digest", "/settings#profile"), ("Add an AI key for summaries", "/settings#keys")],
    )


@template(route="/remix", title="Remix")
def remix() -> rx.Component:
    return empty_state(
        "wand_sparkles", "No ads to remix yet",
        "Image and video ads that brands upload will appear here. You can remix them with a prompt, "
        "follow remix threads, and brands see what people made of their ads.",
        [("Add an OpenAI or Google key for AI edits", "/settings#keys"), ("Invite your team", "/settings#team")],
    )


@template(route="/chat", title="Chat")
def chat() -> rx.Component:
    return empty_state(
        "message_circle", "No conversations yet",
        "Direct and group conversations with your team and the people you follow will appear here, "
        "with read receipts, reactions, polls and 24-hour stories. Messages are encrypted at rest.",
        [("Invite a teammate to talk to", "/settings#team")],
    )


@template(route="/schedule", title="Schedule")
def schedule() -> rx.Component:
    return empty_state(
        "calendar_days", "Nothing scheduled",
        "Posts you compose once and schedule for Bluesky, Mastodon, X, LinkedIn, Threads, Instagram "
        "and your SocialHub timeline will appear here on a calendar, with their publishing status.",
        [("Set your time zone", "/settings#profile"), ("Invite editors and approvers", "/settings#team")],
    )


@template(route="/analytics", title="Analytics")
def analytics() -> rx.Component:
    return empty_state(
        "chart_line", "No numbers yet",
        "Follower growth, engagement, best time to post, hashtag and post performance for your connected "
        "accounts will appear here once you publish and accounts are connected.",
        [("Set your time zone for daily charts", "/settings#profile")],
    )


@template(route="/inbox", title="Inbox")
def inbox() -> rx.Component:
    return empty_state(
        "inbox", "Your inbox is empty",
        "Comments, mentions and direct messages from your connected accounts will arrive here in one list, "
        "so your team can answer them in one place.",
        [("Invite teammates to share the inbox", "/settings#team")],
    )
