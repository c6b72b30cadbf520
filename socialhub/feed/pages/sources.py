"""Feed → Sources: follow feeds and websites, organise and fetch them, OPML, and rules."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.forms import card, field, form_error, section_title
from socialhub.ui.layout import template
from socialhub.feed.models import RULE_ACTIONS, RULE_FIELDS
from socialhub.feed.pages.stories import disclosure, feed_nav
from socialhub.feed.rules import FIELD_LABELS
from socialhub.feed.state.sources import FeedSourcesState as S
from socialhub.feed.state.sources import SourceRow, Suggestion

SHORT_ACTIONS = {"block": "Hide matches", "keep": "Keep only matches"}


def add_card() -> rx.Component:
    return card(
        section_title("Add a source", "Paste a feed address (RSS, Atom, JSON Feed) or a website's; "
                                      "SocialHub finds the website's feed."),
        form_error(S.add_error),
        rx.form(
            rx.flex(
                rx.box(field("Feed or website address", "url", placeholder="https://example.com", max_length=2000,
                             required=True), flex="3", min_width="220px"),
                rx.box(field("Category (optional)", "category", placeholder="Tech", max_length=100), flex="1",
                       min_width="140px"),
                rx.button("Add source", type="submit", size="3", loading=S.adding, id="add-source"),
                gap="8px", align="end", wrap="wrap", width="100%",
            ),
            on_submit=S.add_source, id="add-source-form",
        ),
        id="add",
    )


def _suggestion(s: Suggestion) -> rx.Component:
    return rx.hstack(
        rx.vstack(rx.text(s.name, size="2", weight="medium"), rx.text(s.category, size="1", color_scheme="gray"),
                  spacing="0", min_width="0"),
        rx.spacer(),
        rx.button("Add", size="1", variant="soft", on_click=S.add_suggested(s.url), aria_label="Add " + s.name),
        width="100%", align="center",
    )


def suggestions_card(open_: bool) -> rx.Component:
    return card(
        rx.el.details(
            disclosure("Suggested sources: well-known tech, news and creator feeds", size="3"),
            rx.vstack(
                rx.text("They are fetched from the internet within a minute of adding them.", size="2",
                        color_scheme="gray"),
                rx.box(rx.foreach(S.suggestions, _suggestion),
                       style={"display": "grid", "gridTemplateColumns": "repeat(auto-fill, minmax(230px, 1fr))",
                              "gap": "10px"}, width="100%"),
                rx.button("Add all of them", variant="soft", on_click=S.add_all_suggested),
                spacing="3", width="100%", margin_top="12px",
            ),
            open=open_, class_name="sh-details",
        ),
    )


def _source_row(s: SourceRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.hstack(
                    rx.text(s.title, weight="medium", size="3"),
                    rx.cond(s.category != "", rx.badge(s.category, variant="soft"), rx.fragment()),
                    rx.cond(~s.enabled, rx.badge("off", color_scheme="gray"), rx.fragment()),
                    spacing="2", align="center", wrap="wrap",
                ),
                rx.text(s.url, size="1", color_scheme="gray", style={"overflowWrap": "anywhere"}),
                rx.text(s.unread.to_string() + " unread of " + s.total.to_string() + " · fetched " + s.fetched,
                        size="1", color_scheme="gray"),
                spacing="1", min_width="0", flex="1",
            ),
            rx.el.label(
                rx.switch(checked=s.enabled, on_change=lambda v: S.set_enabled(s.id, v),
                          id="src-on-" + s.id.to_string()),
                rx.text("On", size="1"), html_for="src-on-" + s.id.to_string(),
                style={"display": "inline-flex", "gap": "6px", "alignItems": "center"},
            ),
            align="start", spacing="3", width="100%",
        ),
        rx.cond(s.error != "",
                rx.callout(s.error, icon=rx.cond(s.failing, "triangle_alert", "info"), size="1",
                           color_scheme=rx.cond(s.failing, "red", "amber"), margin_top="8px"),
                rx.fragment()),
        rx.el.details(
            disclosure("Edit, fetch now or remove"),
            rx.form(
                rx.flex(
                    rx.el.input(type="hidden", name="source_id", value=s.id.to_string()),
                    rx.box(rx.el.label("Name", html_for="src-title-" + s.id.to_string(), class_name="sh-label"),
                           rx.input(id="src-title-" + s.id.to_string(), name="title", default_value=s.title,
                                    max_length=300, width="100%"), flex="2", min_width="180px"),
                    rx.box(rx.el.label("Category", html_for="src-cat-" + s.id.to_string(), class_name="sh-label"),
                           rx.input(id="src-cat-" + s.id.to_string(), name="category", default_value=s.category,
                                    max_length=100, width="100%"), flex="1", min_width="120px"),
                    rx.button("Save", type="submit", size="2"),
                    gap="8px", align="end", wrap="wrap", width="100%",
                ),
                on_submit=S.save_source,
            ),
            rx.flex(
                rx.button("Fetch now", size="1", variant="soft", on_click=S.refresh(s.id), loading=S.refreshing),
                rx.cond(s.site_url != "", rx.link(rx.button("Website", size="1", variant="soft", tab_index=-1),
                                                  href=s.site_url, is_external=True), rx.fragment()),
                rx.button("Remove", size="1", variant="soft", color_scheme="red", on_click=S.delete_source(s.id),
                          aria_label="Remove " + s.title),
                gap="8px", wrap="wrap", margin_top="8px",
            ),
            class_name="sh-details", style={"marginTop": "6px"},
        ),
        padding="12px 0", border_bottom="1px solid var(--gray-a4)", width="100%",
    )


def sources_card() -> rx.Component:
    return card(
        rx.hstack(
            section_title("Your sources", "Each is fetched about every 30 minutes; errors show here, and "
                                          "failing sources are retried less and less often."),
            rx.spacer(),
            rx.button("Fetch all now", variant="soft", on_click=S.refresh(0), loading=S.refreshing, id="refresh-all"),
            align="start", width="100%", wrap="wrap",
        ),
        form_error(S.edit_error),
        rx.cond(S.sources.length() > 0,
                rx.vstack(rx.foreach(S.sources, _source_row), spacing="0", width="100%", id="source-list"),
                rx.text("You follow no sources yet. Add one above, import an OPML file, or pick some suggestions.",
                        size="2", color_scheme="gray")),
        id="sources",
    )


def opml_card() -> rx.Component:
    return card(
        section_title("Import and export", "Move your subscriptions from or to another feed reader (OPML)."),
        form_error(S.import_error),
        rx.cond(S.import_message != "", rx.callout(S.import_message, icon="circle_check", color_scheme="green",
                                                   role="status", width="100%"), rx.fragment()),
        rx.flex(
            rx.upload(
                rx.button(rx.icon("upload", size=16, aria_hidden="true"), "Import an OPML file", variant="soft",
                          type="button"),
                id="opml-upload", max_files=1, multiple=False, no_drag=True,
                on_drop=S.import_opml(rx.upload_files(upload_id="opml-upload")),
                border="0", padding="0",
            ),
            rx.button(rx.icon("download", size=16, aria_hidden="true"), "Export OPML", variant="soft",
                      on_click=S.export_opml, id="export-opml"),
            gap="8px", wrap="wrap",
        ),
    )


def rules_card() -> rx.Component:
    return card(
        section_title("Rules", "Hide stories that match a pattern, or keep only those that match. Patterns are "
                               "words or regular expressions, not case-sensitive. Preview before saving."),
        rx.cond(S.rules.length() > 0,
                rx.vstack(rx.foreach(S.rules, lambda r: rx.hstack(
                    rx.text(r.action, ": ", rx.text.strong(r.field), " matches ", rx.code(r.pattern), size="2",
                            style={"overflowWrap": "anywhere"}),
                    rx.cond(r.disabled != "", rx.badge(r.disabled, color_scheme="orange"), rx.fragment()),
                    rx.spacer(),
                    rx.button("Delete", size="1", variant="soft", color_scheme="red", on_click=S.delete_rule(r.id),
                              aria_label="Delete rule " + r.pattern),
                    width="100%", align="center")), spacing="2", width="100%", id="rule-list"),
                rx.text("No rules yet: every story of your sources shows.", size="2", color_scheme="gray")),
        form_error(S.rule_error),
        rx.form(
            rx.flex(
                rx.box(rx.el.label("Action", html_for="f-rule-action", class_name="sh-label"),
                       rx.el.select(*[rx.el.option(SHORT_ACTIONS[a], value=a) for a in RULE_ACTIONS],
                                    id="f-rule-action", name="action", class_name="sh-select", width="100%"),
                       flex="1", min_width="200px"),
                rx.box(rx.el.label("Looks at", html_for="f-rule-field", class_name="sh-label"),
                       rx.el.select(*[rx.el.option(FIELD_LABELS[f], value=f) for f in RULE_FIELDS],
                                    id="f-rule-field", name="field", class_name="sh-select", width="100%"),
                       flex="1", min_width="140px"),
                rx.box(field("Pattern", "pattern", placeholder="sponsored|giveaway", max_length=300), flex="2",
                       min_width="180px"),
                rx.button("Preview", type="submit", size="3", variant="soft", id="preview-rule"),
                gap="8px", align="end", wrap="wrap", width="100%",
            ),
            on_submit=S.preview_rule, id="rule-form",
        ),
        rx.cond(S.preview_text != "",
                rx.callout(
                    rx.vstack(
                        rx.text(S.preview_text, weight="medium", id="rule-preview"),
                        rx.el.ul(rx.foreach(S.preview_samples, lambda t: rx.el.li(rx.text(t, size="1"))),
                                 style={"paddingLeft": "18px", "margin": "0"}),
                        rx.hstack(rx.button("Save rule", on_click=S.save_rule, size="2", id="save-rule"),
                                  rx.button("Cancel", on_click=S.cancel_rule, size="2", variant="ghost"),
                                  spacing="2"),
                        spacing="2", width="100%",
                    ),
                    icon="eye", width="100%", role="status"),
                rx.fragment()),
        id="rules",
    )


@template(route="/feed/sources", title="Feed", on_load=S.load)
def feed_sources() -> rx.Component:
    return rx.box(
        feed_nav("/feed/sources"),
        rx.vstack(add_card(), suggestions_card(S.loaded & (S.sources.length() == 0)), sources_card(), opml_card(),
                  rules_card(), spacing="4", width="100%"),
        width="100%", max_width="860px",
    )
