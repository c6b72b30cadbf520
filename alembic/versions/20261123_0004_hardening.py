"""hardening: e-mail verification, login tickets bound to a browser, a transactional outbox

- `users.email_verified_at` and `email_verifications` (hashed, expiring link tokens).
  Every user that exists when this migration runs is marked verified (`email_verified_at` =
  the migration's time): they signed up before verification existed, and refusing them their
  team invites now would punish them for it. Users created from now on verify by e-mail.
- `login_tickets.nonce_hash`: the hash of the sign-in browser's nonce cookie.
- `emails.attempts`, `next_attempt_at`, `claimed_until`, `sent_at`: the delivery job's claims and
  retries. Rows already there keep their status (sent, outbox or failed): nothing is re-sent.

Revision ID: 0004
Revises: 0002, 0003
Create Date: 2026-11-23 00:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel

revision = "0004"
down_revision = ("0002", "0003")
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("users", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE users SET email_verified_at = now()")
    op.create_table(
        "email_verifications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("email", sqlmodel.sql.sqltypes.AutoString(length=254), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    op.create_index(op.f("ix_email_verifications_user_id"), "email_verifications", ["user_id"], unique=False)

    op.add_column("login_tickets", sa.Column("nonce_hash", sqlmodel.sql.sqltypes.AutoString(length=64),
                                             server_default="", nullable=False))

    op.add_column("emails", sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
    op.add_column("emails", sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("emails", sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
    op.add_column("emails", sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True))
    # The delivery job's scan: only rows still to be sent are in it.
    op.create_index("ix_emails_pending", "emails", ["next_attempt_at"], unique=False,
                    postgresql_where=sa.text("status IN ('queued', 'sending')"))


def downgrade() -> None:
    op.drop_index("ix_emails_pending", table_name="emails")
    for column in ("sent_at", "claimed_until", "next_attempt_at", "attempts"):
        op.drop_column("emails", column)
    op.drop_column("login_tickets", "nonce_hash")
    op.drop_index(op.f("ix_email_verifications_user_id"), table_name="email_verifications")
    op.drop_table("email_verifications")
    op.drop_column("users", "email_verified_at")
