"""The Chat page (/chat): conversations with unread counts, the open conversation (messages
decrypted in the browser by assets/chat-crypto.js), composer, typing, ticks, read-by, new
direct chats and groups, privacy settings. Styles in assets/chat.css.

Message text is never a Reflex var: each message is an empty <span data-sh-ct …> the module
fills with `textContent`. The composer is an uncontrolled textarea with no on_change, so what
is typed stays in the browser until the module encrypts it.
"""

from __future__ import annotations

import reflex as rx

from socialhub.chat.state.chat import ChatState as S
from socialhub.ui.forms import form_error
from socialhub.ui.layout import template


def conversation_item(c) -> rx.Component:
    return rx.el.li(
        rx.el.button(
            rx.hstack(
                rx.cond(c["pinned"] == "1", rx.icon("pin", size=14, aria_label="Pinned"), rx.fragment()),
                rx.text(c["title"], weight="medium", class_name="sh-chat-title"),
                rx.spacer(),
                rx.cond(c["unread"] != "", rx.badge(c["unread"], color_scheme="red", variant="solid", radius="full",
                                                    aria_label=c["unread"] + " unread"), rx.fragment()),
                align="center", width="100%",
            ),
            rx.text(c["when"], size="1", color_scheme="gray"),
            type="button", on_click=S.open_conversation(c["id"]), aria_label="Open conversation with " + c["title"],
            aria_current=rx.cond(c["active"] == "1", "true", None), class_name="sh-chat-item",
        ),
    )


def new_chat() -> rx.Component:
    person = lambda p: rx.el.li(  # noqa: E731
        rx.hstack(
            rx.text(p["name"], " · ", p["email"], size="2"),
            rx.spacer(),
            rx.button("Message", size="1", on_click=S.start_direct(p["id"]), aria_label="Message " + p["name"]),
            rx.button("Add to group", size="1", variant="soft", on_click=S.toggle_pick(p["id"]),
                      aria_label="Add " + p["name"] + " to the new group"),
            align="center", width="100%",
        ),
    )
    return rx.el.details(
        rx.el.summary("New chat or group"),
        rx.el.form(
            rx.el.label("Find people by name or e-mail", html_for="chat-people", class_name="sh-label"),
            rx.hstack(rx.input(id="chat-people", name="query", max_length=100, placeholder="Name or e-mail"),
                      rx.button("Search", type="submit")),
            on_submit=S.search_people, role="search", aria_label="Find people",
        ),
        rx.el.ul(rx.foreach(S.people, person), class_name="sh-chat-people"),
        rx.cond(S.picks.length() > 0, rx.el.form(
            rx.text("New group with: ", rx.foreach(S.picks, lambda p: rx.badge(p["name"], margin_right="4px")), size="2"),
            rx.el.label("Group name", html_for="chat-group-title", class_name="sh-label"),
            rx.hstack(rx.input(id="chat-group-title", name="title", max_length=100, required=True),
                      rx.button("Create group", type="submit")),
            on_submit=S.create_group, aria_label="Create a group",
        ), rx.fragment()),
        class_name="sh-chat-new",
    )


def privacy() -> rx.Component:
    return rx.el.details(
        rx.el.summary("Privacy"),
        rx.vstack(
            rx.el.label(rx.checkbox(checked=S.read_receipts, on_change=lambda v: S.set_privacy("read_receipts", v)),
                        " Send read receipts (off: you see no one's either)", class_name="sh-chat-check"),
            rx.el.label(rx.checkbox(checked=S.show_last_seen, on_change=lambda v: S.set_privacy("show_last_seen", v)),
                        " Show when I was last seen", class_name="sh-chat-check"),
            spacing="2",
        ),
        class_name="sh-chat-new",
    )


def message(row) -> rx.Component:
    return rx.el.li(
        rx.cond(row["mine"] == "1", rx.fragment(), rx.text(row["sender"], size="1", weight="medium")),
        rx.cond(row["deleted"] == "1",
                rx.text("This message was deleted.", size="2", color_scheme="gray", font_style="italic"),
                rx.el.span(data_sh_ct=row["ct"], data_sh_iv=row["iv"], data_sh_conv=row["conv"],
                           data_sh_epoch=row["epoch"], class_name="sh-chat-text")),
        rx.hstack(
            rx.text(row["when"], size="1", color_scheme="gray"),
            rx.cond(row["edited"] == "1", rx.text("edited", size="1", color_scheme="gray"), rx.fragment()),
            rx.cond(row["tick"] != "", rx.el.span(rx.cond(row["tick"] == "sent", "✓", "✓✓"),
                                                  class_name="sh-chat-tick sh-tick-" + row["tick"],
                                                  aria_label=row["tick_label"], title=row["tick_label"]), rx.fragment()),
            rx.cond(row["reactions"] != "", rx.text(row["reactions"], size="1"), rx.fragment()),
            spacing="2", align="center",
        ),
        rx.cond(row["deleted"] == "1", rx.fragment(), rx.hstack(
            rx.foreach(S.reactions, lambda e: rx.el.button(e, type="button", class_name="sh-chat-react",
                                                           on_click=S.react(row["id"], e), aria_label="React " + e)),
            rx.el.button("Delete for me", type="button", class_name="sh-chat-act", on_click=S.delete(row["id"], False)),
            rx.cond(row["mine"] == "1", rx.el.button("Delete for everyone", type="button", class_name="sh-chat-act",
                                                     on_click=S.delete(row["id"], True)), rx.fragment()),
            spacing="1", class_name="sh-chat-actions",
        )),
        class_name=rx.cond(row["mine"] == "1", "sh-chat-msg sh-mine", "sh-chat-msg"),
    )


def conversation_view() -> rx.Component:
    return rx.el.section(
        rx.hstack(
            rx.heading(S.open_title, size="4", as_="h2"),
            rx.text(S.members.length().to_string() + " members", size="1", color_scheme="gray"),
            rx.spacer(),
            rx.cond(S.open_kind == "group", rx.button("Leave group", size="1", variant="soft", color_scheme="red",
                                                      on_click=S.leave_group), rx.fragment()),
            align="center", width="100%",
        ),
        rx.el.div(id="chat-keys", data_sh_keys=S.key_blob, data_sh_conv=S.open_id.to_string(), hidden=True),
        rx.el.ol(rx.foreach(S.rows, message), class_name="sh-chat-messages", aria_label="Messages", aria_live="polite"),
        rx.cond(S.read_by != "", rx.text(S.read_by, size="1", color_scheme="gray"), rx.fragment()),
        rx.cond(S.typing_line != "", rx.text(S.typing_line, size="1", class_name="sh-chat-typing", key=S.typing_key),
                rx.fragment()),
        rx.hstack(
            rx.el.label("Message", html_for="chat-composer", class_name="sh-visually-hidden"),
            rx.el.textarea(id="chat-composer", rows=2, max_length=16000, placeholder="Write a message (end-to-end encrypted)",
                           class_name="sh-chat-composer", on_key_down=lambda _key: S.typing().throttle(3000)),
            rx.button("Send", id="chat-send", on_click=S.send),
            width="100%", align="end",
        ),
        class_name="sh-chat-view", aria_label="Conversation",
    )


@template(route="/chat", title="Chat", on_load=S.load)
def chat() -> rx.Component:
    return rx.box(
        rx.script(src="/chat-crypto.js"),
        rx.el.aside(
            new_chat(),
            rx.cond(S.conversations.length() > 0,
                    rx.el.ul(rx.foreach(S.conversations, conversation_item), class_name="sh-chat-list",
                             aria_label="Conversations"),
                    rx.text("No conversations yet. Find someone above to start one.", size="2", color_scheme="gray")),
            privacy(),
            class_name="sh-chat-side", aria_label="Conversations",
        ),
        rx.cond(S.open_id > 0, conversation_view(),
                rx.text("Pick a conversation, or start one. Messages are encrypted in your browser; "
                        "the server stores only ciphertext.", size="2", color_scheme="gray", class_name="sh-chat-view")),
        form_error(S.error),
        class_name="sh-chat",
    )
