"""Calendar widgets (no state): post chips, a month grid, a time grid (week and day), and a
phone agenda. Each takes the rows to show and the events to fire; the page wires them to its
state. Cells are drop zones (`components.dnd`), chips are draggable when the row says so.

Rows are `state.schedule_rows` shapes: CalPost (a post), CalSlot (a time cell), GridRow (a row
of cells), CalDay (a day). On phones (≤ 768 px) the grids are hidden and the agenda is shown.
"""

from __future__ import annotations

from collections.abc import Callable

import reflex as rx

from socialhub.ui.dnd import drop_zone

WEEKDAY_SHORT = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


def status_badge(label, color, **props) -> rx.Component:
    return rx.badge(label, color_scheme=color, variant="soft", radius="full", class_name="sh-status", **props)


def account_badges(badges) -> rx.Component:
    return rx.flex(
        rx.foreach(
            badges,
            lambda b: rx.badge(
                rx.text(b.label, as_="span", class_name="sh-badge-account"),
                rx.text(" · ", as_="span", aria_hidden="true"),
                rx.text(b.status_label, as_="span"),
                color_scheme=b.color, variant="outline", size="1", class_name="sh-target-badge",
                data_status=b.status, title=b.label + ": " + b.status_label + rx.cond(b.error != "", " — " + b.error, ""),
            ),
        ),
        gap="4px", wrap="wrap",
    )


def post_chip(post, on_open: Callable, *, compact: bool = False) -> rx.Component:
    """A post on the calendar: a button that opens it, inside a draggable wrapper."""
    body = rx.vstack(
        rx.hstack(
            rx.text(post.time, weight="bold", size="1", class_name="sh-chip-time"),
            status_badge(post.status_label, post.color, size="1", data_status=post.status),
            rx.cond(post.recurrence != "", rx.icon("repeat", size=12, aria_label=post.recurrence), rx.fragment()),
            spacing="1", align="center", wrap="wrap",
        ),
        rx.text(post.text, size="1", class_name="sh-chip-text"),
        account_badges(post.badges) if not compact else rx.fragment(),
        spacing="1", align="start", width="100%",
    )
    return rx.el.div(
        rx.el.button(
            body,
            type="button",
            on_click=on_open(post.id),
            class_name="sh-chip-open",
            aria_label=post.when + ", " + post.status_label + ": " + post.text,
        ),
        draggable=post.draggable,
        data_drag=rx.cond(post.draggable, post.id.to_string(), ""),
        data_post=post.id.to_string(),
        data_status=post.status,
        class_name=rx.cond(post.draggable, "sh-chip sh-chip-movable", "sh-chip"),
        title=rx.cond(post.draggable, "Drag to another day or time to move it", ""),
    )


def month_grid(days, *, on_open: Callable, on_day: Callable, on_drop) -> rx.Component:
    """Six (or five) weeks, Monday first; each day a drop zone (a drop keeps the time of day)."""
    def cell(day) -> rx.Component:
        return drop_zone(
            rx.hstack(
                rx.el.button(
                    day.day_num, type="button", on_click=on_day(day.date), class_name="sh-day-num",
                    aria_label="Show " + day.long_label,
                ),
                spacing="1", justify="between", width="100%",
            ),
            rx.vstack(rx.foreach(day.posts, lambda p: post_chip(p, on_open, compact=True)), spacing="1", width="100%"),
            rx.cond(
                day.more > 0,
                rx.el.button("+", day.more.to_string(), " more", type="button", on_click=on_day(day.date),
                             class_name="sh-more"),
                rx.fragment(),
            ),
            zone=day.zone, on_drop=on_drop,
            class_name=rx.cond(day.today, "sh-month-cell sh-today",
                               rx.cond(day.in_month, "sh-month-cell", "sh-month-cell sh-other-month")),
            aria_label=day.long_label,
            role="group",
        )

    return rx.box(
        rx.box(*[rx.text(d, size="1", weight="medium", class_name="sh-month-head") for d in WEEKDAY_SHORT],
               class_name="sh-month-grid", aria_hidden="true"),
        rx.box(rx.foreach(days, cell), class_name="sh-month-grid"),
        class_name="sh-desktop-block", id="cal-month",
    )


def time_grid(head_days, rows, *, columns: str, on_open: Callable, on_day: Callable, on_drop) -> rx.Component:
    """Rows of time (hours for a week, 15 minutes for a day), one column per day."""
    def slot(cell) -> rx.Component:
        return drop_zone(
            rx.foreach(cell.posts, lambda p: post_chip(p, on_open)),
            zone=cell.zone, on_drop=on_drop, aria_label=cell.label, role="group",
            class_name=rx.cond(cell.now, "sh-slot sh-slot-now", rx.cond(cell.past, "sh-slot sh-slot-past", "sh-slot")),
        )

    def row(r) -> rx.Component:
        return rx.box(
            rx.text(r.label, size="1", class_name="sh-slot-label", aria_hidden="true"),
            rx.foreach(r.cells, slot),
            class_name=rx.cond(r.hour, "sh-grid-row sh-grid-hour", "sh-grid-row"),
            data_hour=r.label,
            style={"grid_template_columns": columns},
        )

    return rx.box(
        rx.box(
            rx.box(class_name="sh-slot-label"),
            rx.foreach(
                head_days,
                lambda d: rx.el.button(d.label, type="button", on_click=on_day(d.date),
                                       class_name=rx.cond(d.today, "sh-grid-head sh-today", "sh-grid-head"),
                                       aria_label="Show " + d.long_label),
            ),
            class_name="sh-grid-row sh-grid-header",
            style={"grid_template_columns": columns},
        ),
        rx.foreach(rows, row),
        class_name="sh-desktop-block sh-time-grid", id="cal-scroll",
    )


def agenda(days, *, on_open: Callable, empty_text: str) -> rx.Component:
    """The phone calendar: days one under the other, each with its posts."""
    return rx.box(
        rx.cond(
            days.length() > 0,
            rx.vstack(
                rx.foreach(
                    days,
                    lambda d: rx.box(
                        rx.heading(d.long_label, size="3", as_="h3",
                                   class_name=rx.cond(d.today, "sh-agenda-day sh-today", "sh-agenda-day")),
                        rx.cond(
                            d.posts.length() > 0,
                            rx.vstack(rx.foreach(d.posts, lambda p: post_chip(p, on_open)), spacing="2", width="100%"),
                            rx.text("Nothing scheduled.", size="2", color_scheme="gray"),
                        ),
                        width="100%",
                    ),
                ),
                spacing="4", width="100%",
            ),
            rx.text(empty_text, size="2", color_scheme="gray"),
        ),
        class_name="sh-mobile-block", id="cal-agenda",
    )
