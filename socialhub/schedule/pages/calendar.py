"""The Schedule page: a calendar (month, week, day) and a list of posts, the post panel, and
moving a post by dragging it. With nothing written yet, an honest empty state."""

from __future__ import annotations

import reflex as rx

from socialhub.schedule.pages.calendar_grid import agenda, month_grid, post_chip, status_badge, time_grid
from socialhub.ui.dnd import dnd_script
from socialhub.ui.empty_state import empty_state
from socialhub.ui.forms import form_error
from socialhub.ui.layout import template
from socialhub.schedule.state.calendar import ScheduleState as S

VIEW_LABELS = [("month", "Month"), ("week", "Week"), ("day", "Day"), ("list", "List")]


def _select(label: str, input_id: str, options, value, on_change) -> rx.Component:
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="sh-label"),
        rx.el.select(
            rx.foreach(options, lambda o: rx.el.option(o[1], value=o[0])),
            id=input_id, value=value, on_change=on_change, class_name="sh-select",
        ),
        spacing="1",
    )


def toolbar() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.hstack(
                rx.cond(
                    S.view != "list",
                    rx.hstack(
                        rx.icon_button(rx.icon("chevron_left", aria_hidden="true"), variant="soft", on_click=S.go(-1),
                                       aria_label="Earlier", id="cal-prev"),
                        rx.button("Today", variant="soft", on_click=S.go_today, id="cal-today"),
                        rx.icon_button(rx.icon("chevron_right", aria_hidden="true"), variant="soft", on_click=S.go(1),
                                       aria_label="Later", id="cal-next"),
                        spacing="2", align="center",
                    ),
                    rx.fragment(),
                ),
                rx.heading(S.title, size="4", as_="h2", id="cal-title"),
                align="center", spacing="2", wrap="wrap",
            ),
            rx.hstack(
                rx.segmented_control.root(
                    *[rx.segmented_control.item(label, value=value) for value, label in VIEW_LABELS],
                    value=S.view, on_change=S.set_view, aria_label="Calendar view", id="cal-views",
                ),
                rx.cond(
                    S.can_compose,
                    rx.link(rx.button(rx.icon("pen_line", size=16, aria_hidden="true"), "Compose a post"),
                            href="/schedule/compose", id="compose-link"),
                    rx.fragment(),
                ),
                rx.button(rx.icon("list_filter", size=16, aria_hidden="true"), "Filters", variant="soft",
                          on_click=S.toggle_filters, class_name="sh-filters-toggle",
                          aria_expanded=rx.cond(S.show_filters, "true", "false"), aria_controls="cal-filters"),
                align="center", spacing="2", wrap="wrap",
            ),
            justify="between", align="center", gap="12px", wrap="wrap", width="100%",
        ),
        rx.flex(
            _select("Status", "f-status", S.status_options, S.f_status, lambda v: S.set_filter("status", v)),
            _select("Account", "f-account", S.account_options, S.f_account, lambda v: S.set_filter("account", v)),
            rx.vstack(
                rx.el.label("Tag", html_for="f-tag", class_name="sh-label"),
                rx.el.select(
                    rx.el.option("Any tag", value=""),
                    rx.foreach(S.tag_options, lambda t: rx.el.option("#" + t, value=t)),
                    id="f-tag", value=S.f_tag, on_change=lambda v: S.set_filter("tag", v), class_name="sh-select",
                ),
                spacing="1",
            ),
            rx.form(
                rx.vstack(
                    rx.el.label("Search posts", html_for="f-q", class_name="sh-label"),
                    rx.hstack(
                        rx.input(id="f-q", name="q", default_value=S.f_search, placeholder="Words in the text",
                                 max_length=200, type="search"),
                        rx.button("Search", type="submit", variant="soft"),
                        spacing="1",
                    ),
                    spacing="1",
                ),
                on_submit=S.search,
            ),
            rx.cond(
                (S.f_status != "") | (S.f_account != "") | (S.f_tag != "") | (S.f_search != ""),
                rx.button("Clear filters", variant="ghost", on_click=S.clear_filters),
                rx.fragment(),
            ),
            gap="12px", wrap="wrap", align="end", id="cal-filters",
            class_name=rx.cond(S.show_filters, "sh-filters sh-open", "sh-filters"),
        ),
        rx.text(
            "Times are in ", rx.code(S.tz), ".",
            rx.el.span(" Drag a post to another day or time to move it, or open it to pick an exact time.",
                       class_name="sh-desktop-inline"),
            size="1", color_scheme="gray",
        ),
        spacing="3", width="100%",
    )


def list_view() -> rx.Component:
    return rx.vstack(
        rx.cond(
            S.rows.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.rows,
                    lambda p: rx.box(
                        rx.hstack(
                            rx.text(p.when, size="2", weight="medium"),
                            rx.cond(p.tags != "", rx.text(p.tags, size="1", color_scheme="gray"), rx.fragment()),
                            rx.cond(p.author != "", rx.text("by ", p.author, size="1", color_scheme="gray"), rx.fragment()),
                            spacing="2", wrap="wrap", align="center",
                        ),
                        post_chip(p, S.open_post),
                        class_name="sh-list-row", width="100%",
                    ),
                ),
                spacing="2", width="100%", id="post-list",
            ),
            rx.text("No posts match these filters.", color_scheme="gray", size="2"),
        ),
        rx.hstack(
            rx.button("Previous", variant="soft", on_click=S.go_page(-1), disabled=S.page <= 1),
            rx.text("Page ", S.page, " of ", S.pages, size="2"),
            rx.button("Next", variant="soft", on_click=S.go_page(1), disabled=S.page >= S.pages),
            align="center", spacing="3",
        ),
        spacing="3", width="100%",
    )


def calendar_view() -> rx.Component:
    return rx.box(
        rx.match(
            S.view,
            ("month", month_grid(S.month_days, on_open=S.open_post, on_day=S.open_day, on_drop=S.drop_post)),
            ("week", time_grid(S.head_days, S.grid_rows, columns="56px repeat(7, minmax(0, 1fr))", on_open=S.open_post,
                               on_day=S.open_day, on_drop=S.drop_post)),
            ("day", time_grid(S.head_days, S.grid_rows, columns="56px minmax(0, 1fr)", on_open=S.open_post,
                              on_day=S.open_day, on_drop=S.drop_post)),
            rx.fragment(),
        ),
        agenda(S.agenda, on_open=S.open_post, empty_text="Nothing scheduled in this month."),
        width="100%", id="cal",
    )


def drop_popover() -> rx.Component:
    return rx.cond(
        S.drop_open,
        rx.box(
            rx.form(
                rx.vstack(
                    rx.heading("Move to", size="3", as_="h2", id="drop-title"),
                    rx.text(S.drop_text, size="1", color_scheme="gray", class_name="sh-clamp-2"),
                    form_error(S.drop_error),
                    rx.hstack(
                        rx.vstack(
                            rx.el.label("Date", html_for="drop-date", class_name="sh-label"),
                            rx.input(id="drop-date", name="date", type="date", default_value=S.drop_date,
                                     key=S.drop_post_id.to_string() + S.drop_date + S.drop_time, required=True,
                                     on_key_down=lambda key, info: S.drop_key(key)),
                            spacing="1",
                        ),
                        rx.vstack(
                            rx.el.label("Time", html_for="drop-time", class_name="sh-label"),
                            rx.input(id="drop-time", name="time", type="time", default_value=S.drop_time,
                                     key=S.drop_post_id.to_string() + S.drop_time, required=True,
                                     on_key_down=lambda key, info: S.drop_key(key)),
                            spacing="1",
                        ),
                        spacing="2",
                    ),
                    rx.text("In ", S.tz, ". Change the time to the exact minute if you like.", size="1",
                            color_scheme="gray"),
                    rx.hstack(
                        rx.button("Move", type="submit", id="drop-confirm"),
                        rx.button("Cancel", type="button", variant="soft", on_click=S.cancel_move, id="drop-cancel"),
                        spacing="2",
                    ),
                    spacing="2", align="start",
                ),
                on_submit=S.confirm_move,
            ),
            role="dialog", aria_labelledby="drop-title", id="drop-popover", class_name="sh-drop-pop",
            style={"left": S.drop_left, "top": S.drop_top},
        ),
        rx.fragment(),
    )


def _panel_targets() -> rx.Component:
    return rx.vstack(
        rx.foreach(
            S.panel.targets,
            lambda t: rx.box(
                rx.hstack(
                    rx.text(t.account, weight="medium", size="2"),
                    status_badge(t.status_label, t.color, data_status=t.status),
                    rx.spacer(),
                    rx.text(t.when, size="1", color_scheme="gray"),
                    align="center", spacing="2", wrap="wrap", width="100%",
                ),
                rx.cond(t.error != "", rx.text(t.error, size="2", color_scheme="red", class_name="sh-target-error"),
                        rx.fragment()),
                rx.cond(
                    t.url != "",
                    rx.link("Open the published post", rx.icon("external_link", size=12, aria_hidden="true"),
                            href=t.url, is_external=True, size="2"),
                    rx.cond(t.where != "", rx.text(t.where, size="1", color_scheme="gray"), rx.fragment()),
                ),
                rx.cond(t.attempts > 1, rx.text(t.attempts, " tries", size="1", color_scheme="gray"), rx.fragment()),
                class_name="sh-target-row", data_status=t.status,
            ),
        ),
        spacing="2", width="100%", id="panel-targets",
    )


def _panel_actions() -> rx.Component:
    p = S.panel
    btn = lambda label, event, cond, **kw: rx.cond(cond, rx.button(label, on_click=event, **kw), rx.fragment())  # noqa: E731
    return rx.vstack(
        rx.flex(
            rx.cond(p.can_edit, rx.link(rx.button("Edit", variant="soft"), href="/schedule/compose?post=" + p.id.to_string()),
                    rx.fragment()),
            btn("Submit for approval", S.submit_post, p.can_submit),
            btn("Approve", S.approve_post, p.can_approve, color_scheme="green", id="panel-approve"),
            btn("Reject…", S.toggle_reject, p.can_approve, color_scheme="red", variant="soft"),
            btn("Publish now", S.publish_now, p.can_publish_now, id="panel-publish-now"),
            btn("Retry", S.retry_post, p.can_retry, color_scheme="orange"),
            btn("Back to draft", S.unschedule, p.can_unschedule, variant="soft"),
            btn("Cancel post", S.cancel_post, p.can_cancel, variant="soft", color_scheme="red"),
            btn("Duplicate", S.duplicate_post, p.can_duplicate, variant="soft"),
            btn("Delete", S.delete_post, p.can_delete, variant="soft", color_scheme="red"),
            gap="8px", wrap="wrap",
        ),
        rx.cond(
            p.needs_reconnect,
            rx.callout(rx.text("An account of this post needs reconnecting; its part is paused, not lost. ",
                               rx.link("Reconnect it in Settings → Accounts", href="/settings/accounts"), "."),
                       icon="plug", color_scheme="amber", width="100%"),
            rx.fragment(),
        ),
        rx.cond(
            S.reject_open,
            rx.form(
                rx.vstack(
                    rx.el.label("Why is it rejected? The author sees this.", html_for="f-reason", class_name="sh-label"),
                    rx.text_area(id="f-reason", name="reason", required=True, max_length=5000, width="100%"),
                    rx.button("Reject and send back", type="submit", color_scheme="red"),
                    spacing="2", width="100%", align="start",
                ),
                on_submit=S.reject_post, width="100%",
            ),
            rx.fragment(),
        ),
        rx.cond(
            p.can_reschedule,
            rx.form(
                rx.flex(
                    rx.vstack(rx.el.label("Date", html_for="panel-date", class_name="sh-label"),
                              rx.input(id="panel-date", name="date", type="date", default_value=p.date, required=True,
                                       key=p.id.to_string() + p.date),
                              spacing="1"),
                    rx.vstack(rx.el.label("Time", html_for="panel-time", class_name="sh-label"),
                              rx.input(id="panel-time", name="time", type="time", default_value=p.time, required=True,
                                       key=p.id.to_string() + p.time),
                              spacing="1"),
                    rx.button(rx.cond(p.status == "missed", "Reschedule", "Move to this time"), type="submit",
                              variant="soft", id="panel-reschedule"),
                    gap="8px", align="end", wrap="wrap",
                ),
                on_submit=S.reschedule,
            ),
            rx.fragment(),
        ),
        spacing="3", width="100%",
    )


def post_panel() -> rx.Component:
    p = S.panel
    return rx.dialog.root(
        rx.dialog.content(
            rx.vstack(
                rx.hstack(
                    rx.dialog.title("Post", margin="0"),
                    status_badge(p.status_label, p.color, id="panel-status", data_status=p.status),
                    rx.spacer(),
                    rx.dialog.close(rx.icon_button(rx.icon("x", aria_hidden="true"), variant="ghost",
                                                   aria_label="Close", on_click=S.close_panel)),
                    width="100%", align="center",
                ),
                rx.dialog.description(p.when, " · ", p.timezone, size="2", color_scheme="gray"),
                form_error(S.panel_error),
                rx.text(p.text, class_name="sh-post-text", id="panel-text"),
                rx.cond(p.first_comment != "", rx.text(rx.text.strong("First comment: "), p.first_comment, size="2",
                                                       class_name="sh-post-text"), rx.fragment()),
                rx.hstack(
                    rx.cond(p.tags != "", rx.text(p.tags, size="1", color_scheme="gray"), rx.fragment()),
                    rx.cond(p.recurrence != "", rx.badge(rx.icon("repeat", size=12, aria_hidden="true"), "Repeats ",
                                                         p.recurrence, variant="soft"), rx.fragment()),
                    rx.cond(p.media_count > 0, rx.text(p.media_count, " media", size="1", color_scheme="gray"),
                            rx.fragment()),
                    rx.cond(p.author != "", rx.text("by ", p.author, size="1", color_scheme="gray"), rx.fragment()),
                    spacing="2", wrap="wrap",
                ),
                rx.heading("Accounts", size="3", as_="h3"),
                _panel_targets(),
                rx.cond(p.read_only, rx.text("You can read this post; viewers cannot change it.", size="2",
                                             color_scheme="gray"), _panel_actions()),
                rx.heading("Comments", size="3", as_="h3"),
                rx.cond(
                    p.comments.length() > 0,
                    rx.vstack(rx.foreach(p.comments, lambda c: rx.box(
                        rx.text(rx.text.strong(c.who), " · ", c.kind, " · ", c.when, size="1", color_scheme="gray"),
                        rx.text(c.text, size="2", class_name="sh-post-text"),
                    )), spacing="2", width="100%"),
                    rx.text("No comments yet.", size="2", color_scheme="gray"),
                ),
                rx.cond(
                    p.can_comment,
                    rx.form(
                        rx.flex(
                            rx.box(
                                rx.el.label("Add a comment", html_for="f-comment", class_name="sh-label"),
                                rx.input(id="f-comment", name="comment", max_length=5000, required=True),
                                flex="1", min_width="200px",
                            ),
                            rx.button("Comment", type="submit", variant="soft"),
                            gap="8px", align="end", width="100%",
                        ),
                        on_submit=S.add_comment, id="comment-form", width="100%",
                    ),
                    rx.fragment(),
                ),
                rx.el.details(
                    rx.el.summary(rx.text("Activity (", p.activity.length(), ")", size="2", weight="medium")),
                    rx.vstack(rx.foreach(p.activity, lambda a: rx.text(
                        rx.text(a.when, as_="span", color_scheme="gray"), " · ", rx.text.strong(a.who), " · ", a.text,
                        size="1")), spacing="1", id="panel-activity"),
                    class_name="sh-details", open=True,
                ),
                spacing="3", width="100%", align="start",
            ),
            class_name="sh-panel", id="post-panel", max_width="640px",
        ),
        open=S.panel_open, on_open_change=S.set_panel_open,
    )


def content() -> rx.Component:
    return rx.cond(
        S.has_posts,
        rx.vstack(
            toolbar(),
            form_error(S.error),
            rx.cond(S.view == "list", list_view(), calendar_view()),
            spacing="4", width="100%",
        ),
        empty_state(
            "calendar_days", "Nothing scheduled yet",
            "Write a post once and schedule it for your SocialHub timeline, Bluesky, Mastodon, X, LinkedIn, Threads, "
            "Instagram and Facebook. Scheduled posts appear here on a calendar, with their status on every account.",
            [("Compose a post", "/schedule/compose"), ("Connect accounts", "/settings/accounts"),
             ("Set your time zone", "/settings#profile")],
        ),
    )


@template(route="/schedule", title="Schedule", on_load=S.load)
def schedule() -> rx.Component:
    return rx.box(
        dnd_script(),
        rx.cond(S.loaded, content(), rx.center(rx.spinner(size="3"), padding="48px")),
        post_panel(),
        drop_popover(),
        width="100%",
    )

