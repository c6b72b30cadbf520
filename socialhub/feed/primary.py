"""Which of a reader's copies of a story they see: the `is_primary` flag on their entries.

A story can reach a reader through several sources (the same link, or a near-duplicate), so
they have several entries for it. Reading must show it once, quickly, however many stories
there are: so exactly one entry per (user, story) is flagged `is_primary` when at least one
is visible (not blocked by a rule, from an enabled source), the one with the lowest item id,
and a partial index on the flag lets the Feed page read a page of stories straight off it.

Call `refresh_primary` after anything that changes visibility: new entries (their stories),
rules applied, a source enabled, disabled or removed (the whole user).
"""

from __future__ import annotations

from sqlalchemy import text
from sqlmodel import Session


def refresh_primary(session: Session, *, user_id: int | None = None, entry_ids: list[int] | None = None) -> int:
    """Recompute the flag for all of a user's stories, or for the stories of these entries."""
    if entry_ids is not None:
        if not entry_ids:
            return 0
        scope = "SELECT DISTINCT user_id, story_id FROM feed_item_sources WHERE id = ANY(:ids)"
    elif user_id is not None:
        scope = "SELECT DISTINCT user_id, story_id FROM feed_item_sources WHERE user_id = :u"
    else:
        raise ValueError("refresh_primary needs a user or entries")
    result = session.execute(text(f"""
        WITH scope AS ({scope}),
        ranked AS (
            SELECT e.id,
                   (NOT e.blocked AND s.enabled) AND row_number() OVER (
                       PARTITION BY e.user_id, e.story_id
                       ORDER BY (NOT e.blocked AND s.enabled) DESC, e.item_id, e.id) = 1 AS want
            FROM feed_item_sources e
            JOIN scope ON scope.user_id = e.user_id AND scope.story_id = e.story_id
            JOIN feed_sources s ON s.id = e.source_id
        )
        UPDATE feed_item_sources e SET is_primary = ranked.want
        FROM ranked WHERE ranked.id = e.id AND e.is_primary IS DISTINCT FROM ranked.want
    """), {"u": user_id, "ids": entry_ids or []})
    return result.rowcount or 0
