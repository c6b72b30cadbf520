"""Approvals: editors submit, admins and owners approve or reject with a comment, viewers only read."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from socialhub.core.models import utcnow
from socialhub.identity.models import Notification
from socialhub.schedule.models import Post, PostComment
from socialhub.schedule.publisher import engine
from socialhub.schedule import approvals, posts, reading, timing
from socialhub.core.errors import PermissionDenied, ValidationError
from tests.schedule.support import (  # noqa: F401  (fixtures)
    crew,
    fast_publishing,
    hub_account,
    status_of,
    targets_of,
)


def editor_post(session, crew, text="Please approve me"):
    hub_account(session, crew)
    post = posts.create_post(session, team_id=crew.team.id, author_id=crew.editor.id, text=text)
    session.commit()
    return post


def test_an_editors_schedule_becomes_a_request_for_approval(session, crew):
    post = editor_post(session, crew)
    when = utcnow() + timedelta(hours=5)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, when=when)
    session.commit()
    assert status_of(session, post) == "pending_approval"
    assert [t.status for t in targets_of(session, post)] == ["draft"], "nothing is armed before approval"
    assert engine.publish_due(now=when + timedelta(seconds=1)) == []
    asked = session.exec(select(Notification.user_id).where(Notification.kind == "approval_requested")).all()
    assert sorted(asked) == sorted([crew.owner.id, crew.admin.id])


def test_approval_schedules_the_post_for_the_requested_time(session, crew):
    post = editor_post(session, crew)
    when = utcnow() + timedelta(hours=5)
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, when=when)
    approvals.approve_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id, note="Nice")
    session.commit()
    fresh = session.get(Post, post.id)
    assert fresh.status == "scheduled" and fresh.approved_by_id == crew.admin.id
    assert [(t.status, t.due_at) for t in targets_of(session, post)] == [("pending", when)]
    assert session.exec(select(Notification).where(Notification.user_id == crew.editor.id, Notification.kind == "post_approved")).one()
    assert [c.kind for c in approvals.list_comments(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id)] == \
        ["submitted", "approved"]


def test_approving_a_post_without_a_time_leaves_it_approved_until_one_is_picked(session, crew):
    post = editor_post(session, crew)
    approvals.submit_for_approval(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, note="asap?")
    approvals.approve_post(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id)
    session.commit()
    assert status_of(session, post) == "approved"
    timing.schedule_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id,
                             when=utcnow() + timedelta(hours=1))
    session.commit()
    assert status_of(session, post) == "scheduled"


def test_rejection_needs_a_reason_and_sends_the_post_back_to_its_author(session, crew):
    post = editor_post(session, crew)
    approvals.submit_for_approval(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    with pytest.raises(ValidationError, match="cannot be empty"):
        approvals.reject_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id, reason="  ")
    approvals.reject_post(session, team_id=crew.team.id, actor_id=crew.admin.id, post_id=post.id,
                                     reason="Tone it down, please.")
    session.commit()
    assert status_of(session, post) == "draft"
    note = session.exec(select(Notification).where(Notification.user_id == crew.editor.id, Notification.kind == "post_rejected")).one()
    assert note.body == "Tone it down, please."
    rejection = session.exec(select(PostComment).where(PostComment.post_id == post.id, PostComment.kind == "rejected")).one()
    assert rejection.author_id == crew.admin.id
    # The editor can fix it and submit again.
    posts.update_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id, text="Calmer now")
    approvals.submit_for_approval(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    session.commit()
    assert status_of(session, post) == "pending_approval"


def test_only_admins_and_owners_approve_reject_or_publish_directly(session, crew):
    post = editor_post(session, crew)
    approvals.submit_for_approval(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    session.commit()
    for actor in (crew.editor, crew.viewer):
        with pytest.raises(PermissionDenied):
            approvals.approve_post(session, team_id=crew.team.id, actor_id=actor.id, post_id=post.id)
        with pytest.raises(PermissionDenied):
            approvals.reject_post(session, team_id=crew.team.id, actor_id=actor.id, post_id=post.id, reason="no")
        with pytest.raises(PermissionDenied):
            timing.publish_now(session, team_id=crew.team.id, actor_id=actor.id, post_id=post.id)
    # An owner may skip the queue: publish the pending post directly.
    timing.publish_now(session, team_id=crew.team.id, actor_id=crew.owner.id, post_id=post.id)
    session.commit()
    assert [o.status for o in engine.publish_due()] == ["published"]
    assert session.get(Post, post.id).approved_by_id == crew.owner.id


def test_viewers_can_read_comments_but_not_write_them(session, crew):
    post = editor_post(session, crew)
    approvals.add_comment(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id,
                                     body="<b>bold</b> idea")
    session.commit()
    with pytest.raises(PermissionDenied):
        approvals.add_comment(session, team_id=crew.team.id, actor_id=crew.viewer.id, post_id=post.id, body="me too")
    detail = reading.get_post(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id)
    assert [c.body for c in detail.comments] == ["<b>bold</b> idea"] and not detail.can_approve
    assert reading.get_post(session, team_id=crew.team.id, user_id=crew.viewer.id, post_id=post.id).summary.version == post.version


def test_editors_can_withdraw_their_own_request(session, crew):
    post = editor_post(session, crew)
    approvals.submit_for_approval(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    timing.unschedule_post(session, team_id=crew.team.id, actor_id=crew.editor.id, post_id=post.id)
    session.commit()
    assert status_of(session, post) == "draft"
    assert [p.id for p in approvals.list_pending_approval(session, team_id=crew.team.id, user_id=crew.admin.id)] == []
