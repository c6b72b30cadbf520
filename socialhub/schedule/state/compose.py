"""The composer's state: one post, its accounts, its per-platform versions, media, tags, the
live counters and previews, autosave, and scheduling.

How autosave works: the text inputs are uncontrolled (the browser owns what is typed); each
input sends its value after a short pause (`debounce`) and on blur. A change updates the
counters at once (no database) and marks the field dirty; `autosave_after` (a background
task) writes what is dirty when nothing changed for `AUTOSAVE_SECONDS`, so typing a paragraph
is one save, not one per word. Blur, uploads and every button save first. A save that fails
(someone else changed the post, the text is too long) keeps what was typed and says why.

A new post is created on its first save, so opening the composer and leaving makes nothing.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from zoneinfo import ZoneInfo

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.identity import teams, users as user_accounts
from socialhub.schedule import approvals, content, posts, times, timing
from socialhub.media import uploads
from socialhub.core.errors import NotFound, ServiceError
from socialhub.schedule.views import composer_accounts, ComposerAccount, platform_counter
from socialhub.ui.state import AppState
from socialhub.schedule.state.rows import (
    AccountChoice,
    counter_row,
    CounterRow,
    MediaRow,
    PartRow,
    PlatformTab,
    PreviewPart,
    PreviewRow,
    size_label,
    status_color,
    status_label,
)

AUTOSAVE_SECONDS = 1.2
MAX_TEXT = content.MAX_TEXT_CHARS
MAX_UPLOAD_FILES = 10
MAX_UPLOAD_BYTES = uploads.MAX_VIDEO_BYTES
MAX_PREVIEW_TEXT = 3000
TOO_LONG = (f"This text reached {MAX_TEXT:,} characters, the most SocialHub keeps for one post, so the rest was "
            "cut off. It was not saved: your last saved text is kept.")


def _f(form: dict, key: str, limit: int = 200) -> str:
    return str(form.get(key, ""))[:limit]


def _id(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise NotFound("That item no longer exists.") from None


class ComposeState(AppState):
    post_id: int = 0
    status: str = "draft"
    status_text: str = "new draft"
    status_tone: str = "gray"
    can_edit: bool = True
    can_write: bool = False
    is_admin: bool = False
    read_only_reason: str = ""
    loaded: bool = False

    form_key: str = "new"
    text_value: str = ""
    first_comment_value: str = ""
    tags_value: str = ""
    text_error: str = ""

    accounts: list[AccountChoice] = []
    counters: list[CounterRow] = []
    tabs: list[PlatformTab] = []
    active_tab: str = "main"
    media: list[MediaRow] = []
    upload_errors: list[str] = []
    previews: list[PreviewRow] = []
    problems: list[str] = []

    save_status: str = ""
    save_error: str = ""

    timezone: str = "UTC"
    timezones: list[str] = []
    schedule_date: str = ""
    schedule_time: str = ""
    when_label: str = ""
    repeat_on: bool = False
    repeat_every: str = "1"
    repeat_unit: str = "week"
    schedule_error: str = ""

    _version: int = 0
    _text: str = ""
    _first_comment: str = ""
    _variants: dict[str, dict] = {}
    _selected: list[int] = []
    _accounts: list = []
    _dirty: list[str] = []
    _seq: int = 0
    _rev: int = 0

    # ---- loading --------------------------------------------------------------------------------

    @rx.event
    def load(self):
        """on_load: `?post=ID` opens that post; without it, a new draft (created on first save)."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        raw = str(self.router.url.query_parameters.get("post", ""))
        self._reset(user.timezone)
        try:
            with session_scope() as session:
                role = teams.get_role(session, team_id=self._team_id, user_id=user.id) or "viewer"
                self.can_write = teams.role_at_least(role, "editor")
                self.is_admin = teams.role_at_least(role, "admin")
                self._accounts = composer_accounts(session, team_id=self._team_id, user_id=user.id)
                if raw:
                    self._load_post(session, user.id, _id(raw))
                else:
                    hub = [a.id for a in self._accounts if a.platform == "hub" and a.status == "ok"]
                    self._selected = hub[:1]
                    if not self.can_write:
                        self.can_edit = False
                        self.read_only_reason = "Viewers can read posts but not write them."
        except ServiceError as exc:
            self.can_edit = False
            self.read_only_reason = str(exc)
        if not self.timezones:
            self.timezones = user_accounts.timezones()
        self._rebuild()
        self.loaded = True

    def _reset(self, timezone: str) -> None:
        self.post_id, self._version, self.status = 0, 0, "draft"
        self.status_text, self.status_tone = "new draft", "gray"
        self.can_edit, self.read_only_reason = True, ""
        self._text = self._first_comment = ""
        self._variants, self._dirty, self._selected = {}, [], []
        self._rev += 1
        self.form_key = f"new-{self._rev}"
        self.text_value = self.first_comment_value = self.tags_value = ""
        self.text_error = self.save_error = self.save_status = self.schedule_error = ""
        self.media, self.upload_errors, self.previews, self.problems = [], [], [], []
        self.active_tab = "main"
        self.timezone = timezone or "UTC"
        start = (utcnow() + timedelta(hours=1)).astimezone(ZoneInfo(self.timezone))
        self.schedule_date, self.schedule_time = start.date().isoformat(), start.strftime("%H:00")
        self.when_label = ""
        self.repeat_on, self.repeat_every, self.repeat_unit = False, "1", "week"

    def _load_post(self, session, user_id: int, post_id: int, *, remount: bool = True) -> None:
        """Read the post (checked by team and role) and everything the composer shows of it."""
        detail = posts.get_post(session, team_id=self._team_id, user_id=user_id, post_id=post_id)
        previews = content.preview_post(session, team_id=self._team_id, user_id=user_id, post_id=post_id)
        s = detail.summary
        self.post_id, self._version, self.status = s.id, s.version, s.status
        self.status_text, self.status_tone = status_label(s.status), status_color(s.status)
        self.can_edit = detail.can_edit
        self.read_only_reason = "" if detail.can_edit else (
            "Viewers can read posts but not change them." if detail.role == "viewer" else
            f"This post is {status_label(s.status)}; " + (
                "only an admin or owner can change it now." if detail.role == "editor" and s.status in posts.ADMIN_EDITABLE
                else "it can no longer be changed. Duplicate it to write a new one."))
        self._selected = [t.account_id for t in s.targets if t.status != "cancelled"]
        known = {a.id for a in self._accounts}
        for t in s.targets:  # an account of the post that is no longer connected still shows
            if t.account_id not in known:
                self._accounts = [*self._accounts, ComposerAccount(
                    t.account_id, t.platform, t.platform_name, t.handle, t.handle, "disconnected", "", 0, 0, False, False)]
        self._variants = {
            v.platform: {"id": v.id, "text": v.text, "parts": list(v.thread_parts), "first_comment": v.first_comment}
            for v in detail.variants if v.scope.startswith("platform:")
        }
        self.media = [MediaRow(id=m.id, url=m.url, is_video=m.kind == "video", name=m.filename or f"{m.kind} #{m.id}",
                               info=" · ".join(x for x in (f"{m.width}×{m.height}" if m.width else "",
                                                            f"{m.duration_seconds:.0f} s" if m.duration_seconds else "",
                                                            size_label(m.size_bytes)) if x),
                               alt=m.alt_text) for m in detail.media]
        self._set_previews(previews)
        if s.scheduled_at:
            at = s.scheduled_at.astimezone(ZoneInfo(s.timezone))
            self.schedule_date, self.schedule_time = at.date().isoformat(), at.strftime("%H:%M")
            self.when_label = at.strftime("%a %d %b %Y, %H:%M") + f" ({s.timezone})"
        self.timezone = s.timezone
        self.repeat_on = bool(detail.recurrence_every)
        self.repeat_every = str(detail.recurrence_every or 1)
        self.repeat_unit = detail.recurrence_unit or "week"
        if remount:
            self._text, self._first_comment = detail.text, detail.first_comment
            self.text_value, self.first_comment_value = detail.text, detail.first_comment
            self.tags_value = ", ".join(s.tags)
            self._rev += 1
            self.form_key = f"post-{s.id}-{self._rev}"

    def _set_previews(self, previews) -> None:
        rows, problems = [], []
        for p in previews:
            label = f"{p.platform_name} {p.handle}".strip()
            n = len(p.parts)
            rows.append(PreviewRow(
                account=label, platform=p.platform,
                parts=[PreviewPart(label=f"{i} of {n}" if n > 1 else "", text=part.text[:MAX_PREVIEW_TEXT] + (
                    "…" if len(part.text) > MAX_PREVIEW_TEXT else ""), counter=f"{part.count:,} / {part.limit:,}",
                    over=part.over) for i, part in enumerate(p.parts, start=1)],
                first_comment=p.first_comment[:MAX_PREVIEW_TEXT], media=len(p.media_ids), problems=list(p.problems),
            ))
            problems += [f"{label}: {problem}" for problem in p.problems]
        self.previews, self.problems = rows, problems

    def _chosen(self) -> list[ComposerAccount]:
        chosen = set(self._selected)
        return [a for a in self._accounts if a.id in chosen]

    def _rebuild(self) -> None:
        """Counters, account choices and platform tabs from what is in memory (no database)."""
        chosen = self._chosen()
        self.accounts = [
            AccountChoice(id=a.id, label=a.label, platform=a.platform, selected=a.id in self._selected,
                          usable=a.status == "ok",
                          note={"ok": "", "needs_reconnect": "needs reconnecting", "disconnected": "disconnected"}.get(a.status, a.status))
            for a in self._accounts
        ]
        try:
            counts = content.composer_counters(chosen, self._text)
        except ServiceError:
            counts = []
        by_id = {a.id: a for a in chosen}
        self.counters = [
            counter_row(by_id[c.account_id].label, c.count, c.limit, name=by_id[c.account_id].platform_name,
                     threads=by_id[c.account_id].supports_threads)
            for c in counts
        ]
        tabs, seen = [], set()
        for a in chosen:
            if a.platform in seen:
                continue
            seen.add(a.platform)
            same = [x for x in chosen if x.platform == a.platform]
            variant = self._variants.get(a.platform)
            text = variant["text"] if variant else self._text
            key = f"{self.form_key}-{a.platform}-{self._rev}"
            try:
                c = platform_counter(same, a.platform, text)
                counter = counter_row(a.platform_name, c.count, c.limit, name=a.platform_name, threads=a.supports_threads)
                parts = []
                for i, part in enumerate(variant["parts"] if variant else [], start=2):
                    pc = platform_counter(same, a.platform, part)
                    n = len(variant["parts"]) + 1
                    parts.append(PartRow(index=i - 2, key=f"{key}-{i}", text=part, label=f"Post {i} of {n}",
                                         counter=f"{pc.count:,} / {pc.limit:,}", over=pc.count > pc.limit))
            except ServiceError:
                counter, parts = CounterRow(label=a.platform_name), []
            tabs.append(PlatformTab(
                platform=a.platform, name=a.platform_name, key=key, accounts=", ".join(x.handle for x in same),
                has_variant=variant is not None, text=text, counter=counter, parts=parts,
                first_comment=(variant or {}).get("first_comment") or "",
                supports_threads=a.supports_threads, supports_first_comment=a.supports_first_comment,
            ))
        self.tabs = tabs
        if self.active_tab != "main" and self.active_tab not in seen:
            self.active_tab = "main"

    # ---- saving ---------------------------------------------------------------------------------

    def _mark(self, what: str):
        if what not in self._dirty:
            self._dirty = [*self._dirty, what]
        self._seq += 1
        self.save_status = "Unsaved changes"
        return ComposeState.autosave_after(self._seq)

    def _save(self, user_id: int) -> bool:
        """Write what is dirty (creating the post on its first save). False when it failed."""
        dirty = list(self._dirty)
        if not dirty and self.post_id:
            return True
        if not self.can_edit:
            self.save_error = self.read_only_reason or "You cannot change this post."
            return False
        created = False
        try:
            with session_scope() as session:
                if not self.post_id:
                    post = posts.create_post(
                        session, team_id=self._team_id, author_id=user_id, text=self._text,
                        account_ids=list(self._selected) or None, first_comment=self._first_comment,
                        timezone=self.timezone)
                    self.post_id, created = post.id, True
                else:
                    fields = {}
                    if "text" in dirty:
                        fields["text"] = self._text
                    if "first_comment" in dirty:
                        fields["first_comment"] = self._first_comment
                    if fields:
                        posts.update_post(session, team_id=self._team_id, actor_id=user_id, post_id=self.post_id,
                                               expected_version=self._version, **fields)
                for item in dirty:
                    if item.startswith("variant:") and item[8:] in self._variants:
                        v = self._variants[item[8:]]
                        posts.set_variant(session, team_id=self._team_id, actor_id=user_id, post_id=self.post_id,
                                               platform=item[8:], text=v["text"], thread_parts=v["parts"],
                                               first_comment=v["first_comment"])
                self._load_post(session, user_id, self.post_id, remount=False)
        except ServiceError as exc:
            if created:
                self.post_id = 0
            self.save_error, self.save_status = str(exc), "Not saved"
            return False
        self._dirty = [d for d in self._dirty if d not in dirty]
        self.save_error = ""
        self.save_status = "Saved " + utcnow().astimezone(ZoneInfo(self._timezone)).strftime("%H:%M:%S")
        self._rebuild()
        return True

    def _save_or_signin(self):
        """Save pending changes for a button: an event to return when it could not."""
        user = self._signed_in_user()
        if user is None:
            return None, self._to_signin()
        if not self._save(user.id):
            return None, rx.toast.error(self.save_error or "Not saved.")
        return user, None

    def _url_script(self):
        return rx.call_script(f"window.history.replaceState(null, '', '/schedule/compose?post={int(self.post_id)}')")

    @rx.event(background=True)
    async def autosave_after(self, seq: int):
        """Save once nothing changed for a moment."""
        await asyncio.sleep(AUTOSAVE_SECONDS)
        async with self:
            if self._seq != seq or not self._dirty:
                return
            user = self._signed_in_user()
            if user is None:
                return
            was_new = not self.post_id
            new_post = self._save(user.id) and was_new and self.post_id
        if new_post:
            yield self._url_script()

    def _commit(self, user_id: int):
        was_new = not self.post_id
        if self._save(user_id) and was_new and self.post_id:
            return self._url_script()
        return None

    # ---- the text -----------------------------------------------------------------------------

    def _take_text(self, field: str, value) -> bool:
        value = str(value)
        if len(value) >= MAX_TEXT:
            self.text_error = TOO_LONG
            return False
        self.text_error = ""
        if field == "text":
            if value == self._text:
                return False
            self._text = value
        else:
            if value == self._first_comment:
                return False
            self._first_comment = value
        self._rebuild()
        return True

    @rx.event
    def edit_text(self, value: str):
        if self.can_edit and self._take_text("text", value):
            return self._mark("text")

    @rx.event
    def commit_text(self, value: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if self.can_edit and self._take_text("text", value):
            self._mark("text")
        if self._dirty:
            return self._commit(user.id)

    @rx.event
    def edit_first_comment(self, value: str):
        if self.can_edit and self._take_text("first_comment", value):
            return self._mark("first_comment")

    @rx.event
    def commit_first_comment(self, value: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if self.can_edit and self._take_text("first_comment", value):
            self._mark("first_comment")
        if self._dirty:
            return self._commit(user.id)

    @rx.event
    def save_tags(self, value: str):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        raw = str(value)[:2000].replace("#", " ").replace(",", " ").split()
        try:
            with session_scope() as session:
                posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id, tags=raw)
                self._load_post(session, user.id, self.post_id, remount=False)
                self.tags_value = ", ".join(posts.clean_tags(raw))
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        return self._url_script()

    # ---- accounts -------------------------------------------------------------------------------

    @rx.event
    def toggle_account(self, account_id: int):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if not self.can_edit:
            return
        account_id = int(account_id)
        if account_id not in {a.id for a in self._accounts}:
            return rx.toast.error("That account is not one of this team's.")
        chosen = [i for i in self._selected if i != account_id] if account_id in self._selected else [*self._selected, account_id]
        if not self.post_id:
            self._selected = chosen
            self._rebuild()
            return
        if not self._save(user.id):
            return rx.toast.error(self.save_error)
        try:
            with session_scope() as session:
                posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                       account_ids=chosen)
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rev += 1
        self._rebuild()

    # ---- per-platform versions -------------------------------------------------------------------

    @rx.event
    def set_tab(self, tab: str):
        self.active_tab = str(tab)[:20]

    @rx.event
    def customize(self, platform: str):
        """Give a platform its own version, starting from the main text."""
        if not self.can_edit or platform not in {a.platform for a in self._chosen()}:
            return
        self._variants = {**self._variants, platform: {"id": 0, "text": self._text, "parts": [], "first_comment": None}}
        self._rev += 1
        self._rebuild()
        return self._save_now_event(f"variant:{platform}")

    def _save_now_event(self, what: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._mark(what)
        return self._commit(user.id)

    @rx.event
    def use_main_text(self, platform: str):
        """Drop a platform's own version: it gets the main text again."""
        user, stop = self._save_or_signin()
        if stop:
            return stop
        variant = self._variants.get(str(platform))
        if variant is None:
            return
        try:
            with session_scope() as session:
                posts.remove_variant(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                          variant_id=int(variant["id"]))
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rev += 1
        self._rebuild()

    def _edit_variant(self, platform: str, change) -> rx.event.EventSpec | None:
        variant = self._variants.get(str(platform))
        if variant is None or not self.can_edit:
            return None
        updated = {**variant, "parts": list(variant["parts"])}
        change(updated)
        if any(len(x or "") >= MAX_TEXT for x in [updated["text"], updated["first_comment"], *updated["parts"]]):
            self.text_error = TOO_LONG
            return None
        self.text_error = ""
        if updated == variant:
            return None
        self._variants = {**self._variants, str(platform): updated}
        self._rebuild()
        return self._mark(f"variant:{platform}")

    @rx.event
    def edit_variant(self, platform: str, value: str):
        return self._edit_variant(platform, lambda v: v.update(text=str(value)))

    @rx.event
    def edit_part(self, platform: str, index: int, value: str):
        def change(v):
            if 0 <= int(index) < len(v["parts"]):
                v["parts"][int(index)] = str(value)
        return self._edit_variant(platform, change)

    @rx.event
    def edit_variant_comment(self, platform: str, value: str):
        return self._edit_variant(platform, lambda v: v.update(first_comment=str(value) or None))

    @rx.event
    def commit_variant(self):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        if self._dirty:
            return self._commit(user.id)

    @rx.event
    def add_part(self, platform: str):
        event = self._edit_variant(platform, lambda v: v["parts"].append(""))
        self._rev += 1
        self._rebuild()
        return event

    @rx.event
    def remove_part(self, platform: str, index: int):
        event = self._edit_variant(platform, lambda v: v["parts"].pop(int(index)) if 0 <= int(index) < len(v["parts"]) else None)
        self._rev += 1
        self._rebuild()
        return event

    @rx.event
    def split_thread(self, platform: str):
        """Split the main text into a numbered thread for this platform (saved as its version)."""
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                posts.apply_thread_split(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                              platform=str(platform))
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rev += 1
        self._rebuild()
        parts = len(self._variants.get(str(platform), {}).get("parts", [])) + 1
        return [rx.toast.success(f"Split into {parts} numbered posts."), self._url_script()]

    # ---- media ----------------------------------------------------------------------------------

    @rx.event
    async def upload(self, files: list[rx.UploadFile]):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        if not self.can_edit:
            return rx.toast.error(self.read_only_reason)
        errors, new_ids = [], []
        if len(files) > MAX_UPLOAD_FILES:
            errors.append(f"Attach at most {MAX_UPLOAD_FILES} files at a time; the first {MAX_UPLOAD_FILES} were taken.")
        for upload in files[:MAX_UPLOAD_FILES]:
            name = uploads.clean_filename(upload.name or "") or "file"
            data = await upload.read(MAX_UPLOAD_BYTES + 1)
            if len(data) > MAX_UPLOAD_BYTES:
                errors.append(f"{name}: larger than {MAX_UPLOAD_BYTES // uploads.MB} MB, the most SocialHub accepts.")
                continue
            try:
                with session_scope() as session:
                    media = uploads.upload_media(session, team_id=self._team_id, actor_id=user.id, data=data,
                                                          filename=name)
                    new_ids.append(media.id)
            except ServiceError as exc:
                errors.append(f"{name}: {exc}")
        self.upload_errors = errors
        if new_ids:
            try:
                with session_scope() as session:
                    posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                           media_ids=[m.id for m in self.media] + new_ids)
                    self._load_post(session, user.id, self.post_id, remount=False)
            except ServiceError as exc:
                self.upload_errors = [*errors, str(exc)]
            self._rebuild()
        events = [rx.clear_selected_files("compose-media"), self._url_script()]
        if errors:
            events.append(rx.toast.error("Some files were not attached; see why below the media."))
        return events

    @rx.event
    def set_alt(self, media_id: int, value: str):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        current = next((m for m in self.media if m.id == int(media_id)), None)
        if current is None or current.alt == str(value) or not self.can_edit:
            return
        try:
            with session_scope() as session:
                uploads.set_alt_text(session, team_id=self._team_id, actor_id=user.id, media_id=int(media_id),
                                              alt_text=str(value)[:uploads.MAX_ALT_TEXT + 1])
            with session_scope() as session:
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rebuild()
        return rx.toast.success("Alt text saved.")

    @rx.event
    def remove_media(self, media_id: int):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                posts.update_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                       media_ids=[m.id for m in self.media if m.id != int(media_id)])
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        self._rebuild()

    # ---- when -----------------------------------------------------------------------------------

    def _after_schedule(self, message: str, date_iso: str):
        return [rx.toast.success(message), rx.redirect(f"/schedule?date={date_iso}")]

    @rx.event
    def schedule(self, form: dict):
        """Schedule at the date, time and time zone of the form (an editor's goes to approval)."""
        user, stop = self._save_or_signin()
        if stop:
            return stop
        date_, time_, tz = _f(form, "date", 10), _f(form, "time", 5), _f(form, "timezone", 64) or self.timezone
        self.schedule_date, self.schedule_time = date_, time_
        try:
            with session_scope() as session:
                post = timing.schedule_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id,
                                                when=f"{date_}T{time_}", timezone=tz)
                status = post.status
                local_date = times.local_wall_time(post.scheduled_at, self._timezone).date().isoformat()
        except ServiceError as exc:
            self.schedule_error = str(exc)
            return
        self.schedule_error = ""
        if status == "pending_approval":
            return self._after_schedule("Sent to your team's admins for approval, with this time.", local_date)
        return self._after_schedule(f"Scheduled for {date_} {time_} ({tz}).", local_date)

    @rx.event
    def publish_now(self):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                timing.publish_now(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id)
        except ServiceError as exc:
            self.schedule_error = str(exc)
            return
        self.schedule_error = ""
        today = utcnow().astimezone(ZoneInfo(self._timezone)).date().isoformat()
        return self._after_schedule("Publishing now.", today)

    @rx.event
    def add_to_queue(self):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                post = timing.add_to_queue(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id)
                status = post.status
                at = times.local_wall_time(post.scheduled_at, self._timezone)
        except ServiceError as exc:
            self.schedule_error = str(exc)
            return
        self.schedule_error = ""
        when = at.strftime("%a %d %b, %H:%M")
        if status == "pending_approval":
            return self._after_schedule(f"Sent for approval, for the queue slot {when}.", at.date().isoformat())
        return self._after_schedule(f"Added to the queue: {when}.", at.date().isoformat())

    @rx.event
    def submit_for_approval(self):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                approvals.submit_for_approval(session, team_id=self._team_id, actor_id=user.id,
                                                         post_id=self.post_id)
                self._load_post(session, user.id, self.post_id, remount=False)
        except ServiceError as exc:
            self.schedule_error = str(exc)
            return
        self.schedule_error = ""
        self._rebuild()
        return [rx.toast.success("Sent to your team's admins for approval."), self._url_script()]

    def _recurrence(self, user_id: int) -> str:
        """Store the repeat settings on the post; the error message, or ""."""
        try:
            with session_scope() as session:
                if self.repeat_on:
                    every = int(self.repeat_every) if self.repeat_every.isdigit() else 0
                    timing.set_recurrence(session, team_id=self._team_id, actor_id=user_id, post_id=self.post_id,
                                              every=every, unit=self.repeat_unit)
                else:
                    timing.clear_recurrence(session, team_id=self._team_id, actor_id=user_id, post_id=self.post_id)
                self._load_post(session, user_id, self.post_id, remount=False)
        except ServiceError as exc:
            return str(exc)
        return ""

    def _set_repeat(self, **change):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        for name, value in change.items():
            setattr(self, name, value)
        self.schedule_error = self._recurrence(user.id)
        if not self.schedule_error and self.repeat_on:
            return rx.toast.success(f"Repeats every {self.repeat_every} {self.repeat_unit}(s) from its scheduled time.")
        return None

    @rx.event
    def set_repeat_on(self, on: bool):
        return self._set_repeat(repeat_on=bool(on))

    @rx.event
    def set_repeat_every(self, every: str):
        return self._set_repeat(repeat_every=str(every).strip()[:4])

    @rx.event
    def set_repeat_unit(self, unit: str):
        if unit in timing.RECURRENCE_UNITS:
            return self._set_repeat(repeat_unit=unit)
        return None

    @rx.event
    def duplicate(self):
        user, stop = self._save_or_signin()
        if stop:
            return stop
        try:
            with session_scope() as session:
                copy = posts.duplicate_post(session, team_id=self._team_id, actor_id=user.id, post_id=self.post_id)
                new_id = copy.id
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        return [rx.toast.success("Copied into a new draft."), rx.redirect(f"/schedule/compose?post={new_id}")]

