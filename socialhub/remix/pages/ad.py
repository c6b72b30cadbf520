"""The ad page (/remix/ad?ad=ID): the original with its brand, the prompt box with live
progress, the remix tree (each step's prompt, diff and picture), compare two side by side,
share to Schedule, likes and comments with replies. All user text is rendered as text."""

from __future__ import annotations

import reflex as rx

from socialhub.remix.pages.remix import remix_nav
from socialhub.remix.state.ad import RemixAdState as S
from socialhub.ui.forms import card, form_error, section_title
from socialhub.ui.layout import template


def original() -> rx.Component:
    return card(
        rx.heading(S.ad["title"], size="5", as_="h2"),
        rx.cond(S.ad["kind"] == "video",
                rx.video(src=S.ad["video"], controls=True, width="100%", height="auto", aria_label="The video ad"),
                rx.image(src=S.ad["src"], alt="The ad: " + S.ad["title"], class_name="sh-remix-original")),
        rx.text(S.ad["campaign"], " · ", S.ad["location"], " · ", S.ad["tags"], size="2", color_scheme="gray"),
        rx.text(S.ad["size"], " ", S.ad["duration"], size="1", color_scheme="gray"),
        rx.flex(
            rx.button(rx.icon("heart", size=14, aria_hidden="true"), S.ad["likes"], variant=rx.cond(S.ad_liked, "solid", "soft"),
                      aria_label=rx.cond(S.ad_liked, "Unlike this ad", "Like this ad"),
                      aria_pressed=rx.cond(S.ad_liked, "true", "false"), on_click=S.toggle_like),
            rx.text(S.ad["remixes"], " remixes", size="2"),
            rx.cond(S.can_manage, rx.button("Delete ad", color_scheme="red", variant="soft", on_click=S.delete_ad),
                    rx.fragment()),
            gap="12px", align="center",
        ),
    )


def brand_box() -> rx.Component:
    return card(
        section_title("Brand"),
        rx.flex(rx.cond(S.brand["logo"] != "", rx.image(src=S.brand["logo"], alt=S.brand["name"] + " logo", width="48px"),
                        rx.fragment()),
                rx.heading(S.brand["name"], size="3", as_="h3"), gap="8px", align="center"),
        rx.text(S.brand["description"], size="2"),
        rx.flex(rx.foreach(S.colors, lambda c: rx.box(class_name="sh-remix-swatch", background=c, title=c,
                                                      aria_label="Brand colour " + c, role="img")), gap="4px"),
        rx.cond(S.brand["competitors"] != "", rx.text("Competitors: ", S.brand["competitors"], size="1"), rx.fragment()),
    )


def prompt_box() -> rx.Component:
    return card(
        section_title("Remix it", "Describe the change. Without an AI key the built-in editor does: " ),
        rx.text(S.help_text, size="1", color_scheme="gray"),
        rx.cond(S.parent_id != "", rx.flex(rx.text("Remixing remix #", S.parent_id, size="2"),
                                           rx.button("Remix the original instead", size="1", variant="soft",
                                                     on_click=S.remix_from("")), gap="8px"), rx.fragment()),
        rx.el.label("Prompt", html_for="remix-prompt", class_name="sh-label"),
        rx.text_area(id="remix-prompt", value=S.prompt, on_change=S.set_prompt.debounce(250), max_length=1000,
                     placeholder='e.g. sepia, add text "Summer is back" at the top, crop to 4:5', rows="3"),
        rx.button("Remix", on_click=S.submit_remix),
        form_error(S.error),
    )


def tree_row(row) -> rx.Component:
    return rx.el.li(
        rx.flex(
            rx.cond(row["thumb"] != "", rx.image(src=row["thumb"], alt="Remix: " + row["prompt"], class_name="sh-remix-step"),
                    rx.box(class_name="sh-remix-step sh-remix-pending", aria_hidden="true")),
            rx.vstack(
                rx.text(row["prompt"], size="2", weight="medium"),
                rx.cond(row["added"] != "", rx.text("+ ", row["added"], size="1", class_name="sh-diff-add"), rx.fragment()),
                rx.cond(row["removed"] != "", rx.text("− ", row["removed"], size="1", class_name="sh-diff-del"), rx.fragment()),
                rx.text(row["provider"], " · ", row["when"], size="1", color_scheme="gray"),
                rx.cond((row["status"] == "queued") | (row["status"] == "running"),
                        rx.flex(rx.progress(value=row["progress"].to(int), max=100, aria_label="Progress", width="160px"),
                                rx.text(row["status"], " ", row["progress"], "%", size="1", role="status"),
                                rx.cond(row["mine"] == "1", rx.button("Cancel", size="1", variant="soft",
                                                                      on_click=S.cancel(row["id"])), rx.fragment()),
                                gap="8px", align="center"),
                        rx.fragment()),
                rx.cond(row["status"] == "failed",
                        rx.flex(rx.text("Failed: ", row["error"], size="1", color_scheme="red", role="alert"),
                                rx.cond(row["mine"] == "1", rx.button("Retry", size="1", on_click=S.retry(row["id"])),
                                        rx.fragment()), gap="8px"),
                        rx.fragment()),
                rx.cond(row["notes"] != "", rx.text(row["notes"], size="1", color_scheme="gray"), rx.fragment()),
                rx.cond(row["status"] == "done", rx.flex(
                    rx.button("Remix this", size="1", on_click=S.remix_from(row["id"])),
                    rx.button("Compare", size="1", variant="soft", on_click=S.pick_compare(row["id"])),
                    rx.button("Share to Schedule", size="1", variant="soft", on_click=S.share(row["id"])),
                    rx.button(rx.icon("heart", size=12, aria_hidden="true"), row["likes"], size="1", variant="soft",
                              aria_label="Like this remix", on_click=S.like_remix(row["id"])),
                    gap="6px", wrap="wrap"), rx.fragment()),
                spacing="1", align="start",
            ),
            gap="12px",
        ),
        style={"margin_left": row["indent"]}, class_name="sh-remix-node",
    )


def comparison() -> rx.Component:
    return rx.cond(S.comparison.contains("left"), card(
        section_title("Compare"),
        rx.grid(
            rx.vstack(rx.image(src=S.comparison["left"], alt="Left: " + S.comparison["left_prompt"]),
                      rx.text(S.comparison["left_prompt"], size="2")),
            rx.vstack(rx.image(src=S.comparison["right"], alt="Right: " + S.comparison["right_prompt"]),
                      rx.text(S.comparison["right_prompt"], size="2")),
            columns="2", gap="12px",
        ),
        rx.text(rx.foreach(S.comparison_diff, lambda d: rx.el.span(d["text"] + " ", class_name="sh-diff-" + d["op"].replace("+", "add").replace("-", "del").replace("=", "same"))), size="2"),
        rx.button("Close", variant="soft", on_click=S.close_compare),
    ), rx.fragment())


def comments() -> rx.Component:
    return card(
        section_title("Comments"),
        rx.el.ul(rx.foreach(S.comments, lambda c: rx.el.li(
            rx.text(c["author"], " · ", c["when"], size="1", color_scheme="gray"),
            rx.text(c["body"], size="2", white_space="pre-wrap"),
            rx.flex(rx.button("Reply", size="1", variant="ghost", on_click=S.reply(c["id"])),
                    rx.cond(c["mine"] == "1", rx.button("Delete", size="1", variant="ghost", color_scheme="red",
                                                        on_click=S.delete_comment(c["id"])), rx.fragment()), gap="6px"),
            style={"margin_left": c["indent"]}, class_name="sh-remix-comment")), class_name="sh-remix-comments"),
        rx.el.form(
            rx.cond(S.reply_to != "", rx.text("Replying to a comment ", rx.button("Cancel reply", size="1", variant="ghost",
                                                                                  type="button", on_click=S.reply("")), size="1"),
                    rx.fragment()),
            rx.el.label("Your comment", html_for="remix-comment", class_name="sh-label"),
            rx.text_area(id="remix-comment", name="body", max_length=2000, rows="2"),
            rx.button("Comment", type="submit"),
            on_submit=S.add_comment, reset_on_submit=True,
        ),
    )


@template(route="/remix/ad", title="Remix an ad", on_load=S.load)
def remix_ad() -> rx.Component:
    return rx.vstack(
        remix_nav(""),
        rx.cond(S.missing != "", rx.callout(S.missing, icon="triangle_alert", role="alert"),
                rx.grid(
                    rx.vstack(original(), prompt_box(), comparison(), card(
                        section_title("Remix thread", "Each remix under the one it remixed."),
                        rx.cond(S.tree.length() > 0, rx.el.ul(rx.foreach(S.tree, tree_row), class_name="sh-remix-tree",
                                                               aria_live="polite"),
                                rx.text("No remixes yet. Be the first.", size="2")),
                    ), spacing="4", width="100%"),
                    rx.vstack(brand_box(), comments(), spacing="4", width="100%"),
                    columns=rx.breakpoints(initial="1", md="2"), gap="16px", width="100%",
                )),
        spacing="4", width="100%", align="stretch",
    )
