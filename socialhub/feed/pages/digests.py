"""Feed → Digests: build today's digest now, past digests with statuses, and digest settings."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.forms import card, form_error, section_title
from socialhub.ui.layout import template
from socialhub.feed.pages.stories import disclosure, feed_nav
from socialhub.feed.state.digests import DigestRow, DigestState as S

STATUS_COLORS = {"draft": "gray", "generating": "amber", "generated": "blue", "delivered": "green", "failed": "red"}


def _status_badge(d: DigestRow) -> rx.Component:
    return rx.match(
        d.status,
        *[(status, rx.badge(d.status_label, color_scheme=color, variant="soft")) for status, color in STATUS_COLORS.items()],
        rx.badge(d.status_label),
    )


def _story(s) -> rx.Component:
    return rx.box(
        rx.link(s.title, href=s.url, is_external=True, weight="bold"),
        rx.text(s.sources + " · score " + s.score + " · " + s.clicks.to_string() + " clicks", size="1",
                color_scheme="gray"),
        rx.text(s.summary, size="2", margin_top="4px"),
        rx.el.ul(rx.foreach(s.points, lambda p: rx.el.li(rx.text(p, size="2"))),
                 style={"paddingLeft": "18px", "margin": "4px 0"}),
        rx.cond(s.hashtags != "", rx.text(s.hashtags, size="2", color_scheme="iris"), rx.fragment()),
        padding_y="10px", border_top="1px solid var(--gray-a4)",
    )


def _digest(d: DigestRow) -> rx.Component:
    return card(
        rx.flex(
            rx.vstack(
                rx.hstack(_status_badge(d), rx.text(d.day, size="2", color_scheme="gray"), spacing="2", align="center"),
                rx.heading(d.title, size="4", as_="h3"),
                rx.cond(d.provider_label != "", rx.text("Written by: " + d.provider_label, size="1", color_scheme="gray"),
                        rx.fragment()),
                spacing="1", flex="1", min_width="0",
            ),
            rx.cond(
                d.status == "failed",
                rx.button("Retry", on_click=S.build_now(d.id), loading=S.building, color_scheme="red",
                          aria_label="Retry the digest of " + d.day),
                rx.button("Regenerate", on_click=S.build_now(d.id), loading=S.building, variant="soft",
                          aria_label="Regenerate the digest of " + d.day),
            ),
            gap="12px", align="start", width="100%", wrap="wrap",
        ),
        rx.cond(d.error != "", rx.callout(d.error, icon="triangle_alert", color_scheme="red", role="alert"), rx.fragment()),
        rx.cond(d.image_url != "", rx.image(src=d.image_url, alt="Title card of this digest", width="100%",
                                            max_width="560px", border_radius="12px"), rx.fragment()),
        rx.cond(d.summary != "", rx.text(d.summary, size="3"), rx.fragment()),
        rx.cond(
            d.stories.length() > 0,
            rx.el.details(
                disclosure(d.stories.length().to_string() + " stories · " + d.opens.to_string()
                           + " opens · " + d.clicks.to_string() + " clicks"),
                rx.foreach(d.stories, _story),
                class_name="sh-details",
            ),
            rx.fragment(),
        ),
        rx.cond(
            d.deliveries.length() > 0,
            rx.vstack(
                rx.text("Deliveries", size="2", weight="medium"),
                rx.foreach(d.deliveries, lambda x: rx.hstack(
                    rx.match(x.status,
                             ("failed", rx.badge(x.status, color_scheme="red", variant="soft")),
                             ("skipped", rx.badge(x.status, color_scheme="red", variant="soft")),
                             ("drafted", rx.badge(x.status, color_scheme="amber", variant="soft")),
                             rx.badge(x.status, color_scheme="green", variant="soft")),
                    rx.text(x.channel + rx.cond(x.target != "", " to " + x.target, "") + " · " + x.when, size="1"),
                    rx.cond(x.error != "", rx.text(x.error, size="1", color="var(--red-11)"), rx.fragment()),
                    spacing="2", align="center", wrap="wrap")),
                spacing="1", width="100%",
            ),
            rx.fragment(),
        ),
        custom_attrs={"data-digest": d.id.to_string()},
    )


def history() -> rx.Component:
    return rx.vstack(
        rx.flex(
            section_title("Your digests", "The best stories of each day, summarised, e-mailed or posted as you choose."),
            rx.spacer(),
            rx.button(rx.icon("sparkles", size=16, aria_hidden="true"), "Build digest now", size="3",
                      on_click=S.build_now(0), loading=S.building, id="build-digest"),
            width="100%", align="start", gap="12px", wrap="wrap",
        ),
        form_error(S.build_error),
        rx.cond(S.next_run != "", rx.text("Next digest: " + S.next_run, size="2", color_scheme="gray"), rx.fragment()),
        rx.cond(
            S.digests.length() > 0,
            rx.vstack(rx.foreach(S.digests, _digest), spacing="3", width="100%", id="digest-list"),
            rx.cond(S.loaded, rx.text("No digests yet. Your first one is built at your digest time, or press "
                                      "“Build digest now”.", size="2", color_scheme="gray"), rx.fragment()),
        ),
        spacing="3", width="100%",
    )


def _number(label: str, name: str, value, *, step: str, low: str, high: str, hint: str = "") -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=f"f-{name}", class_name="sh-label"),
        rx.input(id=f"f-{name}", name=name, type="number", step=step, min=low, max=high, default_value=value,
                 size="3", width="100%"),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray"), rx.fragment()) if hint else rx.fragment(),
        spacing="1", width="100%",
    )


def _switch(label: str, name: str, checked) -> rx.Component:
    return rx.el.label(
        rx.switch(name=name, default_checked=checked, id=f"f-{name}"),
        rx.text(label, size="2"), html_for=f"f-{name}",
        style={"display": "flex", "gap": "8px", "alignItems": "center"},
    )


def settings_card() -> rx.Component:
    return card(
        section_title("Digest settings", "When your digest is built (in your time zone, set in Settings), what goes "
                                         "in it, and where it goes."),
        form_error(S.settings_error),
        rx.form(
            rx.vstack(
                rx.box(
                    rx.vstack(rx.el.label("Digest time", html_for="f-digest_time", class_name="sh-label"),
                              rx.input(id="f-digest_time", name="digest_time", type="time", default_value=S.digest_time,
                                       size="3", width="100%"), spacing="1", width="100%"),
                    _number("Stories per digest", "max_items", S.max_items, step="1", low="1", high="30"),
                    _number("Minimum score (0–100)", "min_score", S.min_score, step="1", low="0", high="100"),
                    style={"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(160px, 1fr))",
                           "gap": "12px"}, width="100%",
                ),
                rx.vstack(
                    rx.el.label("Topics you care about", html_for="f-topics", class_name="sh-label"),
                    rx.input(id="f-topics", name="topics", default_value=S.topics, placeholder="rust, open source, climate",
                             max_length=1500, size="3", width="100%"),
                    rx.text("Separate topics with commas. Stories that mention them score higher.", size="1",
                            color_scheme="gray"),
                    spacing="1", width="100%",
                ),
                rx.el.fieldset(
                    rx.el.legend("Score weights (how much each part counts)", class_name="sh-label"),
                    rx.box(
                        _number("Relevance", "weight_relevance", S.weight_relevance, step="0.05", low="0", high="10"),
                        _number("Recency", "weight_recency", S.weight_recency, step="0.05", low="0", high="10"),
                        _number("Source reliability", "weight_reliability", S.weight_reliability, step="0.05", low="0",
                                high="10"),
                        _number("Engagement", "weight_engagement", S.weight_engagement, step="0.05", low="0", high="10"),
                        style={"display": "grid", "gridTemplateColumns": "repeat(auto-fit, minmax(140px, 1fr))",
                               "gap": "12px"}, width="100%",
                    ),
                    class_name="sh-fieldset sh-feed-fieldset",
                ),
                rx.el.fieldset(
                    rx.el.legend("Automation", class_name="sh-label"),
                    _switch("Build my digest automatically at the digest time", "auto_generate", S.auto_generate),
                    _switch("E-mail it to me", "auto_email", S.auto_email),
                    _switch("Post it to a connected account", "auto_post", S.auto_post),
                    rx.cond(
                        S.post_accounts.length() > 0,
                        rx.vstack(
                            rx.el.label("Account to post to", html_for="f-post_account", class_name="sh-label"),
                            rx.el.select(rx.el.option("The team's default account", value=""),
                                         rx.foreach(S.post_accounts, lambda a: rx.el.option(a["label"], value=a["id"])),
                                         id="f-post_account", name="post_account", default_value=S.post_account,
                                         class_name="sh-select"),
                            spacing="1",
                        ),
                        rx.text("Posting goes to your team's default account in Schedule.", size="1",
                                color_scheme="gray"),
                    ),
                    _switch("E-mail me when a digest could not be built", "email_notifications", S.email_notifications),
                    class_name="sh-fieldset sh-feed-fieldset",
                ),
                rx.button("Save digest settings", type="submit", size="3", id="save-digest-settings"),
                spacing="4", width="100%", align="start",
            ),
            on_submit=S.save_settings, key=S.form_key.to_string(), id="digest-settings-form",
        ),
        id="digest-settings",
    )


@template(route="/feed/digests", title="Feed", on_load=S.load)
def feed_digests() -> rx.Component:
    return rx.box(
        feed_nav("/feed/digests"),
        rx.vstack(history(), settings_card(), spacing="5", width="100%"),
        width="100%", max_width="860px",
    )
