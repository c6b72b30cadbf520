"""Schedule's tables: posts, their per-platform variants and targets, attached media, time
slots, comments (approvals), publish attempts, send records and the activity log.

Invariants:
- A post has one `PostTarget` per platform account it goes to. The target carries the publishing
  state; the post's `status` is a roll-up of its targets (`status.py`) once it has been
  scheduled, and the editorial state (draft, pending_approval, approved) before. The accounts
  and their encrypted tokens are channels' tables (`channels/models.py`).
- `PostTarget.idempotency_key` is fixed when the target is created and never changes, so every
  attempt for one target presents the same key to the platform.
- `PostTarget.platform_post_id` is written in the same transaction that marks the target
  published; a target with a platform post id is never sent again.
- All datetimes are timezone-aware UTC. `Post.timezone` and `PlatformAccount.timezone` only say
  how to show and compute local times (calendar days, weekly slots, recurrence).
"""

from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import BigInteger, Column, Index, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field, timestamp_field


POST_STATUSES = (
    "draft",  # being written; nothing will be published
    "pending_approval",  # an editor asked an admin or owner to approve it
    "approved",  # approved, waiting for a time (schedule, queue or publish now)
    "scheduled",  # every target waits for its time
    "publishing",  # at least one target is being published or retried right now
    "published",  # every target is published
    "partial",  # some targets are published, the others failed, were missed or cancelled
    "failed",  # no target was published and at least one failed for good
    "missed",  # its time passed while nothing could publish it; the owner decides what to do
    "paused",  # a target waits for its account to be reconnected
    "cancelled",  # someone stopped it before it went out
)

TARGET_STATUSES = (
    "draft",  # the post is not scheduled yet
    "pending",  # waiting for `due_at`
    "publishing",  # claimed by a scheduler process until `claimed_until`
    "retrying",  # a retryable error; tried again at `due_at`
    "unconfirmed",  # the platform may have it (timeout after sending); checked before any retry
    "published",
    "failed",  # gave up: not retryable, or the last of the attempts
    "missed",  # its time passed more than the missed window ago before it could be published
    "paused",  # its account needs reconnecting
    "cancelled",
)
# Statuses the publisher may claim (with `due_at <= now`), besides expired `publishing` claims.
CLAIMABLE_TARGET_STATUSES = ("pending", "retrying", "unconfirmed")
FINAL_TARGET_STATUSES = ("published", "failed", "missed", "cancelled")








class Post(SQLModel, table=True):
    """One piece of content, written once and published to several accounts."""

    __tablename__ = "posts"
    # Status is not indexed (queries go by team), so the publisher's status updates are HOT.
    __table_args__ = (
        Index("ix_posts_team_scheduled", "team_id", "scheduled_at"),
        Index("ix_posts_tags", "tags", postgresql_using="gin"),
        {"postgresql_with": {"fillfactor": "80"}},
    )

    id: int | None = pk_field()
    team_id: int = fk_field("teams.id", index=False)  # ix_posts_team_scheduled covers it
    author_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    status: str = Field(default="draft", max_length=20)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    first_comment: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(String(50)), nullable=False, server_default="{}"))
    timezone: str = Field(default="UTC", max_length=64)
    scheduled_at: datetime | None = timestamp_field()
    published_at: datetime | None = timestamp_field()
    # Recurrence lives on the post that started the series; occurrences point back at it.
    recurrence_every: int | None = Field(default=None)
    recurrence_unit: str | None = Field(default=None, max_length=5)  # "day" | "week"
    recurrence_until: datetime | None = timestamp_field()
    recurrence_next_at: datetime | None = timestamp_field(index=True)
    # The series' wall time in `timezone` (each occurrence is that local time on its day, so a
    # daylight-saving night moves one occurrence, never the series).
    recurrence_local_time: time | None = Field(default=None)
    recurrence_source_id: int | None = fk_field("posts.id", nullable=True, ondelete="SET NULL")
    approved_by_id: int | None = fk_field("users.id", nullable=True, index=False, ondelete="SET NULL")
    approved_at: datetime | None = timestamp_field()
    version: int = Field(default=1)
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()


class PostVariant(SQLModel, table=True):
    """The text of a post for one platform, or for one account, when it differs from the post's.

    `scope` is "platform:<name>" or "account:<id>"; an account variant wins over a platform one.
    `thread_parts` are the posts after the first when the variant is a thread.
    """

    __tablename__ = "post_variants"
    __table_args__ = (UniqueConstraint("post_id", "scope"),)

    id: int | None = pk_field()
    post_id: int = fk_field("posts.id")
    scope: str = Field(max_length=40)
    platform: str = Field(max_length=20)
    account_id: int | None = fk_field("platform_accounts.id", nullable=True)
    text: str = Field(default="", sa_column=Column(Text, nullable=False, server_default=""))
    thread_parts: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    first_comment: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_at: datetime = created_at_field()


class PostTarget(SQLModel, table=True):
    """One post going to one account: the unit the publisher claims, publishes and retries."""

    __tablename__ = "post_targets"
    # Few indexes, none on what the publisher rewrites while it holds a claim (needs_check,
    # claimed_until), and room on each page: marking a target as being sent and renewing a claim
    # are then HOT updates that touch no index. (post_id, account_id) also serves post_id lookups.
    __table_args__ = (
        UniqueConstraint("post_id", "account_id"),
        # The publisher's two claim paths: due work, and claims of processes that died or hung.
        Index("ix_post_targets_due", "due_at", postgresql_where=text("status IN ('pending', 'retrying', 'unconfirmed')")),
        Index("ix_post_targets_claimed_by", "claimed_by", postgresql_where=text("status = 'publishing'")),
        {"postgresql_with": {"fillfactor": "80"}},
    )

    id: int | None = pk_field()
    post_id: int = fk_field("posts.id", index=False)
    team_id: int = fk_field("teams.id", index=False)
    account_id: int = fk_field("platform_accounts.id")
    status: str = Field(default="draft", max_length=20)
    scheduled_at: datetime | None = timestamp_field()
    due_at: datetime | None = timestamp_field()
    attempts: int = Field(default=0)
    needs_check: bool = Field(default=False)  # an earlier attempt may have reached the platform
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = timestamp_field()
    idempotency_key: str = Field(max_length=80, unique=True)
    platform_post_id: str | None = Field(default=None, max_length=500)
    url: str | None = Field(default=None, max_length=1000)
    thread_post_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    last_error: str = Field(default="", max_length=2000)
    published_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    updated_at: datetime = created_at_field()




class PostMedia(SQLModel, table=True):
    __tablename__ = "post_media"
    __table_args__ = (UniqueConstraint("post_id", "media_id"),)

    id: int | None = pk_field()
    post_id: int = fk_field("posts.id")
    media_id: int = fk_field("media.id")
    position: int = Field(default=0)


class TimeSlot(SQLModel, table=True):
    """A weekly queue slot of one account: weekday (0 = Monday) and local time in its timezone."""

    __tablename__ = "time_slots"
    __table_args__ = (UniqueConstraint("account_id", "weekday", "local_time"),)

    id: int | None = pk_field()
    account_id: int = fk_field("platform_accounts.id")
    weekday: int
    local_time: time


class PostComment(SQLModel, table=True):
    """Discussion on a post, including approvals and rejections (with their reason)."""

    __tablename__ = "post_comments"

    id: int | None = pk_field()
    post_id: int = fk_field("posts.id")
    author_id: int | None = fk_field("users.id", nullable=True, ondelete="SET NULL")
    kind: str = Field(default="comment", max_length=20)  # comment | submitted | approved | rejected
    body: str = Field(default="", max_length=5000)
    created_at: datetime = created_at_field()


class PublishSend(SQLModel, table=True):
    """Targets a publisher process is about to send, one row per batch, written before sending.

    When a process dies, whoever takes over its claims checks these targets with the platform
    before sending; the targets it never reached go out directly. The publisher deletes its
    rows once the results are written; rows of dead processes are swept after a day.
    """

    __tablename__ = "publish_sends"

    id: int | None = pk_field()
    worker: str = Field(max_length=100, index=True)
    target_ids: list[int] = Field(default_factory=list, sa_column=Column(ARRAY(BigInteger), nullable=False))
    created_at: datetime = created_at_field()


class PublishAttempt(SQLModel, table=True):
    """One try of the publisher at one target, and how it ended."""

    __tablename__ = "publish_attempts"

    id: int | None = pk_field()
    target_id: int = fk_field("post_targets.id")
    attempt: int
    worker: str = Field(default="", max_length=100)
    outcome: str = Field(max_length=20)  # published | found | retry | unconfirmed | failed | paused
    error: str = Field(default="", max_length=2000)
    started_at: datetime = timestamp_field(nullable=False)
    duration_ms: int = 0


class PostActivity(SQLModel, table=True):
    """Every state change of a post, who made it (None: the system) and in words."""

    __tablename__ = "post_activities"

    id: int | None = pk_field()
    post_id: int = fk_field("posts.id")
    actor_id: int | None = fk_field("users.id", nullable=True, index=False, ondelete="SET NULL")
    # Not a foreign key: the publisher logs thousands of lines a second, and a line may outlive
    # a target removed from a draft.
    target_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    kind: str = Field(max_length=30)
    message: str = Field(default="", max_length=1000)
    created_at: datetime = created_at_field()
