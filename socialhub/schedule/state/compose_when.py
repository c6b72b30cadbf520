"""When the composed post goes out: schedule it, publish it now, add it to the queue, send it
for approval, repeat it, or duplicate it.

A state mixin (`ComposeWhen`) that `ComposeState` inherits: the schedule form's fields and
the buttons under it. The handlers save pending changes first (`_save_or_signin`, owned by
`ComposeState`) and then call the scheduling services (`timing`, `approvals`, `posts`).
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

import reflex as rx

from socialhub.core.db import session_scope
from socialhub.core.errors import ServiceError
from socialhub.core.models import utcnow
from socialhub.schedule import approvals, posts, times, timing


def _f(form: dict, key: str, limit: int = 200) -> str:
    return str(form.get(key, ""))[:limit]


class ComposeWhen(rx.State, mixin=True):
    timezone: str = "UTC"
    timezones: list[str] = []
    schedule_date: str = ""
    schedule_time: str = ""
    when_label: str = ""
    repeat_on: bool = False
    repeat_every: str = "1"
    repeat_unit: str = "week"
    schedule_error: str = ""

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

