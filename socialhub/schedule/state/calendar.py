"""The Schedule page's state: the calendar (month, week, day), the list, the post panel, and
moving a post by dragging it.

Holds only what the page shows: the rows of the current view (built by `schedule_rows` from
the publishing services' views), the filters, the open post and the pending move. Every
handler re-checks the signed-in user; the services scope every query by team and check the
role. The real-time listener calls `_refresh_posts` when the scheduler (or a teammate)
changes posts of this team, so statuses change on an open page without a reload.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.models import utcnow
from socialhub.schedule.models import POST_STATUSES
from socialhub.channels import accounts
from socialhub.schedule import approvals, posts, reading, status, times, timing
from socialhub.identity import teams
from socialhub.core.errors import NotFound, ServiceError, ValidationError
from socialhub.ui import clients
from socialhub.ui.state import AppState
from socialhub.schedule.state.rows import (
    build_calendar,
    CalDay,
    CalPost,
    drop_prefill,
    GridRow,
    list_rows,
    Panel,
    panel_of,
    shift,
    status_label,
    view_dates,
)

log = logging.getLogger(__name__)
VIEWS = ("month", "week", "day", "list")
MAX_FIELD = 5000
SCROLL_TO_NOW = (  # after React has drawn the new view: the current time (or 08:00) near the top
    "setTimeout(() => { const g = document.getElementById('cal-scroll'); if (!g) return;"
    " const t = g.querySelector('.sh-slot-now') || g.querySelector('[data-hour=\"08:00\"]');"
    " if (t) g.scrollTop = Math.max(0, t.offsetTop - 80); }, 150)"
)


def _f(form: dict, key: str, limit: int = MAX_FIELD) -> str:
    return str(form.get(key, ""))[:limit]


def _int(value, what: str = "item") -> int:
    """Ids come back from the page as strings; anything else is refused like a missing row."""
    try:
        return int(str(value).strip())
    except ValueError:
        raise NotFound(f"That {what} no longer exists.") from None


def _parse_date(value: str) -> date | None:
    try:
        return date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        return None


class ScheduleState(AppState):
    view: str = "week"
    anchor: str = ""
    title: str = ""
    tz: str = "UTC"
    loaded: bool = False
    has_posts: bool = False
    can_compose: bool = False
    is_admin: bool = False
    error: str = ""

    # filters
    f_status: str = ""
    f_account: str = ""
    f_tag: str = ""
    f_search: str = ""
    show_filters: bool = False  # phones only: the filters fold away
    status_options: list[list[str]] = []
    account_options: list[list[str]] = []
    tag_options: list[str] = []

    # the current view
    range_count: int = 0
    month_days: list[CalDay] = []
    head_days: list[CalDay] = []
    grid_rows: list[GridRow] = []
    agenda: list[CalDay] = []
    rows: list[CalPost] = []
    page: int = 1
    pages: int = 1
    total: int = 0

    # the open post
    panel_open: bool = False
    panel: Panel = Panel()
    panel_error: str = ""
    reject_open: bool = False

    # a post dropped on the calendar, waiting for the exact time
    drop_open: bool = False
    drop_post_id: int = 0
    drop_text: str = ""
    drop_date: str = ""
    drop_time: str = ""
    drop_left: str = "50%"
    drop_top: str = "30%"
    drop_error: str = ""

    _movable: dict[int, str] = {}

    # ---- loading --------------------------------------------------------------------------------

    @rx.event
    def load(self):
        """on_load: the view, date and post from the address, then the data."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        params = self.router.url.query_parameters
        self.tz = self._timezone
        view = str(params.get("view", "") or self.view)
        self.view = view if view in VIEWS else "week"
        anchor = _parse_date(params.get("date", "")) or self._today()
        self.anchor = anchor.isoformat()
        self.drop_open = self.reject_open = False
        self.error = self.panel_error = ""
        with session_scope() as session:
            role = teams.get_role(session, team_id=self._team_id, user_id=user.id) or "viewer"
            self.can_compose = teams.role_at_least(role, "editor")
            self.is_admin = teams.role_at_least(role, "admin")
            self.status_options = [["", "Any status"]] + [[s, status_label(s)] for s in POST_STATUSES]
            self.account_options = [["", "Every account"]] + [
                [str(a.id), f"{a.platform_name} {a.handle}".strip()]
                for a in accounts.list_accounts(session, team_id=self._team_id, user_id=user.id,
                                                         include_disconnected=True)
            ]
        self._load_view(user.id)
        self.loaded = True
        events = [rx.call_script(SCROLL_TO_NOW)]
        post = params.get("post", "")
        if str(post).isdigit():
            events.insert(0, ScheduleState.open_post(int(post)))
        return events

    def _today(self) -> date:
        return utcnow().astimezone(ZoneInfo(self._timezone)).date()

    def _anchor(self) -> date:
        return _parse_date(self.anchor) or self._today()

    def _role(self, session, user_id: int) -> str:
        return teams.get_role(session, team_id=self._team_id, user_id=user_id) or "viewer"

    def _load_view(self, user_id: int) -> None:
        """Load the rows of the current view and filters (the services check membership)."""
        try:
            with session_scope() as session:
                role = self._role(session, user_id)
                account_id = int(self.f_account) if self.f_account.isdigit() else None
                self.has_posts = reading.list_posts(session, team_id=self._team_id, user_id=user_id,
                                                       page_size=1).total > 0
                self.tag_options = reading.list_tags(session, team_id=self._team_id, user_id=user_id)
                if self.view == "list":
                    page = reading.list_posts(
                        session, team_id=self._team_id, user_id=user_id, status=self.f_status or None,
                        account_id=account_id, tag=self.f_tag or None, search=self.f_search or None, page=self.page)
                    self.rows = list_rows(page.items, tz=self._timezone, role=role)
                    self.page, self.pages, self.total = page.page, page.pages, page.total
                    self.title = f"{page.total} post{'s' if page.total != 1 else ''}"
                    self.month_days, self.head_days, self.grid_rows, self.agenda = [], [], [], []
                    self._movable = {}
                    return
                first, last = view_dates(self.view, self._anchor())
                start = times.to_utc(datetime.combine(first, time(0)), self._timezone)
                end = times.to_utc(datetime.combine(last, time(0)), self._timezone)
                items = reading.list_calendar(
                    session, team_id=self._team_id, user_id=user_id, start=start, end=end, account_id=account_id,
                    status=self.f_status or None, tag=self.f_tag or None)
        except ServiceError as exc:
            self.error = str(exc)
            return
        self.error = ""
        cal = build_calendar(self.view, self._anchor(), items, tz=self._timezone, role=role, now=utcnow())
        self.title, self.range_count = cal.title, cal.count
        self.month_days, self.head_days, self.grid_rows, self.agenda = (
            cal.month_days, cal.head_days, cal.grid_rows, cal.agenda)
        self.rows = []
        self._movable = {s.id: s.scheduled_at.isoformat() for s in items
                         if not s.projected and s.scheduled_at is not None}

    def _reload(self, *then):
        """Reload the current view (re-checking the user), then run `then`."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self._load_view(user.id)
        return list(then) or None

    def _refresh_posts(self, data: dict) -> None:
        """Called by the real-time listener when posts of a team changed (no cookie here: the
        listener already matched this browser to the user the event is for)."""
        if not self.loaded or not self._user_id or data.get("team_id") != self._team_id:
            return
        if not (self.router.url.path or "").startswith("/schedule"):
            return
        try:
            self._load_view(self._user_id)
            if self.panel_open and self.panel.id in set(data.get("post_ids") or ()):
                self._load_panel(self._user_id, self.panel.id)
        except Exception:  # a refresh must never cost this browser its live updates
            log.exception("could not refresh the Schedule page")

    # ---- navigating -------------------------------------------------------------------------------

    @rx.event
    def set_view(self, view: str | list[str]):
        if view not in VIEWS:
            return
        self.view, self.page = view, 1
        return self._reload(rx.call_script(SCROLL_TO_NOW))

    @rx.event
    def go(self, step: int):
        self.anchor = shift(self.view, self._anchor(), 1 if int(step) > 0 else -1).isoformat()
        return self._reload()

    @rx.event
    def go_today(self):
        self.anchor = self._today().isoformat()
        return self._reload(rx.call_script(SCROLL_TO_NOW))

    @rx.event
    def go_to_date(self, value: str):
        day = _parse_date(value)
        if day is None:
            return rx.toast.error("That is not a date.")
        self.anchor = day.isoformat()
        return self._reload()

    @rx.event
    def open_day(self, value: str):
        """A day in the month (its "+3 more", or its number): show that day."""
        day = _parse_date(value)
        if day is None:
            return
        self.anchor, self.view = day.isoformat(), "day"
        return self._reload(rx.call_script(SCROLL_TO_NOW))

    @rx.event
    def set_filter(self, name: str, value: str):
        value = str(value)[:100]
        if name == "status":
            self.f_status = value if value in POST_STATUSES else ""
        elif name == "account":
            self.f_account = value if value.isdigit() else ""
        elif name == "tag":
            self.f_tag = value.strip().lstrip("#")[:50]
        else:
            return
        self.page = 1
        return self._reload()

    @rx.event
    def search(self, form: dict):
        self.f_search = _f(form, "q", 200).strip()
        self.view, self.page = "list", 1
        return self._reload()

    @rx.event
    def toggle_filters(self):
        self.show_filters = not self.show_filters

    @rx.event
    def clear_filters(self):
        self.f_status = self.f_account = self.f_tag = self.f_search = ""
        self.page = 1
        return self._reload(rx.call_script("var q=document.getElementById('f-q'); if (q) q.value='';"))

    @rx.event
    def go_page(self, step: int):
        self.page = max(1, min(self.pages, self.page + (1 if int(step) > 0 else -1)))
        return self._reload()

    # ---- the post panel ---------------------------------------------------------------------------

    def _load_panel(self, user_id: int, post_id: int) -> bool:
        try:
            with session_scope() as session:
                detail = reading.get_post(session, team_id=self._team_id, user_id=user_id, post_id=post_id)
        except ServiceError as exc:
            self.panel_open, self.panel = False, Panel()
            self.error = str(exc)
            return False
        self.panel = panel_of(detail, tz=self._timezone, user_id=user_id)
        return True

    @rx.event
    def open_post(self, post_id: int):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        self.panel_error, self.reject_open = "", False
        try:
            post_id = _int(post_id, "post")
        except ServiceError as exc:
            return rx.toast.error(str(exc))
        if not self._load_panel(user.id, post_id):
            return rx.toast.error(self.error)
        self.panel_open = True

    @rx.event
    def close_panel(self):
        self.panel_open, self.reject_open, self.panel_error = False, False, ""

    @rx.event
    def set_panel_open(self, value: bool):
        if not value:
            self.panel_open, self.reject_open, self.panel_error = False, False, ""

    def _act(self, action, success: str, *, keep_panel: bool = True):
        """Run one service call for the open post, then reload the view and the panel."""
        post_id = self.panel.id

        def reload(user_id: int) -> None:
            self._load_view(user_id)
            if keep_panel:
                self._load_panel(user_id, post_id)
            else:
                self.panel_open, self.panel = False, Panel()

        return super()._act(lambda session, user_id: action(session, user_id, post_id), success,
                            error_field="panel_error", reload=reload)

    @rx.event
    def submit_post(self):
        return self._act(lambda s, uid, pid: approvals.submit_for_approval(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Sent to your team's admins for approval.")

    @rx.event
    def approve_post(self):
        return self._act(lambda s, uid, pid: approvals.approve_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Approved.")

    @rx.event
    def toggle_reject(self):
        self.reject_open = not self.reject_open

    @rx.event
    def reject_post(self, form: dict):
        reason = _f(form, "reason")
        result = self._act(lambda s, uid, pid: approvals.reject_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid, reason=reason), "Sent back to the author with your comment.")
        if not self.panel_error:
            self.reject_open = False
        return result

    @rx.event
    def publish_now(self):
        return self._act(lambda s, uid, pid: timing.publish_now(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Publishing now.")

    @rx.event
    def reschedule(self, form: dict):
        when = f"{_f(form, 'date', 10)}T{_f(form, 'time', 5)}"
        return self._act(lambda s, uid, pid: timing.reschedule_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid, when=times.to_utc(when, self._timezone)),
            "Moved.")

    @rx.event
    def unschedule(self):
        return self._act(lambda s, uid, pid: timing.unschedule_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Back to draft; it will not be published.")

    @rx.event
    def cancel_post(self):
        return self._act(lambda s, uid, pid: timing.cancel_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Cancelled; it will not be published.")

    @rx.event
    def retry_post(self):
        return self._act(lambda s, uid, pid: timing.retry_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Trying again now.")

    @rx.event
    def duplicate_post(self):
        return self._act(
            lambda s, uid, pid: posts.duplicate_post(s, team_id=self._team_id, actor_id=uid, post_id=pid).id,
            lambda new_id: [rx.toast.success("Copied into a new draft."), rx.redirect(f"/schedule/compose?post={new_id}")],
            keep_panel=False)

    @rx.event
    def delete_post(self):
        return self._act(lambda s, uid, pid: posts.delete_post(
            s, team_id=self._team_id, actor_id=uid, post_id=pid), "Deleted from SocialHub.", keep_panel=False)

    @rx.event
    def add_comment(self, form: dict):
        body = _f(form, "comment")
        result = self._act(lambda s, uid, pid: approvals.add_comment(
            s, team_id=self._team_id, actor_id=uid, post_id=pid, body=body), "Comment added.")
        if self.panel_error:
            return result
        return [result, rx.call_script("var f=document.getElementById('comment-form'); if (f) f.reset();")]

    # ---- moving a post on the calendar ----------------------------------------------------------

    @rx.event
    def drop_post(self, payload: str, zone: str, x: int, y: int):
        """A post was dropped on a day or a time row: ask for the exact time, prefilled."""
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        try:
            post_id = _int(payload, "post")
            original = self._movable.get(post_id)
            if original is None:
                raise ValidationError("This post cannot be moved.")
            self.drop_date, self.drop_time = drop_prefill(
                str(zone)[:20], original=datetime.fromisoformat(original), tz=self._timezone, now=utcnow())
        except (ServiceError, ValueError) as exc:
            return rx.toast.error(str(exc))
        text = next((p.text for day in self.agenda for p in day.posts if p.id == post_id), "")
        self.drop_post_id, self.drop_text, self.drop_error = post_id, text, ""
        x, y = max(0, int(x)), max(0, int(y))
        self.drop_left = f"min({x}px, calc(100vw - 316px))"
        self.drop_top = f"min({y}px, calc(100vh - 260px))"
        self.drop_open = True
        return rx.call_script("setTimeout(() => document.getElementById('drop-time')?.focus(), 50)")

    @rx.event
    def confirm_move(self, form: dict):
        user = self._signed_in_user()
        if user is None:
            return self._to_signin()
        when = f"{_f(form, 'date', 10)}T{_f(form, 'time', 5)}"
        try:
            with session_scope() as session:
                at = times.to_utc(when, self._timezone)
                post = timing.reschedule_post(session, team_id=self._team_id, actor_id=user.id,
                                                  post_id=self.drop_post_id, when=at)
                label = times.local_wall_time(post.scheduled_at, self._timezone).strftime("%a %d %b, %H:%M")
        except ServiceError as exc:
            self.drop_error = str(exc)
            return
        self.drop_open, self.drop_error = False, ""
        self._load_view(user.id)
        if self.panel_open and self.panel.id == self.drop_post_id:
            self._load_panel(user.id, self.drop_post_id)
        return rx.toast.success(f"Moved to {label}.")

    @rx.event
    def drop_key(self, key: str):
        if key == "Escape":
            self.drop_open, self.drop_error = False, ""

    @rx.event
    def cancel_move(self):
        self.drop_open, self.drop_error = False, ""


clients.on_event(status.EVENT_KIND, ScheduleState, "_refresh_posts")
