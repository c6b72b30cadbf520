"""The composer's state: one post, its accounts, its per-platform versions, tags, the live
counters and previews, and autosave. `ComposeState` also takes in two mixins: its media
(`compose_media.py`) and when the post goes out (`compose_when.py`); the pages use the one
class, `ComposeState`.

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
from socialhub.identity import teams, users
from socialhub.schedule import content, posts, reading
from socialhub.core.errors import NotFound, ServiceError
from socialhub.schedule.views import composer_accounts, ComposerAccount, platform_counter
from socialhub.ui.state import AppState
from socialhub.schedule.state.compose_media import ComposeMedia, media_rows
from socialhub.schedule.state.compose_when import ComposeWhen
from socialhub.schedule.state.rows import (
    AccountChoice,
    counter_row,
    CounterRow,
    PartRow,
    PlatformTab,
    PreviewPart,
    PreviewRow,
    status_color,
    status_label,
)

AUTOSAVE_SECONDS = 1.2
MAX_TEXT = content.MAX_TEXT_CHARS
MAX_PREVIEW_TEXT = 3000
TOO_LONG = (f"This text reached {MAX_TEXT:,} characters, the most SocialHub keeps for one post, so the rest was "
            "cut off. It was not saved: your last saved text is kept.")


def _id(value) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise NotFound("That item no longer exists.") from None


class ComposeState(ComposeMedia, ComposeWhen, AppState):
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
    previews: list[PreviewRow] = []
    problems: list[str] = []

    save_status: str = ""
    save_error: str = ""

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
            self.timezones = users.timezones()
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
        detail = reading.get_post(session, team_id=self._team_id, user_id=user_id, post_id=post_id)
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
        self.media = media_rows(detail.media)
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
