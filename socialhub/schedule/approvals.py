"""Approval workflow and comments on posts.

- Editors submit a post for approval (with the time they want, if any): `pending_approval`.
- Admins and owners approve it (it is then scheduled for that time, or `approved` and waiting
  for one), reject it with a comment (back to `draft`, the author is told), or publish directly
  (`timing.publish_now`).
- Viewers read posts, comments and activity, and change nothing.
Every step is a comment of its kind (submitted, approved, rejected) and a line of activity.
"""

from __future__ import annotations

from sqlmodel import Session, select

from socialhub.core.models import utcnow
from socialhub.identity.models import TeamMember, User
from socialhub.schedule.models import Post, PostComment
from socialhub.identity import notifications, teams
from socialhub.core.errors import PermissionDenied, ValidationError
from socialhub.schedule.content import check_publishable
from socialhub.schedule.lifecycle import PAST_GRACE, arm_targets
from socialhub.schedule.posts import load_post, require_editable, touch

MAX_COMMENT = 5000


def _clean_body(body: str, *, required: bool, what: str = "A comment") -> str:
    body = (body or "").replace("\x00", "").strip()
    if required and not body:
        raise ValidationError(f"{what} cannot be empty.")
    if len(body) > MAX_COMMENT:
        raise ValidationError(f"{what} can have at most {MAX_COMMENT} characters.")
    return body


def _approvers(session: Session, team_id: int) -> list[int]:
    return list(session.exec(select(TeamMember.user_id).where(TeamMember.team_id == team_id,
                                                              TeamMember.role.in_(("owner", "admin")))))


def _preview(post: Post) -> str:
    return " ".join(post.text.split())[:60] or f"Post #{post.id}"


def submit_for_approval(session: Session, *, team_id: int, actor_id: int, post_id: int, note: str = "") -> Post:
    """Ask the team's admins and owners to approve the post (every platform check must pass)."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if post.status not in ("draft", "pending_approval"):
        raise ValidationError("Only drafts can be submitted for approval.")
    require_editable(session, post, role)
    check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    note = _clean_body(note, required=False)
    post.status = "pending_approval"
    session.add(PostComment(post_id=post.id, author_id=actor_id, kind="submitted", body=note))
    touch(session, post, actor_id=actor_id, kind="submitted", message="Submitted for approval." + (f" “{note[:200]}”" if note else ""))
    author = session.get(User, actor_id)
    for user_id in _approvers(session, team_id):
        if user_id != actor_id:
            notifications.notify(session, user_id=user_id, kind="approval_requested",
                                 title=f"{author.name if author else 'Someone'} asks you to approve “{_preview(post)}”",
                                 link=f"/schedule?post={post.id}")
    return post


def approve_post(session: Session, *, team_id: int, actor_id: int, post_id: int, note: str = "") -> Post:
    """Approve: the post is scheduled for its requested time, or waits (`approved`) for one."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if not teams.role_at_least(role, "admin"):
        raise PermissionDenied("Only an admin or owner can approve posts.")
    if post.status != "pending_approval":
        raise ValidationError("This post is not waiting for approval.")
    check_publishable(session, team_id=team_id, user_id=actor_id, post_id=post.id)
    note = _clean_body(note, required=False)
    now = utcnow()
    post.approved_by_id, post.approved_at = actor_id, now
    session.add(PostComment(post_id=post.id, author_id=actor_id, kind="approved", body=note))
    if post.scheduled_at is not None and post.scheduled_at >= now - PAST_GRACE:
        arm_targets(session, post, actor_id=actor_id, message="Approved and scheduled." + (f" “{note[:200]}”" if note else ""))
        outcome = "is scheduled"
    else:
        post.status = "approved"
        late = post.scheduled_at is not None
        touch(session, post, actor_id=actor_id, kind="approved",
              message="Approved." + (" Its requested time has passed: pick a new one." if late else " Pick a time or add it to the queue."))
        outcome = "is approved; it needs a time" if not late else "is approved, but its time has passed: pick a new one"
    if post.author_id and post.author_id != actor_id:
        notifications.notify(session, user_id=post.author_id, kind="post_approved",
                             title=f"“{_preview(post)}” {outcome}", body=note, link=f"/schedule?post={post.id}")
    return post


def reject_post(session: Session, *, team_id: int, actor_id: int, post_id: int, reason: str) -> Post:
    """Send the post back to its author as a draft, with the reason as a comment."""
    post, role = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor", lock=True)
    if not teams.role_at_least(role, "admin"):
        raise PermissionDenied("Only an admin or owner can reject posts.")
    if post.status != "pending_approval":
        raise ValidationError("This post is not waiting for approval.")
    reason = _clean_body(reason, required=True, what="The reason for rejecting")
    post.status = "draft"
    session.add(PostComment(post_id=post.id, author_id=actor_id, kind="rejected", body=reason))
    touch(session, post, actor_id=actor_id, kind="rejected", message=f"Rejected: “{reason[:300]}”")
    if post.author_id and post.author_id != actor_id:
        notifications.notify(session, user_id=post.author_id, kind="post_rejected",
                             title=f"“{_preview(post)}” needs changes", body=reason, link=f"/schedule?post={post.id}")
    return post


def add_comment(session: Session, *, team_id: int, actor_id: int, post_id: int, body: str) -> PostComment:
    """A comment in the post's discussion (editors, admins and owners; viewers only read)."""
    post, _ = load_post(session, team_id=team_id, user_id=actor_id, post_id=post_id, minimum="editor")
    comment = PostComment(post_id=post.id, author_id=actor_id, kind="comment", body=_clean_body(body, required=True))
    session.add(comment)
    session.flush()
    touch(session, post, actor_id=actor_id, kind="commented", message="Commented.", bump=False)
    return comment


def list_comments(session: Session, *, team_id: int, user_id: int, post_id: int) -> list[PostComment]:
    post, _ = load_post(session, team_id=team_id, user_id=user_id, post_id=post_id)
    return list(session.exec(select(PostComment).where(PostComment.post_id == post.id).order_by(PostComment.id)))


def list_pending_approval(session: Session, *, team_id: int, user_id: int) -> list[Post]:
    """Posts waiting for approval in the team, oldest first."""
    teams.require_role(session, team_id=team_id, user_id=user_id, minimum="viewer")
    return list(session.exec(select(Post).where(Post.team_id == team_id, Post.status == "pending_approval")
                             .order_by(Post.updated_at)))
