"""Likes and comments on ads and remixes.

- A like is one per person and thing (an ad, or one remix of it): a unique index enforces it,
  `like`/`unlike` are idempotent, and the counters on the ad/remix change in the same
  transaction as the like row.
- Comments have replies one level deep or more (`parent_id`); bodies are cleaned of control
  characters, capped at `MAX_COMMENT` characters and rendered as text. Authors delete their
  own comments; the brand's editors may delete any on their ads.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import text
from sqlmodel import Session, select

from socialhub.core.errors import NotFound, PermissionDenied
from socialhub.identity import teams
from socialhub.identity.models import User
from socialhub.remix.ads import get_ad
from socialhub.remix.models import Ad, Remix, RemixComment, RemixLike
from socialhub.remix.text import clean

MAX_COMMENT = 2000
MAX_COMMENTS_SHOWN = 200


def _target(session: Session, ad_id: int, remix_id: int | None) -> tuple[Ad, Remix | None]:
    ad = get_ad(session, ad_id=ad_id)
    remix = None
    if remix_id:
        remix = session.get(Remix, remix_id)
        if remix is None or remix.ad_id != ad.id:
            raise NotFound("This remix does not exist.")
    return ad, remix


def set_like(session: Session, *, user_id: int, ad_id: int, remix_id: int | None = None, liked: bool = True) -> int:
    """Like or unlike; returns the new like count of the ad (or remix)."""
    ad, remix = _target(session, ad_id, remix_id)
    if liked:
        added = session.execute(text(
            "INSERT INTO remix_likes (ad_id, remix_id, user_id, created_at) VALUES (:ad, :remix, :user, now()) "
            "ON CONFLICT DO NOTHING RETURNING id"), {"ad": ad.id, "remix": remix_id, "user": user_id}).first()
        change = 1 if added else 0
    else:
        stmt = select(RemixLike).where(RemixLike.user_id == user_id, RemixLike.ad_id == ad.id,
                                       RemixLike.remix_id == remix_id if remix_id else RemixLike.remix_id.is_(None))
        row = session.exec(stmt).first()
        change = 0
        if row is not None:
            session.delete(row)
            change = -1
    table, row_id = ("remixes", remix.id) if remix else ("remix_ads", ad.id)
    count = session.execute(text(f"UPDATE {table} SET like_count = like_count + :c WHERE id = :id RETURNING like_count"),
                            {"c": change, "id": row_id}).scalar_one()
    session.expire_all()
    return count


@dataclass(frozen=True)
class CommentView:
    id: int
    parent_id: int | None
    remix_id: int | None
    author_id: int
    author_name: str
    body: str
    created_at: datetime
    depth: int


def add_comment(session: Session, *, user_id: int, ad_id: int, body: str, remix_id: int | None = None,
                parent_id: int | None = None) -> RemixComment:
    ad, _ = _target(session, ad_id, remix_id)
    body = clean(body, limit=MAX_COMMENT, what="A comment", required=True, one_line=False)
    if parent_id:
        parent = session.get(RemixComment, parent_id)
        if parent is None or parent.ad_id != ad.id:
            raise NotFound("The comment you are replying to does not exist.")
        remix_id = parent.remix_id
    comment = RemixComment(ad_id=ad.id, remix_id=remix_id, parent_id=parent_id or None, author_id=user_id, body=body)
    session.add(comment)
    session.execute(text("UPDATE remix_ads SET comment_count = comment_count + 1 WHERE id = :id"), {"id": ad.id})
    session.flush()
    return comment


def delete_comment(session: Session, *, user_id: int, comment_id: int) -> None:
    comment = session.get(RemixComment, comment_id)
    if comment is None:
        raise NotFound("This comment does not exist.")
    ad = session.get(Ad, comment.ad_id)
    if comment.author_id != user_id and not teams.role_at_least(
            teams.get_role(session, team_id=ad.team_id, user_id=user_id) or "", "editor"):
        raise PermissionDenied("Only its author or the brand's team can delete a comment.")
    removed = session.execute(text(
        "WITH RECURSIVE t AS (SELECT id FROM remix_comments WHERE id = :id UNION ALL "
        "SELECT c.id FROM remix_comments c JOIN t ON c.parent_id = t.id) SELECT count(*) FROM t"),
        {"id": comment.id}).scalar_one()
    session.delete(comment)
    session.execute(text("UPDATE remix_ads SET comment_count = greatest(0, comment_count - :n) WHERE id = :id"),
                    {"n": removed, "id": ad.id})
    session.flush()


def list_comments(session: Session, *, ad_id: int) -> list[CommentView]:
    """The ad's comments as a thread: each reply right after its parent, with its depth."""
    rows = list(session.exec(select(RemixComment, User.name).join(User, User.id == RemixComment.author_id)
                             .where(RemixComment.ad_id == ad_id).order_by(RemixComment.created_at, RemixComment.id)
                             .limit(MAX_COMMENTS_SHOWN)))
    children: dict[int | None, list] = {}
    for comment, name in rows:
        children.setdefault(comment.parent_id, []).append((comment, name))
    known = {c.id for c, _ in rows}
    out: list[CommentView] = []

    def walk(parent: int | None, depth: int) -> None:
        for comment, name in children.get(parent, []):
            out.append(CommentView(comment.id, comment.parent_id, comment.remix_id, comment.author_id, name,
                                   comment.body, comment.created_at, depth))
            walk(comment.id, depth + 1)

    walk(None, 0)
    for parent in [p for p in children if p is not None and p not in known]:  # parents beyond the limit
        walk(parent, 1)
    return out


def liked(session: Session, *, user_id: int, ad_id: int, remix_id: int | None = None) -> bool:
    stmt = select(RemixLike.id).where(RemixLike.user_id == user_id, RemixLike.ad_id == ad_id,
                                      RemixLike.remix_id == remix_id if remix_id else RemixLike.remix_id.is_(None))
    return session.exec(stmt).first() is not None
