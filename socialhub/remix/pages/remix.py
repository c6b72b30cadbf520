"""The Remix gallery (/remix): ads with sorts, search and filters, likes, "Show more" (keyset
pages), and the upload form for a brand's editors. Styles in assets/remix.css."""

from __future__ import annotations

import reflex as rx

from socialhub.remix.state.gallery import RemixGalleryState as S
from socialhub.ui.empty_state import empty_state
from socialhub.ui.forms import card, form_error, section_title
from socialhub.ui.layout import template

UPLOAD_ID = "remix-upload"
SORT_LABELS = [("newest", "Newest"), ("remixed", "Most remixed"), ("liked", "Most liked"), ("trending", "Trending (24 h)")]


def remix_nav(active: str) -> rx.Component:
    links = [("Gallery", "/remix"), ("Brand", "/remix/brand")]
    return rx.el.nav(*[rx.link(label, href=href, aria_current="page" if href == active else None, underline="none")
                       for label, href in links], aria_label="Remix sections", class_name="sh-remix-nav")


def labelled_input(label: str, input_id: str, **props) -> rx.Component:
    return rx.vstack(rx.el.label(label, html_for=input_id, class_name="sh-label"),
                     rx.input(id=input_id, width="100%", **props), spacing="1", width="100%", align="stretch")


def _select(label: str, input_id: str, name: str, first: str, options, value_of, label_of) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="sh-label"),
        rx.el.select(rx.el.option(first, value=""), rx.foreach(options, lambda o: rx.el.option(label_of(o), value=value_of(o))),
                     id=input_id, name=name, class_name="sh-select"),
        spacing="1", align="stretch",
    )


def filters() -> rx.Component:
    return rx.el.form(
        rx.flex(
            labelled_input("Search ads", "remix-q", name="query", placeholder="Title, campaign, place, brand, tag",
                           max_length=200, default_value=S.query),
            _select("Brand", "remix-brand", "brand", "All brands", S.brand_options, lambda o: o[0], lambda o: o[1]),
            _select("Tag", "remix-tag", "tag", "All tags", S.tag_options, lambda o: o, lambda o: o),
            rx.vstack(rx.el.label("Type", html_for="remix-kind", class_name="sh-label"),
                      rx.el.select(rx.el.option("Images and videos", value=""), rx.el.option("Images", value="image"),
                                   rx.el.option("Videos", value="video"), id="remix-kind", name="kind",
                                   class_name="sh-select"), spacing="1"),
            rx.button("Search", type="submit"),
            rx.button("Clear", type="button", variant="soft", on_click=S.clear_filters),
            gap="12px", wrap="wrap", align="end",
        ),
        on_submit=S.search, role="search", aria_label="Search and filter ads",
    )


def sorts() -> rx.Component:
    return rx.flex(
        *[rx.button(label, variant=rx.cond(S.sort == key, "solid", "soft"), size="2",
                    aria_pressed=rx.cond(S.sort == key, "true", "false"), on_click=S.set_sort(key))
          for key, label in SORT_LABELS],
        gap="8px", wrap="wrap", role="group", aria_label="Sort ads",
    )


def ad_card(row) -> rx.Component:
    return rx.el.article(
        rx.link(
            rx.image(src=row["thumb"], alt=rx.cond(row["kind"] == "video", "Video ad: ", "Image ad: ") + row["title"],
                     class_name="sh-remix-thumb", loading="lazy"),
            rx.heading(row["title"], size="3", as_="h3"),
            href=row["href"], underline="none",
        ),
        rx.text(row["brand"], size="2", color_scheme="gray"),
        rx.cond(row["tags"] != "", rx.text(row["tags"], size="1", color_scheme="gray"), rx.fragment()),
        rx.flex(
            rx.button(rx.icon("heart", size=14, aria_hidden="true"), row["likes"], size="1",
                      variant=rx.cond(row["liked"] == "1", "solid", "soft"),
                      aria_label=rx.cond(row["liked"] == "1", "Unlike ", "Like ") + row["title"],
                      aria_pressed=rx.cond(row["liked"] == "1", "true", "false"), on_click=S.toggle_like(row["id"])),
            rx.text(row["remixes"] + " remixes · " + row["comments"] + " comments", size="1"),
            gap="8px", align="center",
        ),
        class_name="sh-remix-card",
    )


def upload_form() -> rx.Component:
    return card(
        section_title("Upload an ad", "JPEG, PNG, WebP or GIF images; MP4, WebM or MOV videos. Checked by content."),
        rx.flex(
            *[labelled_input(label, f"remix-up-{name}", value=value, max_length=200,
                             on_change=S.set_upload_field(name).debounce(300), required=name == "title")
              for label, name, value in [("Title", "title", S.up_title), ("Campaign", "campaign", S.up_campaign),
                                          ("Location", "location", S.up_location), ("Tags (comma separated)", "tags", S.up_tags)]],
            gap="12px", wrap="wrap",
        ),
        rx.upload(
            rx.vstack(rx.button("Choose a file", type="button", variant="soft"),
                      rx.text("or drop it here", size="1", color_scheme="gray"), align="center"),
            id=UPLOAD_ID, multiple=False, max_files=1, aria_label="Ad file", class_name="sh-dropzone", padding="16px",
            border="2px dashed var(--gray-a6)",
        ),
        rx.foreach(rx.selected_files(UPLOAD_ID), lambda f: rx.text(f, size="1")),
        rx.button("Upload ad", on_click=S.upload(rx.upload_files(upload_id=UPLOAD_ID))),
        form_error(S.upload_error),
    )


@template(route="/remix", title="Remix", on_load=S.load)
def remix() -> rx.Component:
    return rx.vstack(
        remix_nav("/remix"),
        rx.cond(S.can_upload, upload_form(),
                rx.cond(S.has_brand, rx.fragment(),
                        rx.text(rx.link("Set up your brand", href="/remix/brand"), " to upload ads of your own.",
                                size="2"))),
        filters(),
        sorts(),
        rx.cond(
            S.cards.length() > 0,
            rx.el.section(rx.foreach(S.cards, ad_card), class_name="sh-remix-grid", aria_label="Ads"),
            rx.cond(S.loaded, empty_state(
                "wand_sparkles", "No ads to remix yet",
                "Image and video ads that brands upload appear here. Remix them with a prompt, follow remix threads, "
                "and brands see what people made of their ads.",
                [("Set up your brand", "/remix/brand"), ("Add an OpenAI or Google key for AI edits", "/settings#keys")],
            ), rx.fragment()),
        ),
        rx.cond(S.next_cursor != "", rx.button("Show more", variant="soft", on_click=S.show_more), rx.fragment()),
        spacing="4", width="100%", align="stretch",
    )
