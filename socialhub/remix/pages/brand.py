"""The brand page (/remix/brand): brand setup (name, description, colours, competitors, logo)
and its dashboard: activity over time, tone and themes of prompts, top prompts, ads,
competitors, remixers, and a CSV export of each table."""

from __future__ import annotations

import reflex as rx

from socialhub.remix.pages.remix import labelled_input, remix_nav
from socialhub.remix.state.brand import RemixBrandState as S
from socialhub.ui.forms import card, form_error, section_title
from socialhub.ui.layout import template

LOGO_ID = "remix-logo"


def setup() -> rx.Component:
    return card(
        section_title("Your brand", "How your team appears in Remix. Admins and owners can change it."),
        rx.el.form(
            rx.vstack(
                labelled_input("Brand name", "brand-name", name="name", default_value=S.name, max_length=100, required=True),
                rx.el.label("Description", html_for="brand-description", class_name="sh-label"),
                rx.text_area(id="brand-description", name="description", default_value=S.description, max_length=2000),
                labelled_input("Colours (#rrggbb, comma separated; the first is the main one)", "brand-colors",
                               name="colors", default_value=S.colors, max_length=200),
                labelled_input("Competitors (names, comma separated)", "brand-competitors", name="competitors",
                               default_value=S.competitors, max_length=1000),
                rx.button("Save brand", type="submit", disabled=~S.can_edit),
                spacing="3", align="stretch",
            ),
            on_submit=S.save,
        ),
        rx.cond(S.has_brand, rx.vstack(
            rx.cond(S.logo != "", rx.image(src=S.logo, alt="Current logo", width="96px"), rx.fragment()),
            rx.upload(rx.button("Choose a logo", type="button", variant="soft"), id=LOGO_ID, max_files=1,
                      aria_label="Logo file"),
            rx.button("Upload logo", variant="soft", on_click=S.upload_logo(rx.upload_files(upload_id=LOGO_ID)),
                      disabled=~S.can_edit),
        ), rx.fragment()),
        form_error(S.error),
    )


def table(title: str, rows, columns: list[tuple[str, str]], export: str) -> rx.Component:
    return card(
        rx.flex(section_title(title), rx.button("Export CSV", size="1", variant="soft", on_click=S.export_csv(export),
                                                aria_label=f"Export {title} as CSV"), justify="between"),
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(label) for label, _ in columns])),
            rx.table.body(rx.foreach(rows, lambda r: rx.table.row(*[rx.table.cell(r[key]) for _, key in columns]))),
            width="100%",
        ),
    )


def dashboard_view() -> rx.Component:
    return rx.vstack(
        card(rx.plotly(data=S.activity_figure)),
        rx.grid(card(rx.plotly(data=S.tone_figure)), card(rx.plotly(data=S.themes_figure)),
                columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%"),
        card(rx.flex(section_title("Signals", "Themes, styles, intents and tone of people's prompts."),
                     rx.button("Extract signals", on_click=S.refresh_signals), justify="between"),
             rx.text(S.signal_note, size="1", color_scheme="gray"),
             rx.table.root(rx.table.header(rx.table.row(rx.table.column_header_cell("Kind"), rx.table.column_header_cell("Signal"),
                                                        rx.table.column_header_cell("Count"), rx.table.column_header_cell("Example prompt"))),
                           rx.table.body(rx.foreach(S.signal_rows, lambda r: rx.table.row(
                               rx.table.cell(r["kind"]), rx.table.cell(r["label"]), rx.table.cell(r["count"]),
                               rx.table.cell(r["example"])))), width="100%")),
        table("Top prompts", S.prompt_rows, [("Prompt", "prompt"), ("Remixes", "remixes")], "prompts"),
        table("Ads", S.ad_rows, [("Ad", "title"), ("Type", "kind"), ("Remixes", "remixes"), ("Likes", "likes"),
                                 ("Comments", "comments")], "ads"),
        table("Competitors on SocialHub", S.competitor_rows, [("Brand", "brand"), ("Ads", "ads"), ("Remixes", "remixes"),
                                                               ("Likes", "likes")], "competitors"),
        table("Leaderboard", S.remixer_rows, [("Remixer", "remixer"), ("Remixes", "remixes")], "remixers"),
        rx.button("Export activity CSV", variant="soft", on_click=S.export_csv("activity")),
        spacing="4", width="100%", align="stretch",
    )


@template(route="/remix/brand", title="Brand", on_load=S.load)
def remix_brand() -> rx.Component:
    return rx.vstack(remix_nav("/remix/brand"), setup(), rx.cond(S.has_brand, dashboard_view(), rx.fragment()),
                     spacing="4", width="100%", align="stretch")
