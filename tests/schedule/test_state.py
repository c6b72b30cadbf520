"""The Schedule pages' state handlers, called directly (as tests/state/test_state_handlers.py
does): composing with live counters and autosave, scheduling by role, moving a post on the
calendar, approvals, uploads, the accounts page, live refresh, and that a user of one team
can neither see nor change another team's posts through any of these states."""

from __future__ import annotations

import asyncio
import struct
import zlib
from collections import defaultdict
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from reflex.state import State
from sqlmodel import select

from socialhub.core.db import session_scope
from socialhub.channels.adapters import OAuthTokens
from socialhub.identity.models import TeamMember
from socialhub.media.models import Media
from socialhub.channels.models import PlatformAccount
from socialhub.schedule.models import Post, PostComment, PostTarget, TimeSlot
from socialhub.channels import accounts as platform_accounts
from socialhub.schedule.hub import timeline
from socialhub.schedule import posts, reading, status, times, timing
from socialhub.identity import teams
from socialhub.ui import clients, realtime
from socialhub.channels.state.accounts import AccountsState, connect_result_path
from socialhub.ui.state import AppState
from socialhub.schedule.state.calendar import ScheduleState
from socialhub.schedule.state.compose import ComposeState, MAX_TEXT
from socialhub.schedule.state.rows import build_calendar, drop_prefill, safe_url
from tests.identity.test_state import (
    as_list,
    db_all,
    db_get,
    login_token,
    make_state,
    personal_team,
    redirect_target,
    script_of,
    sign_up,
    spec_args,
    spec_kind,
)

HOSTILE = "<img src=x onerror=alert(1)> '; DROP TABLE posts; -- \"quotes\" & <script>x</script>"


# ---- helpers ----------------------------------------------------------------------------------

def kinds(result) -> list[str]:
    return [spec_kind(s).rsplit(".", 1)[-1] for s in as_list(result)]


def toast_text(result) -> str:
    return " ".join(str(spec_args(s).get("function", "")) for s in as_list(result) if spec_kind(s) == "_call_function")


def connect(team_id: int, user_id: int, platform: str, external_id: str, handle: str) -> int:
    with session_scope() as session:
        return platform_accounts.connect_account(
            session, team_id=team_id, actor_id=user_id, platform=platform,
            tokens=OAuthTokens(access_token="token", account_id=external_id, handle=handle)).id


def hub(team_id: int, user_id: int) -> int:
    with session_scope() as session:
        return timeline.connect_hub_account(session, team_id=team_id, actor_id=user_id).id


def add_member(team_id: int, user, role: str) -> None:
    with session_scope() as session:
        session.add(TeamMember(team_id=team_id, user_id=user.id, role=role))
        session.flush()
        teams.switch_team(session, user_id=user.id, team_id=team_id)


def compose(user, text: str = "Hello from the composer") -> ComposeState:
    state = make_state(ComposeState, token=login_token(user), path="/schedule/compose")
    state.load()
    state.commit_text(text)
    assert state.post_id and state.save_error == "", state.save_error
    return state


def future(hours: int = 24, tz: str = "UTC") -> datetime:
    return (datetime.now(UTC) + timedelta(hours=hours)).astimezone(ZoneInfo(tz)).replace(second=0, microsecond=0)


def png(width: int = 4, height: int = 3) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class FakeUpload:
    def __init__(self, name: str, data: bytes):
        self.name, self._data = name, data

    async def read(self, n: int = -1) -> bytes:
        return self._data if n < 0 else self._data[:n]


@pytest.fixture(autouse=True)
def fresh_realtime_registry(monkeypatch):
    monkeypatch.setattr(clients, "_clients", defaultdict(set))
    monkeypatch.setattr(realtime, "_members", {}, raising=False)


@pytest.fixture
def ada(database_url):
    """Ada owns her team, with its hub account connected."""
    user = sign_up("Ada")
    hub(personal_team(user), user.id)
    return user


@pytest.fixture
def team(ada):
    """Ada's team with Ed (editor) and Vi (viewer) working in it."""
    ed, vi = sign_up("Ed"), sign_up("Vi")
    team_id = personal_team(ada)
    add_member(team_id, ed, "editor")
    add_member(team_id, vi, "viewer")
    return team_id, ed, vi


# ---- composing ----------------------------------------------------------------------------------

def test_counters_count_the_way_each_platform_counts_and_say_how_to_fix(ada):
    team_id = personal_team(ada)
    connect(team_id, ada.id, "bluesky", "did:plc:ada", "ada.bsky.social")
    connect(team_id, ada.id, "x", "42", "ada_x")
    state = make_state(ComposeState, token=login_token(ada), path="/schedule/compose")
    state.load()
    assert [a.selected for a in state.accounts] == [True, False, False]  # the hub is the default
    for choice in state.accounts[1:]:
        state.toggle_account(choice.id)
    assert db_all(select(Post)) == []  # nothing is created until something is written

    # 👩‍👩‍👧 is one grapheme for Bluesky; a link counts 23 on X whatever its length.
    text = "👩‍👩‍👧 " * 10 + "https://example.com/" + "a" * 200
    result = state.edit_text(text)
    assert kinds(result) == ["autosave_after"]
    counters = {c.label: c for c in state.counters}
    assert counters["Bluesky ada.bsky.social"].text == "240 / 300"
    assert counters["X ada_x"].text == "53 / 280"  # X weighs an emoji 2 and a link 23
    assert not any(c.over for c in state.counters)

    state.edit_text("word " * 70)
    counters = {c.label: c for c in state.counters}
    assert counters["X ada_x"].over and counters["Bluesky ada.bsky.social"].over
    assert not counters["SocialHub ada"].over
    assert "70 over the limit of 280" in counters["X ada_x"].message
    assert "split it into a thread" in counters["X ada_x"].message
    assert {t.platform: t.counter.over for t in state.tabs} == {"hub": False, "bluesky": True, "x": True}
    assert db_all(select(Post)) == []  # counting never writes


def test_autosave_creates_the_draft_then_saves_changes_and_shows_saved(ada):
    state = make_state(ComposeState, token=login_token(ada), path="/schedule/compose")
    state.load()
    first = state.edit_text("First words")
    second = state.edit_text("First words, and more")
    # Each pause schedules a save for later; only the newest may write (older ones see a newer seq).
    assert spec_args(as_list(first)[0])["seq"] < spec_args(as_list(second)[0])["seq"]
    assert state.save_status == "Unsaved changes"

    result = state.commit_text("First words, and more")  # blur: save now
    (post,) = db_all(select(Post))
    assert (post.text, post.status, post.author_id) == ("First words, and more", "draft", ada.id)
    assert state.post_id == post.id and state.save_status.startswith("Saved")
    assert f"/schedule/compose?post={post.id}" in script_of(result)  # the address now names the draft
    assert [p.account for p in state.previews] == ["SocialHub ada"]  # the preview appears once saved

    state.edit_first_comment("A first comment")
    state.commit_first_comment("A first comment")
    assert db_get(Post, post.id).first_comment == "A first comment"
    state.save_tags("#Launch, weekly  launch")
    assert db_get(Post, post.id).tags == ["launch", "weekly"]
    assert state.tags_value == "launch, weekly"


def test_hostile_text_is_kept_verbatim_and_a_huge_paste_is_refused_without_losing_the_saved_text(ada):
    state = compose(ada, HOSTILE)
    assert db_get(Post, state.post_id).text == HOSTILE
    state.commit_text("x" * MAX_TEXT)  # the browser cuts a 10 MB paste at the field's maxlength
    assert "was not saved" in state.text_error
    assert db_get(Post, state.post_id).text == HOSTILE
    state.commit_text(HOSTILE + "!")
    assert state.text_error == "" and db_get(Post, state.post_id).text == HOSTILE + "!"


def test_a_save_that_conflicts_keeps_what_was_typed_and_says_why(ada):
    state = compose(ada, "Mine")
    with session_scope() as session:  # a teammate saves in between
        posts.update_post(session, team_id=personal_team(ada), actor_id=ada.id, post_id=state.post_id, text="Theirs")
    state.commit_text("Mine, longer")
    assert "Someone else changed this post" in state.save_error
    assert state.save_status == "Not saved"
    assert db_get(Post, state.post_id).text == "Theirs"
    assert state._text == "Mine, longer"  # still in the composer, ready to copy or retry


def test_platform_versions_thread_split_and_back_to_the_main_text(ada):
    team_id = personal_team(ada)
    x_id = connect(team_id, ada.id, "x", "42", "ada_x")
    state = compose(ada, "Sentence number one is here. " * 20)
    state.toggle_account(x_id)
    assert [t.platform for t in state.tabs] == ["hub", "x"]
    state.split_thread("x")
    tab = next(t for t in state.tabs if t.platform == "x")
    assert tab.has_variant and tab.text.endswith(" 1/3") and [p.label for p in tab.parts] == ["Post 2 of 3", "Post 3 of 3"]
    assert not tab.counter.over and not any(p.over for p in tab.parts)
    x_preview = next(p for p in state.previews if p.platform == "x")
    assert [p.label for p in x_preview.parts] == ["1 of 3", "2 of 3", "3 of 3"] and x_preview.problems == []

    state.edit_part("x", 1, "A new ending 3/3")
    state.commit_variant()
    with session_scope() as session:
        (variant,) = reading.get_post(session, team_id=team_id, user_id=ada.id, post_id=state.post_id).variants
    assert variant.thread_parts[1] == "A new ending 3/3"

    state.use_main_text("x")
    assert not next(t for t in state.tabs if t.platform == "x").has_variant
    assert any("X allows 280" in p for p in state.problems)  # validation before scheduling


def test_uploads_are_checked_by_content_and_names_cannot_escape(ada):
    state = compose(ada, "With a picture")
    files = [FakeUpload("../../etc/passwd.png", png()), FakeUpload("cat.png", b"<html><script>alert(1)</script>"),
             FakeUpload("empty.gif", b"")]
    result = asyncio.run(state.upload(files))
    assert "Some files were not attached" in toast_text(result)
    (media,) = db_all(select(Media))
    assert media.filename == "passwd.png" and ".." not in media.storage_key and media.content_type == "image/png"
    assert [m.name for m in state.media] == ["passwd.png"]
    assert any(e.startswith("cat.png: Only JPEG, PNG") for e in state.upload_errors)
    assert any(e.startswith("empty.gif: The file is empty") for e in state.upload_errors)
    assert db_get(Post, state.post_id).text == "With a picture"  # nothing already saved is lost

    state.set_alt(media.id, "A red square")
    assert db_get(Media, media.id).alt_text == "A red square"
    state.remove_media(media.id)
    assert state.media == []


# ---- scheduling by role -------------------------------------------------------------------------

def test_owner_schedules_in_the_chosen_time_zone_and_goes_to_the_calendar(ada):
    state = compose(ada)
    at = future(30, "America/New_York")
    result = state.schedule({"date": at.date().isoformat(), "time": at.strftime("%H:%M"), "timezone": "America/New_York"})
    assert state.schedule_error == ""
    post = db_get(Post, state.post_id)
    assert post.status == "scheduled" and post.timezone == "America/New_York"
    assert post.scheduled_at == at.astimezone(UTC)
    assert redirect_target(result).startswith("/schedule?date=")


def test_schedule_shows_validation_errors_before_anything_is_scheduled(ada):
    state = compose(ada, "Soon")
    past = future(-3)
    state.schedule({"date": past.date().isoformat(), "time": past.strftime("%H:%M"), "timezone": "UTC"})
    assert "in the past" in state.schedule_error
    state.schedule({"date": "not a date", "time": "25:99", "timezone": "UTC"})
    assert "not a date" in state.schedule_error
    state.commit_text("")
    at = future()
    state.schedule({"date": at.date().isoformat(), "time": at.strftime("%H:%M"), "timezone": "UTC"})
    assert "write something" in state.schedule_error
    assert db_get(Post, state.post_id).status == "draft"


def test_editor_scheduling_asks_for_approval_and_cannot_publish_directly(team):
    team_id, ed, vi = team
    state = compose(ed, "Editor's post")
    assert not state.is_admin and state.can_write
    state.publish_now()
    assert "Only an admin or owner" in state.schedule_error
    at = future()
    result = state.schedule({"date": at.date().isoformat(), "time": at.strftime("%H:%M"), "timezone": "UTC"})
    assert "approval" in toast_text(result)
    assert db_get(Post, state.post_id).status == "pending_approval"


def test_viewer_gets_a_read_only_composer(team):
    team_id, ed, vi = team
    state = make_state(ComposeState, token=login_token(vi), path="/schedule/compose")
    state.load()
    assert not state.can_edit and "Viewers" in state.read_only_reason
    assert state.edit_text("sneaky") is None
    state.commit_text("sneaky")
    assert db_all(select(Post)) == []


def test_recurrence_and_duplicate(ada):
    state = compose(ada, "Every week")
    state.set_repeat_on(True)
    state.set_repeat_every("2")
    post = db_get(Post, state.post_id)
    assert (post.recurrence_every, post.recurrence_unit) == (2, "week")
    state.set_repeat_every("0")
    assert "Repeat every 1 to" in state.schedule_error
    state.set_repeat_on(False)
    assert db_get(Post, state.post_id).recurrence_every is None
    result = state.duplicate()
    copy_id = int(redirect_target(result).rsplit("=", 1)[1])
    assert copy_id != state.post_id and db_get(Post, copy_id).text == "Every week"


# ---- the calendar ---------------------------------------------------------------------------------

def scheduled_post(user, when: datetime, text: str = "On the calendar") -> int:
    state = compose(user, text)
    state.schedule({"date": when.date().isoformat(), "time": when.strftime("%H:%M"), "timezone": str(when.tzinfo)})
    assert state.schedule_error == "", state.schedule_error
    return state.post_id


def test_calendar_views_place_the_post_and_a_drop_reschedules_it_to_the_minute(ada):
    at = future(48)
    post_id = scheduled_post(ada, at)
    cal = make_state(ScheduleState, token=login_token(ada), path="/schedule",
                     query={"date": at.date().isoformat(), "view": "day"})
    cal.load()
    assert cal.has_posts and cal.range_count == 1 and cal.error == ""
    cells = [(c.zone, p) for row in cal.grid_rows for c in row.cells for p in c.posts]
    ((zone, chip),) = cells
    assert zone == f"{at.date().isoformat()}T{at.hour:02d}:{at.minute // 15 * 15:02d}"
    assert chip.id == post_id and chip.draggable and chip.status_label == "scheduled"
    assert [b.status_label for b in chip.badges] == ["scheduled"]
    assert len(cal.grid_rows) == 96 and cal.grid_rows[0].label == "00:00"  # 15-minute rows

    target = at + timedelta(days=1)
    zone = f"{target.date().isoformat()}T10:15"
    result = cal.drop_post(str(post_id), zone, 5000, 300)
    assert cal.drop_open and (cal.drop_date, cal.drop_time) == (target.date().isoformat(), "10:15")
    assert "drop-time" in script_of(result)
    assert cal.drop_left == "min(5000px, calc(100vw - 316px))"
    cal.confirm_move({"date": target.date().isoformat(), "time": "10:17"})
    assert not cal.drop_open and cal.drop_error == ""
    post = db_get(Post, post_id)
    assert post.scheduled_at == datetime.combine(target.date(), datetime.min.time().replace(hour=10, minute=17), tzinfo=UTC)
    assert {t.scheduled_at for t in db_all(select(PostTarget))} == {post.scheduled_at}

    for result in (cal.set_view("week"), cal.go(1), cal.go(-1), cal.go_today(), cal.toggle_filters(),
                   cal.open_day(at.date().isoformat()), cal.clear_filters(), cal.set_view("week")):
        assert None not in as_list(result)  # Reflex refuses a list with None in it
    assert len(cal.grid_rows) == 24 and len(cal.head_days) == 7
    cal.set_view("month")
    assert len(cal.month_days) in (35, 42) and cal.month_days[0].date <= at.date().isoformat()
    cal.set_view("list")
    assert [r.id for r in cal.rows] == [post_id] and cal.total == 1


def test_a_drop_into_the_past_is_refused_and_nothing_moves(ada):
    at = future(5)
    post_id = scheduled_post(ada, at)
    cal = make_state(ScheduleState, token=login_token(ada), path="/schedule", query={"date": at.date().isoformat()})
    cal.load()
    cal.drop_post(str(post_id), "2001-01-01T10:00", 10, 10)
    cal.confirm_move({"date": "2001-01-01", "time": "10:00"})
    assert "in the past" in cal.drop_error and cal.drop_open
    assert db_get(Post, post_id).scheduled_at == at.astimezone(UTC)
    assert "cannot be moved" in toast_text(cal.drop_post("999999", "2030-01-01", 0, 0))
    assert "no longer exists" in toast_text(cal.drop_post("<script>", "2030-01-01", 0, 0))


def test_empty_calendar_says_so_and_filters_narrow_the_list(ada):
    cal = make_state(ScheduleState, token=login_token(ada), path="/schedule")
    cal.load()
    assert cal.loaded and not cal.has_posts
    first = compose(ada, "alpha post").post_id
    second = compose(ada, "beta 100% _post_ with 'quotes'")
    second.save_tags("launch")
    cal.set_view("list")
    assert cal.has_posts and cal.total == 2
    cal.search({"q": "100%"})
    assert [r.id for r in cal.rows] == [second.post_id]
    cal.search({"q": "'; DROP TABLE posts; --"})
    assert cal.rows == [] and cal.total == 0
    cal.clear_filters()
    cal.set_filter("status", "not-a-status")
    assert cal.f_status == "" and cal.total == 2
    assert cal.tag_options == ["launch"]
    assert first in [p.id for p in publishing_list(ada)]


def test_the_tag_filter_narrows_the_list_and_the_calendar(ada):
    tagged = compose(ada, "tagged")
    tagged.save_tags("launch")
    compose(ada, "untagged")
    cal = make_state(ScheduleState, token=login_token(ada), path="/schedule", query={"view": "list"})
    cal.load()
    cal.set_filter("tag", "#launch")
    assert cal.f_tag == "launch" and [r.id for r in cal.rows] == [tagged.post_id]


def publishing_list(user):
    with session_scope() as session:
        return reading.list_posts(session, team_id=personal_team(user), user_id=user.id).items


def test_the_panel_shows_status_errors_and_links_and_offers_actions_by_role(team):
    team_id, ed, vi = team
    ada_id = db_all(select(TeamMember.user_id).where(TeamMember.team_id == team_id, TeamMember.role == "owner"))[0]
    ed_state = compose(ed, "Please approve me")
    post_id = ed_state.post_id
    ed_cal = make_state(ScheduleState, token=login_token(ed), path="/schedule")
    ed_cal.load()
    ed_cal.open_post(post_id)
    assert ed_cal.panel_open and ed_cal.panel.can_submit and not ed_cal.panel.can_approve
    assert not ed_cal.panel.can_publish_now
    ed_cal.approve_post()
    assert "Only an admin or owner" in ed_cal.panel_error
    ed_cal.submit_post()
    assert ed_cal.panel.status == "pending_approval" and ed_cal.panel_error == ""

    vi_cal = make_state(ScheduleState, token=login_token(vi), path="/schedule", query={"post": str(post_id)})
    events = as_list(vi_cal.load())
    assert "open_post" in kinds(events)
    vi_cal.open_post(post_id)
    assert vi_cal.panel.read_only and not vi_cal.panel.can_approve
    vi_cal.reject_post({"reason": "no"})
    assert "editor" in vi_cal.panel_error or "not" in vi_cal.panel_error
    assert db_get(Post, post_id).status == "pending_approval"

    from socialhub.identity.models import User
    owner = db_get(User, ada_id)
    owner_cal = make_state(ScheduleState, token=login_token(owner), path="/schedule")
    owner_cal.load()
    owner_cal.open_post(post_id)
    assert owner_cal.panel.can_approve and owner_cal.panel.can_publish_now
    owner_cal.reject_post({"reason": "   "})
    assert "cannot be empty" in owner_cal.panel_error
    owner_cal.reject_post({"reason": HOSTILE})
    assert db_get(Post, post_id).status == "draft"
    assert db_all(select(PostComment.body).where(PostComment.kind == "rejected")) == [HOSTILE]
    assert owner_cal.panel.comments[-1].text == HOSTILE  # shown as text by the page

    at = future(3)
    ed_state.schedule({"date": at.date().isoformat(), "time": at.strftime("%H:%M"), "timezone": "UTC"})
    owner_cal.open_post(post_id)
    owner_cal.approve_post()
    assert db_get(Post, post_id).status == "scheduled" and owner_cal.panel.status == "scheduled"
    assert owner_cal.panel.can_reschedule and owner_cal.panel.can_cancel
    assert any(a.text.startswith("Approved") for a in owner_cal.panel.activity)

    # A failure is shown with its error; a published hub post says where it is, web links only.
    with session_scope() as session:
        target = session.exec(select(PostTarget).where(PostTarget.post_id == post_id)).one()
        target.status, target.last_error, target.url = "failed", "Bluesky said: <b>nope</b>", "javascript:alert(1)"
        session.add(target)
        status.refresh_post_statuses(session, post_ids=[post_id])
    owner_cal.open_post(post_id)
    (row,) = owner_cal.panel.targets
    assert (row.status_label, row.error, row.url) == ("failed", "Bluesky said: <b>nope</b>", "")
    assert owner_cal.panel.status == "failed" and owner_cal.panel.can_retry
    owner_cal.retry_post()
    assert db_get(Post, post_id).status in ("scheduled", "publishing")


def test_missed_post_can_be_published_now_or_rescheduled(ada):
    at = future(2)
    post_id = scheduled_post(ada, at)
    with session_scope() as session:
        for target in session.exec(select(PostTarget).where(PostTarget.post_id == post_id)):
            target.status, target.due_at = "missed", None
            session.add(target)
        status.refresh_post_statuses(session, post_ids=[post_id])
    cal = make_state(ScheduleState, token=login_token(ada), path="/schedule")
    cal.load()
    cal.open_post(post_id)
    assert cal.panel.status == "missed" and cal.panel.can_publish_now and cal.panel.can_reschedule
    new = future(6)
    cal.reschedule({"date": new.date().isoformat(), "time": new.strftime("%H:%M")})
    assert cal.panel_error == ""
    post = db_get(Post, post_id)
    assert post.status == "scheduled" and post.scheduled_at == new.astimezone(UTC)


# ---- live updates -------------------------------------------------------------------------------

class FakeApp:
    def __init__(self, root):
        self.root = root

    @asynccontextmanager
    async def modify_state(self, token):
        yield self.root


def test_a_posts_event_refreshes_the_open_calendar_without_a_reload(ada):
    at = future(1)
    post_id = scheduled_post(ada, at)
    root = State(_reflex_internal_init=True)
    root.router_data = root._update_router_vars({
        "headers": {"cookie": f"sh_session={login_token(ada)}", "origin": "http://localhost:3000"}, "ip": "1.2.3.4",
        "token": "client-token-1", "sid": "sid-1", "pathname": "/schedule", "asPath": "/schedule", "query": {}}, {})
    shell = root.get_substate(AppState.get_full_name().split("."))
    shell.guard()
    cal = root.get_substate(ScheduleState.get_full_name().split("."))
    cal.load()
    cal.open_post(post_id)
    assert cal.agenda and [p.status for d in cal.agenda for p in d.posts] == ["scheduled"]

    with session_scope() as session:  # the scheduler publishes it (another process, in real life)
        for target in session.exec(select(PostTarget).where(PostTarget.post_id == post_id)):
            target.status, target.url, target.platform_post_id = "published", "https://example.com/p/1", "1"
            session.add(target)
        status.refresh_post_statuses(session, post_ids=[post_id])
    event = {"kind": status.EVENT_KIND, "user_ids": [ada.id],
             "data": {"team_id": personal_team(ada), "post_ids": [post_id]}}
    asyncio.run(realtime._deliver(FakeApp(root), event))
    assert [p.status_label for d in cal.agenda for p in d.posts] == ["published"]
    assert cal.panel.status == "published" and cal.panel.targets[0].url == "https://example.com/p/1"

    # Another team's event, or a browser on another page, changes nothing.
    with session_scope() as session:
        session.exec(select(Post).where(Post.id == post_id)).one().status = "failed"
    asyncio.run(realtime._deliver(FakeApp(root), {**event, "data": {"team_id": 999999, "post_ids": [post_id]}}))
    assert cal.panel.status == "published"


def test_a_status_change_in_a_team_of_800_is_announced_and_reaches_a_member_s_open_calendar(ada):
    """The event names the team, not its 800 members (that list would not fit in a NOTIFY
    payload and would fail the publisher's transaction); the listener looks the members up."""
    import psycopg
    from sqlalchemy import insert

    from socialhub.core import db, events
    from socialhub.identity.models import User

    team_id = personal_team(ada)
    with session_scope() as session:
        # Ids as a long-running instance has them (eight digits): 800 of them are over 8 kB.
        ids = session.execute(insert(User).returning(User.id), [
            {"id": 10_000_000 + i, "email": f"member{i}@example.com", "name": f"Member {i}", "password_hash": "!",
             "timezone": "UTC", "theme": "system", "is_demo": False} for i in range(799)]).scalars().all()
        session.execute(insert(TeamMember), [{"team_id": team_id, "user_id": i, "role": "viewer"} for i in ids])
    with session_scope() as session:
        assert len(teams.team_member_ids(session, team_id=team_id)) == 800
    post_id = scheduled_post(ada, future(1))
    root = State(_reflex_internal_init=True)
    root.router_data = root._update_router_vars({
        "headers": {"cookie": f"sh_session={login_token(ada)}", "origin": "http://localhost:3000"}, "ip": "1.2.3.4",
        "token": "client-token-1", "sid": "sid-1", "pathname": "/schedule", "asPath": "/schedule", "query": {}}, {})
    root.get_substate(AppState.get_full_name().split(".")).guard()
    cal = root.get_substate(ScheduleState.get_full_name().split("."))
    cal.load()
    cal.open_post(post_id)
    assert cal.panel.status == "scheduled"

    with psycopg.connect(db.libpq_url(db.database_url()), autocommit=True) as listener:
        listener.execute(f"LISTEN {events.CHANNEL}")
        with session_scope() as session:  # the publisher's transaction
            for target in session.exec(select(PostTarget).where(PostTarget.post_id == post_id)):
                target.status, target.url, target.platform_post_id = "published", "https://example.com/p/2", "2"
                session.add(target)
            changes = status.refresh_post_statuses(session, post_ids=[post_id])
            status.announce(session, team_post_ids={team_id: [post_id]}, changes=changes)
        notes = list(listener.notifies(timeout=5, stop_after=1))
    assert len(notes) == 1 and len(notes[0].payload) < 1000
    event = events.parse(notes[0].payload)
    assert event["team_ids"] == [team_id] and event["user_ids"] == []
    asyncio.run(realtime._deliver(FakeApp(root), event))
    assert cal.panel.status == "published" and cal.panel.targets[0].url == "https://example.com/p/2"


def test_an_event_for_more_users_than_one_notify_holds_is_split():
    from socialhub.core import events

    parts = events.payloads(kind="timeline", user_ids=range(1_000_000, 1_003_000), data={"post_ids": [1, 2]})
    assert len(parts) > 1 and all(len(p.encode()) <= events.MAX_PAYLOAD_BYTES for p in parts)
    users = [u for p in parts for u in events.parse(p)["user_ids"]]
    assert users == list(range(1_000_000, 1_003_000))


# ---- accounts -----------------------------------------------------------------------------------

def test_accounts_page_connects_the_hub_and_edits_queue_times(database_url):
    eve = sign_up("Eve")
    state = make_state(AccountsState, token=login_token(eve), path="/settings/accounts")
    state.load()
    assert state.can_manage and not state.has_hub and state.accounts == []
    state.connect_hub()
    assert state.has_hub and [a.platform for a in state.accounts] == ["hub"]
    account_id = state.accounts[0].id
    state.add_slot(account_id, {"day": "weekdays", "time": "09:30"})
    assert [s.day for s in state.accounts[0].slots] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
    state.add_slot(account_id, {"day": "6", "time": "7 o'clock"})
    assert "is not a time" in state.slot_error
    state.remove_slot(account_id, "0|09:30")
    assert len(db_all(select(TimeSlot))) == 4
    state.set_timezone(account_id, "Europe/Berlin")
    assert db_get(PlatformAccount, account_id).timezone == "Europe/Berlin"
    state.set_timezone(account_id, "Mars/Olympus")
    assert "time zone" in state.error

    assert "window.location.assign" in script_of(state.start_mastodon({"instance": "@eve@mastodon.social"}))
    assert "/oauth/mastodon/start?team_id=" in script_of(state.start_mastodon({"instance": "mastodon.social"}))
    state.start_mastodon({"instance": "javascript:alert(1)"})
    assert state.mastodon_error
    assert "/oauth/x/start?team_id=" in script_of(state.start_oauth("x"))
    state.ask_disconnect(account_id)
    state.disconnect()
    assert db_get(PlatformAccount, account_id).status == "disconnected" and state.accounts == []


def test_accounts_page_shows_oauth_results_and_needs_reconnect(ada):
    assert connect_result_path({"connected": "x", "handles": "@ada"}) == "/settings/accounts?connected=x&handles=%40ada"
    assert connect_result_path({}) is None
    card = make_state(AccountsState, token=login_token(ada), path="/settings",
                      query={"connect_error": "Bluesky <b>refused</b>"})
    assert redirect_target(card.load_card()).startswith("/settings/accounts?connect_error=")
    state = make_state(AccountsState, token=login_token(ada), path="/settings/accounts",
                       query={"connect_error": "Bluesky <b>refused</b>"})
    state.load()
    assert state.error == "Bluesky <b>refused</b>"  # shown as text
    team_id = personal_team(ada)
    bsky = connect(team_id, ada.id, "bluesky", "did:plc:ada", "ada.bsky.social")
    with session_scope() as session:
        platform_accounts.mark_needs_reconnect(session, account=session.get(PlatformAccount, bsky), reason="token revoked")
    state.load()
    row = next(a for a in state.accounts if a.id == bsky)
    assert row.needs_reconnect and row.detail == "token revoked" and state.needs_reconnect == 1
    assert "f-app_password" in script_of(state.reconnect(bsky)) and state.bluesky_handle == "ada.bsky.social"


def test_viewers_see_accounts_but_cannot_change_them(team):
    team_id, ed, vi = team
    state = make_state(AccountsState, token=login_token(vi), path="/settings/accounts")
    state.load()
    assert not state.can_manage and [a.platform for a in state.accounts] == ["hub"]
    state.add_slot(state.accounts[0].id, {"day": "all", "time": "10:00"})
    assert "admin" in state.slot_error and db_all(select(TimeSlot)) == []


# ---- one team never reaches another ---------------------------------------------------------------

def test_a_user_of_another_team_cannot_load_or_change_the_post_through_any_state(ada):
    at = future(24)
    post_id = scheduled_post(ada, at, "Ada's secret plan")
    ada_team = personal_team(ada)
    ada_account = db_all(select(PlatformAccount.id).where(PlatformAccount.team_id == ada_team))[0]
    before = db_get(Post, post_id)
    mallory = sign_up("Mallory")
    hub(personal_team(mallory), mallory.id)
    token = login_token(mallory)

    cal = make_state(ScheduleState, token=token, path="/schedule", query={"post": str(post_id),
                                                                         "date": at.date().isoformat()})
    cal._team_id = ada_team  # a stale or tampered state: the cookie decides
    cal.load()
    assert cal._team_id == personal_team(mallory) and not cal.has_posts
    cal.open_post(post_id)
    assert not cal.panel_open and cal.panel.text == ""
    cal.panel.id = post_id  # pretend the panel showed it anyway
    for action in (cal.approve_post, cal.publish_now, cal.cancel_post, cal.unschedule, cal.delete_post,
                   cal.retry_post, cal.duplicate_post):
        action()
        assert "does not exist or belongs to another team" in cal.panel_error or "Only" in cal.panel_error
    cal.reschedule({"date": "2031-01-01", "time": "10:00"})
    cal._movable = {post_id: before.scheduled_at.isoformat()}
    cal.drop_post(str(post_id), "2031-01-01T10:00", 0, 0)
    cal.confirm_move({"date": "2031-01-01", "time": "10:00"})
    assert "another team" in cal.drop_error

    composer = make_state(ComposeState, token=token, path="/schedule/compose", query={"post": str(post_id)})
    composer.load()
    assert not composer.can_edit and "another team" in composer.read_only_reason
    assert composer.text_value == "" and composer.previews == []
    composer.commit_text("Mallory was here")
    composer.post_id = post_id
    composer.can_edit = True
    composer.commit_text("Mallory was here!")
    assert "another team" in composer.save_error
    composer.schedule({"date": "2031-01-01", "time": "10:00", "timezone": "UTC"})
    assert "another team" in composer.save_error + composer.schedule_error

    accounts = make_state(AccountsState, token=token, path="/settings/accounts")
    accounts.load()
    accounts.set_timezone(ada_account, "Asia/Tokyo")
    assert "another team" in accounts.error

    after = db_get(Post, post_id)
    assert (after.text, after.status, after.scheduled_at, after.version) == (
        before.text, before.status, before.scheduled_at, before.version)
    assert db_get(PlatformAccount, ada_account).timezone == "UTC"
    assert db_all(select(Post.text).where(Post.team_id == personal_team(mallory))) == []


# ---- rows (pure) --------------------------------------------------------------------------------

def test_drop_prefill_keeps_the_time_on_a_month_day_and_never_suggests_the_past():
    now = datetime(2026, 3, 10, 14, 7, 30, tzinfo=UTC)
    original = datetime(2026, 3, 12, 8, 45, tzinfo=UTC)
    assert drop_prefill("2026-03-20", original=original, tz="Europe/Berlin", now=now) == ("2026-03-20", "09:45")
    assert drop_prefill("2026-03-10T15:00", original=original, tz="UTC", now=now) == ("2026-03-10", "15:00")
    assert drop_prefill("2026-03-10T14:00", original=original, tz="UTC", now=now) == ("2026-03-10", "14:08")
    with pytest.raises(ValueError):
        drop_prefill("<script>", original=original, tz="UTC", now=now)


def test_day_view_rows_follow_local_midnight_across_dst():
    # 29 March 2026 in Berlin has 23 hours; the grid still shows 96 local quarter rows.
    cal = build_calendar("day", date(2026, 3, 29), [], tz="Europe/Berlin", role="owner",
                         now=datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert len(cal.grid_rows) == 96 and cal.grid_rows[-1].cells[0].zone == "2026-03-29T23:45"
    assert sum(c.now for row in cal.grid_rows for c in row.cells) == 1
    assert safe_url("javascript:alert(1)") == "" and safe_url("https://x.com/a") == "https://x.com/a"
    assert times.to_utc("2026-03-29T02:30", "Europe/Berlin").hour == 1  # the skipped hour moves on
