"""feed: columns that hold a story id are named story_id

`feed_item_states`, `feed_scores` and `feed_digest_items` are keyed by the story (the id of
the first item of a group of near-duplicates), not by an item; their `item_id` column becomes
`story_id`, with its index and foreign key renamed to match. Only renames: no data moves.
(`feed_item_sources.item_id` is a real item id and keeps its name.)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:00:00
"""
from alembic import op


revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TABLES = ("feed_item_states", "feed_scores", "feed_digest_items")


def _rename(old: str, new: str) -> None:
    for table in TABLES:
        op.alter_column(table, old, new_column_name=new)
        op.execute(f"ALTER INDEX ix_{table}_{old} RENAME TO ix_{table}_{new}")
        op.execute(f"ALTER TABLE {table} RENAME CONSTRAINT {table}_{old}_fkey TO {table}_{new}_fkey")


def upgrade() -> None:
    _rename("item_id", "story_id")


def downgrade() -> None:
    _rename("story_id", "item_id")
