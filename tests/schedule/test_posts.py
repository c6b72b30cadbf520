"""Posts: drafts and autosave, variants, duplicate and delete, roles, team isolation, hostile
input, and reading them back for the calendar and the list."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from socialhub.core.models import utcnow
from socialhub.schedule.models import Post, PostActivity, PostTarget, PostVariant
from socialhub.channels import accounts
from socialhub.schedule import posts, reading, timing
from socialhub.core.errors import NotFound, PermissionDenied, ValidationError
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    fast_publishing,
    hub_account,
    make_crew,
)


def test_a_new_draft_goes_to_the_hub_by_default(session, crew):
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="Hello")
    session.commit()
    [target] = session.exec(select(PostTarget).where(PostTarget.post_id == post.id)).all()
    account = accounts.get_account(session, team_id=crew.team.id, user_id=crew.owner.id, account_id=target.account_id)
    assert account.platform == "hub" and target.status == "draft" and target.idempotency_key.startswith("sh-")
    assert post.status == "draft" and post.timezone == "UTC"


def test_autosave_changes_only_what_is_given_and_refuses_a_stale_version(session, crew):
    hub = hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.editor.id, text="v1", account_ids=[hub.id],
                                  tags=["Launch", "#news"])
    session.commit()
    version = post.version
    posts.update_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, text="v2",
                           expected_version=version)
    session.commit()
    fresh = session.get(Post, post.id)
    assert fresh.text == "v2" and fresh.tags == ["launch", "news"] and fresh.version == version + 1
    with pytest.raises(ValidationError, match="changed this post"):
        posts.update_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, text="v3",
                               expected_version=version)
    session.rollback()


def test_variants_override_the_text_per_platform_and_per_account(session, crew):
    hub = hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="Base text", account_ids=[hub.id])
    posts.set_variant(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, platform="hub", text="Hub text")
    session.commit()
    preview = publishing_content_preview(session, crew, post)
    assert preview[0].parts[0].text == "Hub text"
    posts.set_variant(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, account_id=hub.id,
                           text="Account text", thread_parts=["second part"])
    session.commit()
    preview = publishing_content_preview(session, crew, post)
    assert [p.text for p in preview[0].parts] == ["Account text", "second part"]


def publishing_content_preview(session, crew, post):
    from socialhub.schedule import content

    return content.preview_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=post.id)


def test_duplicate_copies_content_accounts_and_variants_but_not_time_or_history(session, crew):
    hub = hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="Original",
                                  account_ids=[hub.id], tags=["a"], first_comment="first!")
    posts.set_variant(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id, platform="hub", text="Hub")
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                             when=utcnow() + timedelta(hours=1))
    session.commit()
    copy = posts.duplicate_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    session.commit()
    assert copy.id != post.id and copy.status == "draft" and copy.scheduled_at is None
    assert copy.text == "Original" and copy.tags == ["a"] and copy.first_comment == "first!" and copy.author_id == crew.editor.id
    assert session.exec(select(PostVariant.text).where(PostVariant.post_id == copy.id)).all() == ["Hub"]
    keys = session.exec(select(PostTarget.idempotency_key).where(PostTarget.post_id.in_([post.id, copy.id]))).all()
    assert len(set(keys)) == 2, "a copy never shares an idempotency key"


def test_delete_removes_drafts_and_editors_only_their_own(session, crew):
    mine = posts.create_post(session, team_id=crew.team.id, author_id=crew.editor.id, text="mine")
    theirs = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="theirs")
    session.commit()
    with pytest.raises(PermissionDenied):
        posts.delete_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=theirs.id)
    posts.delete_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=mine.id)
    session.commit()
    assert session.get(Post, mine.id) is None and session.get(Post, theirs.id) is not None


def test_viewers_read_but_cannot_write(session, crew):
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="read me")
    session.commit()
    detail = reading.get_post(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id)
    assert detail.text == "read me" and not detail.can_edit and detail.role == "viewer"
    with pytest.raises(PermissionDenied):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.viewer.id, text="nope")
    with pytest.raises(PermissionDenied):
        posts.update_post(session, team_id=crew.team.id, actor_id=crew.viewer.id, post_id=post.id, text="changed")
    with pytest.raises(PermissionDenied):
        timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.viewer.id, post_id=post.id,
                                 when=utcnow() + timedelta(hours=1))


def test_editors_cannot_change_a_scheduled_post_but_admins_can(session, crew):
    hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.editor.id, text="draft")
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id,
                             when=utcnow() + timedelta(hours=2))
    session.commit()
    with pytest.raises(PermissionDenied, match="admin or owner"):
        posts.update_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, text="sneaky")
    session.rollback()
    posts.update_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id, text="fixed typo")
    session.commit()
    assert session.get(Post, post.id).status == "scheduled"


def test_one_team_cannot_see_or_touch_another_teams_posts_or_accounts(session, crew):
    other = make_crew(session, "Rivals", prefix="Rival")
    rival_hub = hub_account(session, other)
    secret = posts.create_post(session, team_id=other.team.id, author_id=other.owner.id, text="secret plans")
    session.commit()
    # Asking through our own team: the post does not exist for us.
    with pytest.raises(NotFound):
        reading.get_post(session, team_id=crew.team.id, user_id=crew.owner.id, post_id=secret.id)
    with pytest.raises(NotFound):
        posts.update_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=secret.id, text="hijack")
    with pytest.raises(NotFound):
        timing.publish_now(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=secret.id)
    # Asking through their team: we are not members.
    with pytest.raises(NotFound):
        reading.get_post(session, team_id=other.team.id, user_id=crew.owner.id, post_id=secret.id)
    # Their account cannot be a target of our post, nor read through our team.
    with pytest.raises(NotFound):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="x", account_ids=[rival_hub.id])
    with pytest.raises(NotFound):
        accounts.get_account(session, team_id=crew.team.id, user_id=crew.owner.id, account_id=rival_hub.id)
    assert all(s.id != secret.id for s in reading.list_posts(session, team_id=crew.team.id, user_id=crew.owner.id).items)
    assert rival_hub.id not in [a.id for a in accounts.list_accounts(session, team_id=crew.team.id, user_id=crew.owner.id)]


def test_hostile_text_is_stored_verbatim_and_never_interpreted(session, crew):
    hostile = "<script>alert('x')</script> Robert'); DROP TABLE posts;-- %_\\ 💥"
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=hostile, tags=["safe"])
    session.commit()
    session.expire_all()
    assert session.get(Post, post.id).text == hostile
    found = reading.list_posts(session, team_id=crew.team.id, user_id=crew.owner.id, search="DROP TABLE posts;--").items
    assert [p.id for p in found] == [post.id]
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.owner.id, search="%").items[0].id == post.id
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.owner.id, search="_\\").total == 1
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.owner.id, search="' OR '1'='1").total == 0


def test_ten_megabytes_of_text_is_refused_with_a_clear_message(session, crew):
    with pytest.raises(ValidationError, match=r"too long: 10,485,760 characters"):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="a" * (10 * 1024 * 1024))
    with pytest.raises(ValidationError, match="NUL"):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="bad\x00byte")
    with pytest.raises(ValidationError, match="Tags"):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="x", tags=["<img src=x>"])


def test_list_filters_by_status_account_tag_and_search_and_paginates(session, crew):
    hub = hub_account(session, crew)
    for i in range(25):
        posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text=f"post {i}",
                               account_ids=[hub.id], tags=["even" if i % 2 == 0 else "odd"])
    scheduled = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="the scheduled one",
                                       account_ids=[hub.id])
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=scheduled.id,
                             when=utcnow() + timedelta(days=1))
    session.commit()
    first = reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, page=1, page_size=10)
    assert first.total == 26 and len(first.items) == 10 and first.pages == 3
    last = reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, page=3, page_size=10)
    assert len(last.items) == 6
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, status="scheduled").total == 1
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, tag="#EVEN").total == 13
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, account_id=hub.id).total == 26
    assert reading.list_posts(session, team_id=crew.team.id, user_id=crew.viewer.id, search="post 1").total == 11
    assert reading.list_tags(session, team_id=crew.team.id, user_id=crew.viewer.id) == ["even", "odd"]
    item = first.items[0]
    assert item.id == scheduled.id and item.targets[0].platform == "hub"


def test_calendar_ranges_follow_local_midnights_across_dst(session):
    start, end = reading.calendar_range("day", date(2026, 3, 29), "Europe/Berlin")
    assert (end - start) == timedelta(hours=23)  # the spring-forward day is 23 hours long
    start, end = reading.calendar_range("week", date(2026, 10, 28), "America/New_York")
    assert start.astimezone(ZoneInfo("America/New_York")).date() == date(2026, 10, 26)  # a Monday
    assert (end - start) == timedelta(days=7, hours=1)  # the week with the autumn change
    start, end = reading.calendar_range("month", date(2026, 2, 14), "UTC")
    assert (start, end) == (datetime(2026, 2, 1, tzinfo=ZoneInfo("UTC")), datetime(2026, 3, 1, tzinfo=ZoneInfo("UTC")))


def test_calendar_lists_scheduled_posts_in_range_with_per_account_status(session, crew):
    hub = hub_account(session, crew)
    inside = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="in", account_ids=[hub.id])
    outside = posts.create_post(session, team_id=crew.team.id, author_id=crew.owner.id, text="out", account_ids=[hub.id])
    base = utcnow() + timedelta(days=2)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=inside.id, when=base)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=outside.id, when=base + timedelta(days=20))
    session.commit()
    entries = reading.list_calendar(session, team_id=crew.team.id, user_id=crew.viewer.id,
                                       start=base - timedelta(days=1), end=base + timedelta(days=6))
    assert [e.id for e in entries] == [inside.id]
    assert entries[0].targets[0].status == "pending" and entries[0].status == "scheduled"
    with pytest.raises(ValidationError):
        reading.list_calendar(session, team_id=crew.team.id, user_id=crew.viewer.id, start=base, end=base + timedelta(days=400))


def test_every_change_is_in_the_activity_log_with_who_did_it(session, crew):
    hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.editor.id, text="draft")
    posts.update_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, text="better")
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id,
                             when=utcnow() + timedelta(hours=3))
    session.commit()
    lines = session.exec(select(PostActivity).where(PostActivity.post_id == post.id).order_by(PostActivity.id)).all()
    assert [line.kind for line in lines][:3] == ["created", "updated", "scheduled"]
    assert [line.actor_id for line in lines][:3] == [crew.editor.id, crew.editor.id, crew.owner.id]
    detail = reading.get_post(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id)
    assert detail.activity[0].kind in ("scheduled", "post_scheduled") and detail.activity[-1].actor_name == crew.editor.name
