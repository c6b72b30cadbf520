"""The composer: write a post once, give platforms their own versions, attach media, preview it
on every account, and schedule it, publish it now, or add it to the queue."""

from __future__ import annotations

import reflex as rx

from socialhub.ui.forms import card, form_error, section_title
from socialhub.ui.layout import template
from socialhub.schedule.state.compose import MAX_TEXT
from socialhub.schedule.state.compose import ComposeState as S

UPLOAD_ID = "compose-media"
DEBOUNCE_MS = 300


def _label(text, html_for: str, **props) -> rx.Component:
    return rx.el.label(text, html_for=html_for, class_name="sh-label", **props)


def counter_list(counters) -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.foreach(
                counters,
                lambda c: rx.badge(
                    c.label, ": ", c.text,
                    color_scheme=rx.cond(c.over, "red", "gray"), variant=rx.cond(c.over, "solid", "soft"),
                    class_name="sh-counter", data_over=rx.cond(c.over, "1", "0"),
                ),
            ),
            gap="6px", wrap="wrap", aria_live="polite", id="counters",
        ),
        rx.foreach(counters, lambda c: rx.cond(c.over, rx.text(c.message, size="2", color_scheme="red", role="alert"),
                                               rx.fragment())),
        spacing="1", width="100%",
    )


def header() -> rx.Component:
    return rx.flex(
        rx.hstack(
            rx.link(rx.hstack(rx.icon("arrow_left", size=16, aria_hidden="true"), rx.text("Calendar"), spacing="1",
                              align="center"), href="/schedule", underline="none"),
            rx.badge(S.status_text, color_scheme=S.status_tone, variant="soft", radius="full", id="compose-status"),
            rx.cond(S.when_label != "", rx.text(S.when_label, size="2", color_scheme="gray"), rx.fragment()),
            align="center", spacing="3", wrap="wrap",
        ),
        rx.hstack(
            rx.text(S.save_status, size="2", color_scheme=rx.cond(S.save_error != "", "red", "gray"), id="save-status",
                    aria_live="polite"),
            rx.cond(S.post_id > 0, rx.button("Duplicate", variant="soft", on_click=S.duplicate, id="compose-duplicate"),
                    rx.fragment()),
            align="center", spacing="3",
        ),
        justify="between", align="center", gap="8px", wrap="wrap", width="100%",
    )


def accounts_card() -> rx.Component:
    return card(
        section_title("Publish to"),
        rx.cond(
            S.accounts.length() > 0,
            rx.flex(
                rx.foreach(
                    S.accounts,
                    lambda a: rx.el.label(
                        rx.checkbox(checked=a.selected, on_change=lambda _: S.toggle_account(a.id),
                                    disabled=~S.can_edit, id="acct-" + a.id.to_string()),
                        rx.text(a.label, size="2"),
                        rx.cond(a.note != "", rx.badge(a.note, color_scheme="amber", variant="soft"), rx.fragment()),
                        html_for="acct-" + a.id.to_string(), class_name="sh-check",
                    ),
                ),
                gap="12px", wrap="wrap", id="compose-accounts",
            ),
            rx.text("No accounts yet: the post goes to your SocialHub timeline when you save it.", size="2",
                    color_scheme="gray"),
        ),
        rx.link("Connect more accounts", href="/settings/accounts", size="2"),
    )


def main_tab() -> rx.Component:
    return rx.vstack(
        _label("Post text", "compose-text"),
        rx.text_area(
            id="compose-text", default_value=S.text_value, key=S.form_key + "-text",
            on_change=S.edit_text.debounce(DEBOUNCE_MS), on_blur=S.commit_text, max_length=MAX_TEXT,
            read_only=~S.can_edit, placeholder="What do you want to say?", rows="7", width="100%",
            aria_describedby="counters",
        ),
        counter_list(S.counters),
        rx.cond(S.text_error != "", rx.callout(S.text_error, icon="triangle_alert", color_scheme="red", role="alert",
                                               width="100%", id="text-error"), rx.fragment()),
        _label("First comment (optional)", "compose-comment"),
        rx.text_area(
            id="compose-comment", default_value=S.first_comment_value, key=S.form_key + "-comment",
            on_change=S.edit_first_comment.debounce(DEBOUNCE_MS), on_blur=S.commit_first_comment, max_length=MAX_TEXT,
            read_only=~S.can_edit, rows="2", width="100%",
            placeholder="Posted as the first reply where the platform supports it",
        ),
        spacing="2", width="100%", padding_top="12px",
    )


def platform_tab(tab) -> rx.Component:
    return rx.tabs.content(
        rx.vstack(
            rx.text("Accounts: ", tab.accounts, size="1", color_scheme="gray"),
            rx.cond(
                tab.has_variant,
                rx.vstack(
                    _label("Text for " + tab.name, "variant-" + tab.platform),
                    rx.text_area(
                        id="variant-" + tab.platform, default_value=tab.text, key=tab.key,
                        on_change=lambda v: S.edit_variant(tab.platform, v).debounce(DEBOUNCE_MS),
                        on_blur=S.commit_variant, max_length=MAX_TEXT, read_only=~S.can_edit, rows="6", width="100%",
                    ),
                    counter_list([tab.counter]),
                    rx.foreach(
                        tab.parts,
                        lambda part: rx.vstack(
                            rx.hstack(
                                _label(part.label, "part-" + part.key),
                                rx.badge(part.counter, color_scheme=rx.cond(part.over, "red", "gray"), variant="soft"),
                                rx.spacer(),
                                rx.button("Remove", size="1", variant="ghost", color_scheme="red",
                                          on_click=S.remove_part(tab.platform, part.index), disabled=~S.can_edit,
                                          aria_label="Remove " + part.label),
                                width="100%", align="center",
                            ),
                            rx.text_area(
                                id="part-" + part.key, default_value=part.text, key=part.key,
                                on_change=lambda v: S.edit_part(tab.platform, part.index, v).debounce(DEBOUNCE_MS),
                                on_blur=S.commit_variant, max_length=MAX_TEXT, read_only=~S.can_edit, rows="3",
                                width="100%",
                            ),
                            spacing="1", width="100%", class_name="sh-thread-part",
                        ),
                    ),
                    rx.cond(
                        tab.supports_first_comment,
                        rx.vstack(
                            _label("First comment on " + tab.name + " (empty: the main one)", "vcomment-" + tab.platform),
                            rx.text_area(
                                id="vcomment-" + tab.platform, default_value=tab.first_comment, key=tab.key + "-c",
                                on_change=lambda v: S.edit_variant_comment(tab.platform, v).debounce(DEBOUNCE_MS),
                                on_blur=S.commit_variant, max_length=MAX_TEXT, read_only=~S.can_edit, rows="2",
                                width="100%",
                            ),
                            spacing="1", width="100%",
                        ),
                        rx.fragment(),
                    ),
                    rx.flex(
                        rx.cond(tab.supports_threads,
                                rx.button("Add a post to the thread", variant="soft", size="2",
                                          on_click=S.add_part(tab.platform), disabled=~S.can_edit),
                                rx.fragment()),
                        rx.button("Use the main text again", variant="ghost", size="2",
                                  on_click=S.use_main_text(tab.platform), disabled=~S.can_edit),
                        gap="8px", wrap="wrap",
                    ),
                    spacing="2", width="100%",
                ),
                rx.vstack(
                    rx.text("Uses the main text.", size="2"),
                    counter_list([tab.counter]),
                    rx.button("Write a separate version for " + tab.name, variant="soft",
                              on_click=S.customize(tab.platform), disabled=~S.can_edit),
                    spacing="2", width="100%",
                ),
            ),
            rx.cond(
                tab.supports_threads,
                rx.button(rx.icon("list_ordered", size=14, aria_hidden="true"),
                          "Split the main text into a numbered thread", variant="soft", size="2",
                          on_click=S.split_thread(tab.platform), disabled=~S.can_edit,
                          id="split-" + tab.platform),
                rx.fragment(),
            ),
            spacing="3", width="100%", padding_top="12px",
        ),
        value=tab.platform,
    )


def text_card() -> rx.Component:
    return card(
        rx.tabs.root(
            rx.tabs.list(
                rx.tabs.trigger("Main text", value="main"),
                rx.foreach(S.tabs, lambda t: rx.tabs.trigger(
                    t.name, rx.cond(t.has_variant, " ✎", ""), value=t.platform,
                    color=rx.cond(t.counter.over, "var(--red-11)", "inherit"))),
                aria_label="Versions per platform",
            ),
            rx.tabs.content(main_tab(), value="main"),
            rx.foreach(S.tabs, platform_tab),
            value=S.active_tab, on_change=S.set_tab, width="100%",
        ),
    )


def media_card() -> rx.Component:
    return card(
        section_title("Images and videos", "JPEG, PNG, GIF, WebP, MP4, MOV or WebM. Checked by their content."),
        rx.upload(
            rx.vstack(
                rx.button(rx.icon("image_plus", size=16, aria_hidden="true"), "Add images or videos", variant="soft",
                          type="button", disabled=~S.can_edit),
                rx.text("or drop files here", size="1", color_scheme="gray"),
                align="center", spacing="1",
            ),
            id=UPLOAD_ID, multiple=True, max_files=10, disabled=~S.can_edit,
            on_drop=S.upload(rx.upload_files(upload_id=UPLOAD_ID)),
            class_name="sh-dropzone", aria_label="Add images or videos", padding="16px",
            border="2px dashed var(--gray-a6)",
        ),
        rx.cond(
            S.upload_errors.length() > 0,
            rx.callout(rx.vstack(rx.foreach(S.upload_errors, lambda e: rx.text(e, size="2")), spacing="1"),
                       icon="triangle_alert", color_scheme="red", role="alert", width="100%", id="upload-errors"),
            rx.fragment(),
        ),
        rx.flex(
            rx.foreach(
                S.media,
                lambda m: rx.box(
                    rx.cond(
                        m.is_video,
                        rx.el.video(src=m.url, controls=True, muted=True, class_name="sh-thumb", aria_label=m.name),
                        rx.image(src=m.url, alt=m.alt, class_name="sh-thumb"),
                    ),
                    rx.text(m.name, size="1", weight="medium", class_name="sh-clamp-1"),
                    rx.text(m.info, size="1", color_scheme="gray"),
                    _label("Alt text", "alt-" + m.id.to_string()),
                    rx.text_area(id="alt-" + m.id.to_string(), default_value=m.alt, key="alt-" + m.id.to_string() + m.alt,
                                 on_blur=lambda v: S.set_alt(m.id, v), max_length=5000, rows="2", width="100%",
                                 read_only=~S.can_edit, placeholder="Describe it for people who cannot see it"),
                    rx.button("Remove", size="1", variant="ghost", color_scheme="red", on_click=S.remove_media(m.id),
                              disabled=~S.can_edit, aria_label="Remove " + m.name),
                    class_name="sh-media-item",
                ),
            ),
            gap="12px", wrap="wrap", id="compose-media-list",
        ),
    )


def tags_card() -> rx.Component:
    return card(
        section_title("Tags", "For finding posts later; not published."),
        rx.vstack(
            _label("Tags (separated by commas)", "compose-tags"),
            rx.input(id="compose-tags", default_value=S.tags_value, key=S.form_key + "-tags" + S.tags_value,
                     on_blur=S.save_tags, max_length=1000, read_only=~S.can_edit, placeholder="launch, weekly",
                     width="100%"),
            spacing="1", width="100%",
        ),
    )


def preview_card() -> rx.Component:
    return card(
        section_title("Preview", "What each account will publish, counted its way."),
        rx.cond(
            S.previews.length() > 0,
            rx.vstack(
                rx.foreach(
                    S.previews,
                    lambda p: rx.box(
                        rx.hstack(rx.text(p.account, weight="bold", size="2"),
                                  rx.cond(p.media > 0, rx.badge(p.media, " media", variant="soft"), rx.fragment()),
                                  spacing="2", align="center"),
                        rx.foreach(
                            p.parts,
                            lambda part: rx.box(
                                rx.hstack(rx.text(part.label, size="1", color_scheme="gray"), rx.spacer(),
                                          rx.text(part.counter, size="1", color=rx.cond(part.over, "var(--red-11)",
                                                                                         "var(--gray-11)")),
                                          width="100%"),
                                rx.text(part.text, size="2", class_name="sh-post-text"),
                                class_name="sh-preview-part",
                            ),
                        ),
                        rx.cond(p.first_comment != "", rx.text(rx.text.strong("First comment: "), p.first_comment,
                                                               size="1", class_name="sh-post-text"), rx.fragment()),
                        rx.foreach(p.problems, lambda problem: rx.text("⚠ ", problem, size="2", color_scheme="red")),
                        class_name="sh-preview", data_platform=p.platform,
                    ),
                ),
                spacing="3", width="100%", id="previews",
            ),
            rx.text("The preview appears once the draft is saved (as you type).", size="2", color_scheme="gray"),
        ),
    )


def when_card() -> rx.Component:
    return card(
        section_title("When", "In the time zone you choose; yours by default."),
        rx.cond(
            S.problems.length() > 0,
            rx.callout(
                rx.vstack(rx.text("Fix these before scheduling:", weight="bold", size="2"),
                          rx.foreach(S.problems, lambda p: rx.text(p, size="2")), spacing="1"),
                icon="triangle_alert", color_scheme="amber", width="100%", id="compose-problems",
            ),
            rx.fragment(),
        ),
        form_error(S.schedule_error),
        rx.form(
            rx.vstack(
                rx.flex(
                    rx.vstack(_label("Date", "compose-date"),
                              rx.input(id="compose-date", name="date", type="date", default_value=S.schedule_date,
                                       key=S.form_key + "-d" + S.schedule_date, required=True),
                              spacing="1"),
                    rx.vstack(_label("Time", "compose-time"),
                              rx.input(id="compose-time", name="time", type="time", default_value=S.schedule_time,
                                       key=S.form_key + "-t" + S.schedule_time, required=True),
                              spacing="1"),
                    rx.vstack(_label("Time zone", "compose-tz"),
                              rx.el.select(rx.foreach(S.timezones, lambda z: rx.el.option(z, value=z)),
                                           id="compose-tz", name="timezone", default_value=S.timezone,
                                           key=S.form_key + "-z" + S.timezone, class_name="sh-select"),
                              spacing="1"),
                    gap="8px", wrap="wrap", align="end",
                ),
                rx.flex(
                    rx.button(rx.cond(S.is_admin, "Schedule", "Submit for approval at this time"), type="submit",
                              id="compose-schedule", disabled=~S.can_edit),
                    rx.cond(S.is_admin, rx.button("Publish now", type="button", variant="soft", on_click=S.publish_now,
                                                  id="compose-publish-now", disabled=~S.can_edit), rx.fragment()),
                    rx.button("Add to queue", type="button", variant="soft", on_click=S.add_to_queue,
                              id="compose-queue", disabled=~S.can_edit),
                    rx.cond(~S.is_admin & S.can_write,
                            rx.button("Submit for approval", type="button", variant="soft", on_click=S.submit_for_approval,
                                      disabled=~S.can_edit),
                            rx.fragment()),
                    gap="8px", wrap="wrap",
                ),
                spacing="3", width="100%",
            ),
            on_submit=S.schedule, width="100%",
        ),
        rx.el.fieldset(
            rx.el.legend("Repeat", class_name="sh-label"),
            rx.flex(
                rx.el.label(rx.checkbox(checked=S.repeat_on, on_change=S.set_repeat_on, disabled=~S.can_edit,
                                        id="repeat-on"),
                            rx.text("Repeat this post", size="2"), html_for="repeat-on", class_name="sh-check"),
                rx.cond(
                    S.repeat_on,
                    rx.hstack(
                        _label("every", "repeat-every"),
                        rx.input(id="repeat-every", type="number", min="1", max="365", default_value=S.repeat_every,
                                 key=S.form_key + "-e" + S.repeat_every, on_blur=S.set_repeat_every, width="80px",
                                 read_only=~S.can_edit),
                        rx.el.label("Repeat unit", html_for="repeat-unit", class_name="sh-visually-hidden"),
                        rx.el.select(rx.el.option("days", value="day"), rx.el.option("weeks", value="week"),
                                     id="repeat-unit", value=S.repeat_unit, on_change=S.set_repeat_unit,
                                     class_name="sh-select", disabled=~S.can_edit),
                        spacing="2", align="center",
                    ),
                    rx.fragment(),
                ),
                gap="12px", wrap="wrap", align="center",
            ),
            rx.text("Each repeat is created from the scheduled time; missed ones are skipped, never sent in a burst.",
                    size="1", color_scheme="gray"),
            class_name="sh-fieldset",
        ),
    )


@template(route="/schedule/compose", title="Compose", on_load=S.load)
def compose() -> rx.Component:
    return rx.cond(
        S.loaded,
        rx.vstack(
            header(),
            rx.cond(S.read_only_reason != "", rx.callout(S.read_only_reason, icon="lock", width="100%",
                                                         id="read-only"), rx.fragment()),
            rx.cond(S.save_error != "", rx.callout(S.save_error, icon="triangle_alert", color_scheme="red",
                                                   role="alert", width="100%", id="save-error"), rx.fragment()),
            rx.box(
                rx.vstack(accounts_card(), text_card(), media_card(), tags_card(), spacing="4", width="100%"),
                rx.vstack(when_card(), preview_card(), spacing="4", width="100%"),
                class_name="sh-compose-grid",
            ),
            spacing="4", width="100%",
        ),
        rx.center(rx.spinner(size="3"), padding="48px"),
    )
