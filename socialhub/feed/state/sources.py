"""The Sources page's state: follow, organise and fetch sources; OPML in and out; rules.

Fetching (adding a source, "Refresh") goes over the network, so those handlers run in the
background and call the service in a worker thread; everything else is a quick service call.
"""

from __future__ import annotations

import asyncio
import dataclasses

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.feed import rules, sources
from socialhub.feed.state import record_id
from socialhub.core.errors import ServiceError
from socialhub.ui.state import AppState, local_time

MAX_FIELD = 2100
NO_SOURCE = "This source no longer exists."
MAX_UPLOAD_READ = sources.MAX_OPML_UPLOAD + 1


@dataclasses.dataclass
class SourceRow:
    id: int = 0
    title: str = ""
    url: str = ""
    site_url: str = ""
    category: str = ""
    enabled: bool = True
    total: int = 0
    unread: int = 0
    error: str = ""
    failing: bool = False
    fetched: str = ""


@dataclasses.dataclass
class RuleRow:
    id: int = 0
    action: str = ""
    field: str = ""
    pattern: str = ""
    disabled: str = ""  # why it was turned off, or ""


@dataclasses.dataclass
class Suggestion:
    name: str = ""
    url: str = ""
    category: str = ""


def _f(form: dict, key: str, limit: int = MAX_FIELD) -> str:
    return str(form.get(key, ""))[:limit]


class FeedSourcesState(AppState):
    sources: list[SourceRow] = []
    suggestions: list[Suggestion] = []
    rules: list[RuleRow] = []
    loaded: bool = False
    add_error: str = ""
    adding: bool = False
    refreshing: bool = False
    import_message: str = ""
    import_error: str = ""
    edit_error: str = ""
    rule_error: str = ""
    preview_text: str = ""
    preview_samples: list[str] = []
    pending_rule: dict[str, str] = {}

    # ---- loading ------------------------------------------------------------------------------

    def _load(self, user_id: int) -> None:
        with session_scope() as session:
            views = sources.list_sources(session, user_id=user_id)
            suggested = sources.suggestions(session, user_id=user_id)
            saved_rules = rules.list_rules(session, user_id=user_id)
        self.sources = [SourceRow(
            id=v.id, title=v.title, url=v.url, site_url=v.site_url, category=v.category, enabled=v.enabled,
            total=v.total, unread=v.unread, error=v.last_error, failing=v.error_count > 0,
            fetched=local_time(v.last_fetched_at, self._timezone, "%d %b %H:%M") if v.last_fetched_at else "not yet",
        ) for v in views]
        self.suggestions = [Suggestion(name=s.name, url=s.feed_url, category=s.category) for s in suggested]
        self.rules = [RuleRow(id=r.id, action=rules.ACTION_LABELS[r.action],
                              field=rules.FIELD_LABELS[r.field], pattern=r.pattern,
                              disabled=(f"Turned off: {r.disabled_reason or 'it failed'}" if r.disabled_at else ""))
                      for r in saved_rules]
        self.loaded = True

    @rx.event
    def load(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load(user.id)

    def _no_source(self):
        self.edit_error = NO_SOURCE
        return rx.toast.error(NO_SOURCE)

    def _act(self, action, success, error_attr: str = "edit_error"):
        message = (lambda result: rx.toast.success(success(result))) if callable(success) else success
        return super()._act(action, message, error_field=error_attr, reload=self._load)

    # ---- adding ---------------------------------------------------------------------------------

    def _add(self, user_id: int, url: str, category: str) -> str:
        return sources.add_source(user_id=user_id, url=url, category=category).title

    @rx.event(background=True)
    async def add_source(self, form: dict):
        async with self:
            user = self._signed_in_user()
            if user is not None:
                self.adding, self.add_error = True, ""
        if user is None:
            yield self._to_signin()
            return
        url, category = _f(form, "url"), _f(form, "category", 200)
        try:
            title = await asyncio.to_thread(self._add, user.id, url, category)
        except ServiceError as exc:
            async with self:
                self.adding, self.add_error = False, str(exc)
            return
        async with self:
            self.adding = False
            self._load(user.id)
        yield [rx.toast.success(f"Following {title}."),
               rx.call_script("var f=document.getElementById('add-source-form'); if (f) f.reset();")]

    @rx.event
    def add_suggested(self, feed_url: str):
        return self._act(lambda s, uid: sources.add_suggested(s, user_id=uid, feed_urls=[str(feed_url)[:MAX_FIELD]]),
                         "Added. It will be fetched within a minute.", "add_error")

    @rx.event
    def add_all_suggested(self):
        urls = [s.url for s in self.suggestions]
        return self._act(lambda s, uid: sources.add_suggested(s, user_id=uid, feed_urls=urls),
                         lambda n: f"Added {n} sources. They will be fetched within a minute.", "add_error")

    # ---- editing --------------------------------------------------------------------------------

    @rx.event
    def set_enabled(self, source_id: int, enabled: bool):
        source_id = record_id(source_id)
        if source_id is None:
            return self._no_source()
        return self._act(lambda s, uid: sources.update_source(s, user_id=uid, source_id=source_id,
                                                              enabled=bool(enabled)),
                         "Source turned on." if enabled else "Source turned off.")

    @rx.event
    def save_source(self, form: dict):
        source_id = record_id(_f(form, "source_id", 20))
        if source_id is None:
            return self._no_source()
        return self._act(lambda s, uid: sources.update_source(s, user_id=uid, source_id=source_id,
                                                              title=_f(form, "title", 400),
                                                              category=_f(form, "category", 200)),
                         "Source saved.")

    @rx.event
    def delete_source(self, source_id: int):
        source_id = record_id(source_id)
        if source_id is None:
            return self._no_source()
        return self._act(lambda s, uid: sources.delete_source(s, user_id=uid, source_id=source_id),
                         "Source removed.")

    @rx.event(background=True)
    async def refresh(self, source_id: int = 0):
        """Fetch one source (or all of them, with 0) now."""
        async with self:
            user = self._signed_in_user()
            if user is not None:
                self.refreshing = True
        if user is None:
            yield self._to_signin()
            return
        one = record_id(source_id)
        if source_id not in (0, "0", "", None) and one is None:
            async with self:
                self.refreshing = False
            yield rx.toast.error(NO_SOURCE)
            return
        ids = [one] if one else None
        try:
            report = await asyncio.to_thread(sources.refresh_now, user_id=user.id, source_ids=ids)
        except ServiceError as exc:
            async with self:
                self.refreshing = False
            yield rx.toast.error(str(exc))
            return
        async with self:
            self.refreshing = False
            self._load(user.id)
        if report.sources == 0:
            yield rx.toast.info("Already being fetched; try again in a minute.")
        elif report.failed:
            yield rx.toast.error(f"Fetched {report.sources - report.failed} of {report.sources}; "
                                 f"{report.failed} failed (see the error on the source).")
        else:
            yield rx.toast.success(f"Fetched. {report.entries_new} new stor{'ies' if report.entries_new != 1 else 'y'}.")

    # ---- OPML ---------------------------------------------------------------------------------

    @rx.event
    async def import_opml(self, files: list[rx.UploadFile]):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self.import_message = ""
        if not files:
            self.import_error = "Choose an OPML file first."
            return
        upload = files[0]
        data = await upload.read(MAX_UPLOAD_READ) if hasattr(upload, "read") else b""
        try:
            with session_scope() as session:
                report = sources.import_opml(session, user_id=user.id, data=data)
        except ServiceError as exc:
            self.import_error = str(exc)
            return
        self.import_error, self.import_message = "", report.sentence()
        self._load(user.id)
        return rx.clear_selected_files("opml-upload")

    @rx.event
    def export_opml(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        with session_scope() as session:
            data = sources.export_opml(session, user_id=user.id)
        return rx.download(data=data, filename="socialhub-subscriptions.opml", mime_type="text/x-opml")

    # ---- rules ---------------------------------------------------------------------------------

    @rx.event
    def preview_rule(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        rule = {"action": _f(form, "action", 10), "field": _f(form, "field", 10),
                "pattern": _f(form, "pattern", rules.MAX_PATTERN + 1)}
        try:
            with session_scope() as session:
                preview = rules.preview_rule(session, user_id=user.id, **rule)
        except ServiceError as exc:
            self.rule_error, self.preview_text, self.preview_samples, self.pending_rule = str(exc), "", [], {}
            return
        self.rule_error = ""
        self.pending_rule = rule
        self.preview_text = preview.sentence(rule["action"])
        self.preview_samples = preview.samples

    @rx.event
    def save_rule(self):
        rule = dict(self.pending_rule)
        if not rule:
            self.rule_error = "Preview the rule first."
            return
        result = self._act(lambda s, uid: rules.create_rule(s, user_id=uid, **rule), "Rule saved.",
                           "rule_error")
        if not self.rule_error:
            self.pending_rule, self.preview_text, self.preview_samples = {}, "", []
        return result

    @rx.event
    def cancel_rule(self):
        self.pending_rule, self.preview_text, self.preview_samples, self.rule_error = {}, "", [], ""

    @rx.event
    def delete_rule(self, rule_id: int):
        rule_id = record_id(rule_id)
        if rule_id is None:
            self.rule_error = "This rule no longer exists."
            return rx.toast.error(self.rule_error)
        return self._act(lambda s, uid: rules.delete_rule(s, user_id=uid, rule_id=rule_id),
                         "Rule deleted.", "rule_error")
