"""Labelled inputs and form messages, so every input has a visible label and an id."""

from __future__ import annotations

import reflex as rx


def field(label: str, name: str, *, type: str = "text", placeholder: str = "", default_value=None,
          autocomplete: str = "off", required: bool = False, max_length: int = 1000, hint: str = "") -> rx.Component:
    input_id = f"f-{name}"
    props = {"default_value": default_value} if default_value is not None else {}
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="sh-label"),
        rx.input(id=input_id, name=name, type=type, placeholder=placeholder, auto_complete=autocomplete,
                 required=required, max_length=max_length, width="100%", size="3", **props),
        rx.cond(hint != "", rx.text(hint, size="1", color_scheme="gray"), rx.fragment()),
        spacing="1", width="100%", align="stretch",
    )


def select_field(label: str, name: str, options, *, default_value=None, size: str = "3") -> rx.Component:
    input_id = f"f-{name}"
    return rx.vstack(
        rx.el.label(label, html_for=input_id, class_name="sh-label"),
        rx.el.select(
            rx.foreach(options, lambda o: rx.el.option(o, value=o)),
            id=input_id, name=name, default_value=default_value, class_name="sh-select",
        ),
        spacing="1", width="100%", align="stretch",
    )


def form_error(message) -> rx.Component:
    return rx.cond(
        message != "",
        rx.callout(message, icon="triangle_alert", color_scheme="red", role="alert", width="100%"),
        rx.fragment(),
    )


def card(*children, **props) -> rx.Component:
    return rx.card(rx.vstack(*children, spacing="4", width="100%", align="stretch"), width="100%", size="3", **props)


def section_title(title: str, subtitle: str = "") -> rx.Component:
    return rx.vstack(
        rx.heading(title, size="4", as_="h2"),
        rx.text(subtitle, size="2", color_scheme="gray") if subtitle else rx.fragment(),
        spacing="1",
    )
