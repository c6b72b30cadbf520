"""Scheduling: time zones and daylight saving, the queue's weekly slots, drag to reschedule,
recurrence without bursts, the missed window, cancel and retry."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from socialhub.core.models import utcnow
from socialhub.core.models import Email
from socialhub.identity.models import Notification
from socialhub.schedule.models import Post, TimeSlot
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule import queue, times
from socialhub.schedule.publisher import engine
from socialhub.schedule import posts, reading, timing
from socialhub.core.errors import PermissionDenied, ValidationError
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    due_post,
    fast_publishing,
    hub_account,
    status_of,
    targets_of,
)

UTC = ZoneInfo("UTC")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def local(tz: str, *args) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def draft(session, crew, accounts, text="hello"):
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=text,
                             account_ids=[a.id for a in accounts])
    session.commit()
    return post


# ---- times and time zones -------------------------------------------------------------------

def test_a_local_time_is_read_in_the_chosen_time_zone():
    assert times.to_utc("2027-07-01T09:00", "Europe/Berlin") == utc(2027, 7, 1, 7)
    assert times.to_utc(datetime(2027, 1, 15, 9), "America/New_York") == utc(2027, 1, 15, 14)
    assert times.to_utc(utc(2027, 1, 15, 9), "Asia/Tokyo") == utc(2027, 1, 15, 9)  # aware stays


def test_skipped_and_repeated_local_times_are_resolved_predictably():
    # 02:30 does not exist in Berlin on 2027-03-28: it becomes 03:30 CEST.
    assert times.to_utc("2027-03-28T02:30", "Europe/Berlin") == utc(2027, 3, 28, 1, 30)
    # 02:30 happens twice on 2027-10-31: the first one (CEST) is used.
    assert times.to_utc("2027-10-31T02:30", "Europe/Berlin") == utc(2027, 10, 31, 0, 30)


def test_scheduling_uses_the_posts_time_zone_and_refuses_the_past(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub])
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                             when="2031-06-01T18:30", timezone="Asia/Kolkata")
    session.commit()
    fresh = session.get(Post, post.id)
    assert fresh.scheduled_at == utc(2031, 6, 1, 13) and fresh.timezone == "Asia/Kolkata" and fresh.status == "scheduled"
    [target] = targets_of(session, post)
    assert (target.status, target.due_at) == ("pending", utc(2031, 6, 1, 13))
    with pytest.raises(ValidationError, match="in the past"):
        timing.reschedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                   when=utcnow() - timedelta(hours=1))
    with pytest.raises(ValidationError, match="time zone"):
        timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                 when="2031-06-01T18:30", timezone="Mars/Olympus")


# ---- weekly slots across daylight-saving changes ---------------------------------------------

@pytest.mark.parametrize("tz, before, after, change", [
    ("Europe/Berlin", 9, 8, "2026-03-29"),  # CET → CEST, last Sunday of March
    ("Europe/Berlin", 8, 9, "2026-10-25"),  # CEST → CET, last Sunday of October
    ("America/New_York", 15, 14, "2026-03-08"),  # EST → EDT, second Sunday of March
    ("America/New_York", 14, 15, "2026-11-01"),  # EDT → EST, first Sunday of November
])
def test_a_weekly_slot_keeps_its_local_time_across_daylight_saving_changes(tz, before, after, change):
    slot = TimeSlot(account_id=0, weekday=6, local_time=time(10, 0))  # Sundays 10:00, local
    day = datetime.fromisoformat(change)
    start, end = (day - timedelta(days=7)).replace(tzinfo=UTC), (day + timedelta(days=8)).replace(tzinfo=UTC)
    times = timing.slot_times([slot], timezone=tz, start=start, end=end)
    assert [t.hour for t in times] == [before, after, after]
    assert all(t.astimezone(ZoneInfo(tz)).hour == 10 for t in times)
    assert (times[1] - times[0]) == timedelta(days=7, hours=after - before)


def test_slots_on_the_change_night_itself_fall_at_a_real_time(session):
    slots = [TimeSlot(account_id=0, weekday=6, local_time=time(2, 30))]
    spring = timing.slot_times(slots, timezone="Europe/Berlin", start=utc(2026, 3, 28), end=utc(2026, 3, 30))
    autumn = timing.slot_times(slots, timezone="Europe/Berlin", start=utc(2026, 10, 24), end=utc(2026, 10, 26))
    assert spring == [utc(2026, 3, 29, 1, 30)]  # 03:30 CEST: the skipped hour moves forward
    assert autumn == [utc(2026, 10, 25, 0, 30)]  # once, the first 02:30


def test_add_to_queue_takes_each_accounts_next_free_slot_in_its_own_time_zone(session, crew):
    berlin = hub_account(session, crew)
    platform_accounts.update_account(session, team_id=crew.team.id, actor_id=crew.owner.id, account_id=berlin.id,
                                     timezone="Europe/Berlin")
    queue.set_time_slots(session, team_id=crew.team.id, actor_id=crew.owner.id, account_id=berlin.id,
                                     slots=[(6, "10:00")])  # Sundays 10:00 Berlin time
    session.commit()
    after = utc(2027, 3, 20, 12)  # Saturday before the spring change (2027-03-28)
    queued = [draft(session, crew, [berlin], f"queued {i}") for i in range(3)]
    for post in queued:
        timing.add_to_queue(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, after=after)
        session.commit()
    times = [session.get(Post, p.id).scheduled_at for p in queued]
    assert times == [local("Europe/Berlin", 2027, 3, 21, 10), local("Europe/Berlin", 2027, 3, 28, 10),
                     local("Europe/Berlin", 2027, 4, 4, 10)]
    assert [t.astimezone(UTC).hour for t in times] == [9, 8, 8]
    # The slot of a cancelled post is free again.
    timing.cancel_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=queued[1].id)
    late = draft(session, crew, [berlin], "late")
    timing.add_to_queue(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=late.id, after=after)
    session.commit()
    assert session.get(Post, late.id).scheduled_at == local("Europe/Berlin", 2027, 3, 28, 10)


def test_add_to_queue_without_slots_says_what_to_do(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub])
    with pytest.raises(ValidationError, match="no free time slot.*Settings"):
        timing.add_to_queue(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id)


def test_queue_slots_for_the_calendar_show_which_are_taken(session, crew):
    hub = hub_account(session, crew)
    queue.set_time_slots(session, team_id=crew.team.id, actor_id=crew.owner.id, account_id=hub.id,
                                     slots=[(0, "09:00"), (2, time(17, 30))])
    post = draft(session, crew, [hub])
    timing.add_to_queue(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, after=utc(2027, 5, 1))
    session.commit()
    slots = timing.list_queue_slots(session, team_id=crew.team.id, user_id=crew.viewer.id, account_id=hub.id,
                                        start=utc(2027, 5, 1), end=utc(2027, 5, 15))
    assert slots[:2] == [(utc(2027, 5, 3, 9), True), (utc(2027, 5, 5, 17, 30), False)]
    with pytest.raises(PermissionDenied):
        queue.set_time_slots(session, team_id=crew.team.id, actor_id=crew.editor.id, account_id=hub.id, slots=[])


# ---- moving, cancelling, publishing now ---------------------------------------------------------

def test_dragging_a_scheduled_post_moves_every_target(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub])
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=utc(2031, 1, 1, 9))
    timing.reschedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=utc(2031, 1, 2, 10))
    session.commit()
    [target] = targets_of(session, post)
    assert session.get(Post, post.id).scheduled_at == utc(2031, 1, 2, 10)
    assert (target.scheduled_at, target.due_at, target.status) == (utc(2031, 1, 2, 10), utc(2031, 1, 2, 10), "pending")


def test_publish_now_goes_out_at_once_and_only_for_admins(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub])
    with pytest.raises(PermissionDenied, match="approval"):
        timing.publish_now(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    timing.publish_now(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id)
    session.commit()
    assert [o.status for o in engine.publish_due()] == ["published"]
    assert status_of(session, post) == "published"
    with pytest.raises(ValidationError, match="no longer be changed"):
        timing.reschedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                                   when=utcnow() + timedelta(days=1))


def test_cancel_stops_waiting_targets_and_unschedule_returns_to_draft(session, crew):
    hub = hub_account(session, crew)
    a, b = draft(session, crew, [hub], "a"), draft(session, crew, [hub], "b")
    for post in (a, b):
        timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=utc(2031, 1, 1))
    timing.cancel_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=a.id)
    timing.unschedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=b.id)
    session.commit()
    assert (status_of(session, a), [t.status for t in targets_of(session, a)]) == ("cancelled", ["cancelled"])
    assert (status_of(session, b), [t.status for t in targets_of(session, b)]) == ("draft", ["draft"])
    with pytest.raises(PermissionDenied):
        timing.cancel_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=b.id)


# ---- missed window ------------------------------------------------------------------------------

def test_a_post_whose_time_passed_long_ago_is_missed_not_published_late(session, crew):
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], "Stale news", seconds_ago=2 * 3600)  # the scheduler was down
    assert engine.publish_due() == []
    assert timing.sweep_missed() == 1
    assert [t.status for t in targets_of(session, post)] == ["missed"]
    assert status_of(session, post) == "missed"
    assert session.exec(select(Notification).where(Notification.user_id == crew.owner.id, Notification.kind == "post_missed")).one()
    assert session.exec(select(Email).where(Email.subject.contains("missed its time"))).first()
    # The owner decides: publish it now after all.
    timing.publish_now(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id)
    session.commit()
    assert [o.status for o in engine.publish_due()] == ["published"]
    assert status_of(session, post) == "published"


def test_the_missed_window_is_configurable(session, crew, monkeypatch):
    monkeypatch.setenv("PUBLISH_MISSED_AFTER_MINUTES", "180")
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], seconds_ago=2 * 3600)
    assert timing.sweep_missed() == 0
    assert [o.status for o in engine.publish_due()] == ["published"]
    assert status_of(session, post) == "published"


def test_retry_sends_failed_and_missed_targets_again(session, crew):
    hub = hub_account(session, crew)
    post = due_post(session, crew, [hub], seconds_ago=3 * 3600)
    timing.sweep_missed()
    timing.retry_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id)
    session.commit()
    assert [o.status for o in engine.publish_due()] == ["published"]


# ---- recurrence ---------------------------------------------------------------------------------

def test_each_occurrence_is_made_from_the_previous_scheduled_time_at_the_same_local_hour():
    at = times.to_utc("2027-03-27T09:00", "Europe/Berlin")
    nxt = times.next_occurrence(at, every=1, unit="day", timezone="Europe/Berlin")
    assert nxt.astimezone(ZoneInfo("Europe/Berlin")).hour == 9 and nxt - at == timedelta(hours=23)
    weekly = times.next_occurrence(utc(2027, 1, 4, 12), every=2, unit="week", timezone="UTC")
    assert weekly == utc(2027, 1, 18, 12)


def test_recurring_post_creates_one_occurrence_at_a_time_ahead_of_its_time(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub], "Daily tip")
    start = utcnow() + timedelta(hours=1)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=start)
    timing.set_recurrence(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, every=1, unit="day")
    session.commit()
    assert timing.materialize_recurrences() == []  # the next one is 25 h away, the lookahead 24 h
    created = timing.materialize_recurrences(now=utcnow() + timedelta(hours=2))
    assert len(created) == 1
    occurrence = session.get(Post, created[0])
    assert occurrence.scheduled_at == start + timedelta(days=1) and occurrence.status == "scheduled"
    assert occurrence.recurrence_source_id == post.id and occurrence.text == "Daily tip"
    assert [t.status for t in targets_of(session, occurrence)] == ["pending"]
    assert timing.materialize_recurrences(now=utcnow() + timedelta(hours=2)) == []  # never twice
    calendar = reading.list_calendar(session, team_id=crew.team.id, user_id=crew.owner.id,
                                     start=start, end=start + timedelta(days=5))
    projected = [e for e in calendar if e.projected]
    assert [e.scheduled_at for e in projected] == [start + timedelta(days=d) for d in (2, 3, 4)]


def test_recurrence_never_catches_up_a_backlog_in_a_burst(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub], "Every day")
    start = utcnow() + timedelta(hours=1)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=start)
    timing.set_recurrence(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, every=1, unit="day")
    session.commit()
    # The scheduler was down for ten days.
    created = timing.materialize_recurrences(now=start + timedelta(days=10, minutes=-30))
    assert len(created) == 1, "one occurrence, not ten"
    assert session.get(Post, created[0]).scheduled_at == start + timedelta(days=10)
    session.expire_all()
    assert session.get(Post, post.id).recurrence_next_at == start + timedelta(days=11)
    total = session.exec(select(Post).where(Post.recurrence_source_id == post.id)).all()
    assert len(total) == 1


def test_recurrence_stops_at_its_end_and_when_cancelled(session, crew):
    hub = hub_account(session, crew)
    post = draft(session, crew, [hub], "Weekly")
    start = utcnow() + timedelta(hours=1)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, when=start)
    timing.set_recurrence(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, every=1, unit="week",
                              until=start + timedelta(days=10))
    session.commit()
    assert len(timing.materialize_recurrences(now=start + timedelta(days=6, hours=12))) == 1
    assert timing.materialize_recurrences(now=start + timedelta(days=13, hours=12)) == []
    with pytest.raises(ValidationError):
        timing.set_recurrence(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, every=0, unit="day")


def test_a_daily_0230_series_is_0330_on_the_spring_forward_night_only(session, crew):
    """Europe/Berlin skips 02:00-03:00 on the last Sunday of March (2027-03-28): that night's
    occurrence moves forward to 03:30, and the series is at 02:30 again the next day."""
    berlin = ZoneInfo("Europe/Berlin")
    wall = time(2, 30)
    at = times.to_utc("2027-03-27T02:30", "Europe/Berlin")
    night = times.next_occurrence(at, every=1, unit="day", timezone="Europe/Berlin", wall_time=wall)
    after = times.next_occurrence(night, every=1, unit="day", timezone="Europe/Berlin", wall_time=wall)
    assert night.astimezone(berlin).replace(tzinfo=None) == datetime(2027, 3, 28, 3, 30)
    assert after.astimezone(berlin).replace(tzinfo=None) == datetime(2027, 3, 29, 2, 30)

    hub = hub_account(session, crew)
    post = draft(session, crew, [hub], "Night owl")
    first = local("Europe/Berlin", 2027, 3, 26, 2, 30).astimezone(UTC)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                         when="2027-03-26T02:30", timezone="Europe/Berlin")
    timing.set_recurrence(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, every=1, unit="day")
    session.commit()
    stored = session.get(Post, post.id)
    assert stored.scheduled_at == first and stored.recurrence_local_time == wall
    # The calendar's projection follows the same rule.
    projected = list(times.projected_occurrences(stored, start=first, end=first + timedelta(days=5)))
    made = []
    for day in range(4):  # the scheduler runs each day, an hour before the occurrence
        made += timing.materialize_recurrences(now=first + timedelta(days=day, hours=23))
    session.expire_all()
    local_times = [session.get(Post, i).scheduled_at.astimezone(berlin).replace(tzinfo=None) for i in made]
    assert local_times == [datetime(2027, 3, 27, 2, 30), datetime(2027, 3, 28, 3, 30),
                           datetime(2027, 3, 29, 2, 30), datetime(2027, 3, 30, 2, 30)]
    assert [p.astimezone(berlin).replace(tzinfo=None) for p in projected[:4]] == local_times
    assert session.get(Post, post.id).recurrence_next_at.astimezone(berlin).replace(tzinfo=None) == datetime(2027, 3, 31, 2, 30)
