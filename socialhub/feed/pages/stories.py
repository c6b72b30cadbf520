"""The Feed page: the reader's stories, filters, search, and the actions on each story.

Also `feed_nav` (Stories · Sources · Digests) and `disclosure`, shared by the three Feed pages;
their style rules are in assets/feed.css.
"""

from __future__ import annotations

import reflex as rx

from socialhub.ui.empty_state import empty_state
from socialhub.ui.layout import template
from socialhub.feed.state.stories import FeedState as S
from socialhub.feed.state.stories import StoryRow


def feed_nav(active: str) -> rx.Component:
    links = [("Stories", "/feed"), ("Sources", "/feed/sources"), ("Digests", "/feed/digests")]
    return rx.el.nav(
        *[rx.link(label, href=href, aria_current="page" if href == active else None, underline="none")
          for label, href in links],
        aria_label="Feed sections", class_name="sh-feed-nav",
    )


def disclosure(label, size: str = "2") -> rx.Component:
    """The summary line of a <details>: a turning chevron and the label, in the accent colour."""
    return rx.el.summary(
        rx.icon("chevron_right", size=16, class_name="sh-chev", aria_hidden="true"),
        rx.text(label, size=size, weight="medium", color="var(--accent-11)"),
    )


def _labelled_select(label: str, input_id: str, value, on_change, options: list[rx.Component],
                     foreach=None) -> rx.Component:
    children = list(options)
    if foreach is not None:
        children.append(foreach)
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="sh-label"),
        rx.el.select(*children, id=input_id, value=value, on_change=on_change, class_name="sh-select", width="100%"),
        spacing="1", width="100%",
    )


def toolbar() -> rx.Component:
    return rx.vstack(
        rx.form(
            rx.hstack(
                rx.box(
                    rx.el.label("Search stories", html_for="f-q", class_name="sh-label"),
                    rx.input(id="f-q", name="q", placeholder="Words, \"a phrase\", -exclude", default_value=S.query,
                             max_length=200, size="3", width="100%", type="search",
                             key="q-" + S.search_key.to_string()),
                    flex="1", min_width="0",
                ),
                rx.button(rx.icon("search", size=16, aria_hidden="true"), "Search", type="submit", size="3"),
                align="end", spacing="2", width="100%",
            ),
            on_submit=S.search, id="search-form", width="100%",
        ),
        rx.box(
            _labelled_select("Order", "f-sort", S.sort, S.set_sort,
                             [rx.el.option("Newest first", value="newest"), rx.el.option("Best for you", value="best")]),
            _labelled_select("Source", "f-source", S.source_filter, S.set_source_filter,
                             [rx.el.option("All sources", value="")],
                             rx.foreach(S.source_options, lambda o: rx.el.option(
                                 o.title + " (" + o.unread.to_string() + " unread)", value=o.id))),
            _labelled_select("Category", "f-category", S.category_filter, S.set_category_filter,
                             [rx.el.option("All categories", value="")],
                             rx.foreach(S.category_options, lambda c: rx.el.option(c, value=c))),
            _labelled_select("Topic", "f-topic", S.topic_filter, S.set_topic_filter,
                             [rx.el.option("All topics", value="")],
                             rx.foreach(S.topic_options, lambda t: rx.el.option(t, value=t))),
            class_name="sh-filters sh-feed-filters",
        ),
        rx.flex(
            rx.el.label(rx.checkbox(checked=S.unread_only, on_change=S.set_unread_only, id="f-unread"),
                        rx.text("Unread only", size="2"), html_for="f-unread",
                        style={"display": "inline-flex", "gap": "6px", "alignItems": "center"}),
            rx.el.label(rx.checkbox(checked=S.bookmarked_only, on_change=S.set_bookmarked_only, id="f-bookmarked"),
                        rx.text("Bookmarked", size="2"), html_for="f-bookmarked",
                        style={"display": "inline-flex", "gap": "6px", "alignItems": "center"}),
            rx.el.label(rx.checkbox(checked=S.mark_on_scroll, on_change=S.set_mark_on_scroll, id="f-scroll"),
                        rx.text("Mark read when scrolled past", size="2"), html_for="f-scroll",
                        style={"display": "inline-flex", "gap": "6px", "alignItems": "center"}),
            rx.el.label(rx.checkbox(checked=S.show_images, on_change=S.set_show_images, id="f-images"),
                        rx.text("Show pictures", size="2"), html_for="f-images",
                        title="Pictures load from each publisher's server, which then sees your IP address.",
                        style={"display": "inline-flex", "gap": "6px", "alignItems": "center"}),
            rx.spacer(),
            rx.button("Mark all read", size="2", variant="soft", on_click=S.mark_all_read, id="mark-all-read"),
            gap="14px", wrap="wrap", align="center", width="100%",
        ),
        rx.hstack(
            rx.text(S.total.to_string() + " stories · " + S.unread_total.to_string() + " unread", size="2",
                    color_scheme="gray", id="feed-counts"),
            rx.cond((S.query != "") | (S.source_filter != "") | (S.category_filter != "") | (S.topic_filter != "")
                    | S.unread_only | S.bookmarked_only,
                    rx.button("Clear filters", size="1", variant="ghost", on_click=S.clear_filters), rx.fragment()),
            spacing="3", align="center",
        ),
        spacing="3", width="100%",
    )


def score_popover(story: StoryRow) -> rx.Component:
    return rx.popover.root(
        rx.popover.trigger(
            rx.button(rx.icon("gauge", size=14, aria_hidden="true"), "Score " + story.score, size="1", variant="soft",
                      color_scheme="iris", aria_label="Why this story scored " + story.score),
        ),
        rx.popover.content(
            rx.vstack(
                rx.heading("Why it scored " + story.score, size="2", as_="h3"),
                rx.foreach(story.parts, lambda p: rx.vstack(
                    rx.hstack(rx.text(p.label, size="1", weight="medium"), rx.spacer(),
                              rx.text(p.value.to_string() + " / 100 · weight " + p.weight, size="1", color_scheme="gray"),
                              width="100%"),
                    rx.box(rx.box(width=p.value.to_string() + "%"), class_name="sh-bar", width="100%"),
                    spacing="1", width="100%")),
                rx.el.ul(rx.foreach(story.reasons, lambda r: rx.el.li(rx.text(r, size="1"))),
                         style={"paddingLeft": "18px", "margin": "0"}),
                spacing="2", width="min(320px, 84vw)",
            ),
        ),
    )


def stars(story: StoryRow) -> rx.Component:
    return rx.box(
        *[rx.el.button(
            rx.icon("star", size=16, aria_hidden="true", fill=rx.cond(story.rating >= n, "currentColor", "none")),
            on_click=S.rate(story.id, n), class_name="sh-star", type="button",
            aria_label=f"Rate {n} of 5", aria_pressed=rx.cond(story.rating >= n, "true", "false"),
            title=f"Rate {n} of 5",
        ) for n in range(1, 6)],
        class_name="sh-stars", role="group", aria_label="Rating",
    )


def story_card(story: StoryRow) -> rx.Component:
    return rx.box(
        rx.hstack(
            rx.vstack(
                rx.cond(story.url != "",
                        rx.link(story.title, href=story.url, is_external=True, class_name="sh-story-title",
                                on_click=S.open_story(story.id)),
                        rx.text(story.title, class_name="sh-story-title")),
                rx.text(
                    rx.cond(story.sources != "", story.sources + " · ", ""), story.age,
                    rx.cond(story.author != "", " · " + story.author, ""),
                    size="1", color_scheme="gray", title=story.when,
                ),
                rx.cond(story.excerpt != "", rx.text(story.excerpt, size="2", class_name="sh-story-excerpt"),
                        rx.fragment()),
                spacing="1", flex="1", min_width="0",
            ),
            rx.cond(story.image_url != "", rx.image(src=story.image_url, alt="", class_name="sh-story-thumb",
                                                     loading="lazy", referrer_policy="no-referrer"), rx.fragment()),
            align="start", spacing="3", width="100%",
        ),
        rx.flex(
            rx.cond(story.url != "",
                    rx.link(rx.button(rx.icon("external_link", size=14, aria_hidden="true"), "Open", size="1",
                                      variant="soft", tab_index=-1),
                            href=story.url, is_external=True, on_click=S.open_story(story.id),
                            custom_attrs={"data-action": "open"}, aria_label="Open " + story.title),
                    rx.fragment()),
            rx.button(rx.icon(rx.cond(story.bookmarked, "bookmark_check", "bookmark"), size=14, aria_hidden="true"),
                      rx.cond(story.bookmarked, "Bookmarked", "Bookmark"), size="1",
                      variant=rx.cond(story.bookmarked, "solid", "soft"), on_click=S.toggle_bookmark(story.id),
                      aria_pressed=rx.cond(story.bookmarked, "true", "false"), custom_attrs={"data-action": "bookmark"}),
            rx.button(rx.icon(rx.cond(story.read, "mail_open", "mail"), size=14, aria_hidden="true"),
                      rx.cond(story.read, "Mark unread", "Mark read"), size="1", variant="soft",
                      on_click=S.toggle_read(story.id), custom_attrs={"data-action": "read"}),
            stars(story),
            rx.button(rx.icon("share_2", size=14, aria_hidden="true"), "Share", size="1", variant="soft",
                      on_click=S.share(story.id), loading=S.sharing),
            rx.cond(story.score != "", score_popover(story),
                    rx.badge("Not scored yet", color_scheme="gray", variant="soft")),
            rx.el.button("Seen", on_click=S.mark_seen(story.id), class_name="sh-hidden", tab_index=-1,
                         aria_hidden="true", custom_attrs={"data-action": "seen"}),
            gap="8px", wrap="wrap", align="center", margin_top="10px",
        ),
        class_name="sh-story", tab_index=0, role="article", aria_label=story.title,
        custom_attrs={"data-story": story.id.to_string(), "data-read": rx.cond(story.read, "1", "0")},
    )


def share_dialog() -> rx.Component:
    return rx.dialog.root(
        rx.dialog.content(
            rx.dialog.title("Share this story"),
            rx.dialog.description(
                "Caption written by: ", rx.text.strong(S.share_label), ". Edit it, copy it, or open it in the "
                "composer to post it.", size="2"),
            rx.cond(S.share_note != "", rx.callout(S.share_note, icon="info", size="1", margin_top="8px"), rx.fragment()),
            rx.form(
                rx.vstack(
                    rx.el.label("Post text", html_for="f-share-text", class_name="sh-label"),
                    rx.text_area(id="f-share-text", name="text", default_value=S.share_text, rows="7",
                                 max_length=10000, width="100%", key=S.share_text),
                    rx.flex(
                        rx.button("Copy text", type="button", variant="soft",
                                  on_click=[rx.set_clipboard(S.share_text), rx.toast.success("Copied.")]),
                        rx.button("Open in the composer", type="submit", id="share-compose"),
                        rx.dialog.close(rx.button("Close", type="button", variant="ghost", color_scheme="gray")),
                        gap="8px", wrap="wrap", justify="end", width="100%",
                    ),
                    spacing="3", width="100%", margin_top="12px",
                ),
                on_submit=S.save_share_draft,
            ),
            max_width="560px",
        ),
        open=S.share_open, on_open_change=S.set_share_open,
    )


def stories() -> rx.Component:
    return rx.cond(
        S.stories.length() > 0,
        rx.vstack(
            rx.el.div(
                rx.foreach(S.stories, story_card),
                id="story-list", custom_attrs={"data-mark-on-scroll": rx.cond(S.mark_on_scroll, "1", "0")},
                style={"display": "flex", "flexDirection": "column", "gap": "10px", "width": "100%"},
            ),
            rx.cond(S.has_more, rx.button("Load more", on_click=S.load_more, variant="soft", size="3", width="100%",
                                          id="load-more"),
                    rx.text("That's everything.", size="2", color_scheme="gray", align="center", width="100%")),
            rx.text("Keyboard: j / k next and previous story, o open, b bookmark, m read or unread.",
                    size="1", color_scheme="gray", class_name="sh-desktop-only"),
            spacing="3", width="100%",
        ),
        rx.cond(
            S.loaded,
            rx.callout(
                rx.cond(S.total > 0,
                        "No stories match these filters. Clear the filters or search for something else.",
                        "Your sources have no stories yet. New sources are fetched within a minute; "
                        "check the Sources tab for errors."),
                icon="info", width="100%", id="feed-empty"),
            rx.center(rx.spinner(size="3"), padding="32px", width="100%"),
        ),
    )


@template(route="/feed", title="Feed", on_load=S.load)
def feed() -> rx.Component:
    return rx.box(
        feed_nav("/feed"),
        rx.cond(
            S.loaded & ~S.has_sources,
            empty_state(
                "rss", "Your feed has no sources yet",
                "Stories from the RSS, Atom and JSON feeds and websites you follow will appear here, "
                "de-duplicated and scored for your interests, with a daily AI digest built from the best of them.",
                [("Add a source", "/feed/sources"), ("Set your time zone for the digest", "/settings#profile"),
                 ("Add an AI key for summaries", "/settings#keys")],
            ),
            rx.vstack(
                toolbar(),
                rx.cond(S.error != "", rx.callout(S.error, icon="triangle_alert", color_scheme="red", role="alert",
                                                  width="100%"), rx.fragment()),
                stories(),
                spacing="4", width="100%",
            ),
        ),
        share_dialog(),
        width="100%", max_width="860px",
    )
