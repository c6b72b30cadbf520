"""schedule: a recurring series keeps its local wall time

`posts.recurrence_local_time`: the local time of day (in the post's own `timezone`) at which
each occurrence of a series is made, so a daylight-saving night moves that one occurrence
(02:30 does not exist, so it is 03:30) and not the rest of the series. Existing series get the
local time of their first post's scheduled time (the time the user picked); rows whose time
zone PostgreSQL does not know are left empty and fall back to the same rule in code.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 12:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("posts", sa.Column("recurrence_local_time", sa.Time(), nullable=True))
    op.execute(
        """
        UPDATE posts SET recurrence_local_time = (scheduled_at AT TIME ZONE timezone)::time
        WHERE recurrence_every IS NOT NULL AND scheduled_at IS NOT NULL
          AND timezone IN (SELECT name FROM pg_timezone_names)
        """
    )


def downgrade() -> None:
    op.drop_column("posts", "recurrence_local_time")
