"""Feed's tables: sources, items, entries, per-reader story state, rules, daily scores,
settings, digests and their stories and deliveries.

The words (source, item, entry, story, story_id) are defined once, in `socialhub/feed/__init__.py`.
Invariants:
- A `FeedSource`'s `url` is the address fetched next time (a permanent redirect replaces it).
- A `FeedItem` belongs to one source: it is that source's item with that guid (`source_id`,
  `guid_key` = SHA-256 of the guid, unique together), holding what *that* feed says about it, and
  updated when the feed changes it. Two readers of one feed, or two feeds with one link, have
  separate items; `link_key` (SHA-256 of the normalised link) only groups items of different
  feeds into one story. An item that repeats a story (the same link from another feed, or a
  near-duplicate) takes the `story_id` of the first item of its story (`story_id == id` for that
  one). Items outlive their source (story ids and reading state point at them), unseen.
- `guid_key` is NULL only on items stored before items were per source; the next fetch of
  their source adopts them by link (or title) and sets it.
- Of a reader's entries of one story, exactly one is `is_primary` when any is visible (not
  blocked, source enabled): the one with the lowest item id, whose item the reader sees.
  Reading scans primary entries only (`primary.py` keeps the flag right).
- `FeedItemState`, `FeedScore` and `DigestItem` are keyed by `story_id`, so reading one copy of
  a story reads all of them.
- Text from feeds is stored sanitised (`content_html` went through the allow-list sanitiser)
  or as plain text (`title`, `text`, `excerpt`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Column,
    Computed,
    Date,
    ForeignKey,
    Index,
    PrimaryKeyConstraint,
    SmallInteger,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, TSVECTOR
from sqlmodel import Field, SQLModel

from socialhub.core.models import created_at_field, fk_field, pk_field, timestamp_field

DIGEST_STATUSES = ("draft", "generating", "generated", "delivered", "failed")
DELIVERY_CHANNELS = ("email", "post")
DELIVERY_STATUSES = ("sent", "queued", "outbox", "posted", "drafted", "failed", "skipped")  # queued: the outbox job sends it
RULE_ACTIONS = ("block", "keep")
RULE_FIELDS = ("title", "url", "author", "content", "tag", "any")

# Weighted full-text document: title (A) above the plain text (B); English stemming.
SEARCH_EXPRESSION = (
    "setweight(to_tsvector('english'::regconfig, coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english'::regconfig, coalesce(text, '')), 'B')"
)


def _text_field(default: str = "") -> object:
    return Field(default=default, sa_column=Column(Text, nullable=False, server_default=""))


class FeedSource(SQLModel, table=True):
    """A feed one user follows, with what the fetcher remembers about it."""

    __tablename__ = "feed_sources"
    __table_args__ = (UniqueConstraint("user_id", "url"),)

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    url: str = Field(max_length=2000)
    site_url: str = Field(default="", max_length=2000)
    title: str = Field(max_length=300)
    category: str = Field(default="", max_length=100)
    enabled: bool = Field(default=True)
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    fetch_interval_s: int = Field(default=1800)
    next_fetch_at: datetime = timestamp_field(nullable=False, index=True)
    claimed_until: datetime | None = timestamp_field()
    error_count: int = Field(default=0)
    last_error: str = Field(default="", max_length=1000)
    last_fetched_at: datetime | None = timestamp_field()
    last_success_at: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()


class FeedItem(SQLModel, table=True):
    """One item of one source's feed (by its guid), with that feed's title, text and image."""

    __tablename__ = "feed_items"
    __table_args__ = (
        UniqueConstraint("source_id", "guid_key"),
        Index("ix_feed_items_search", "search", postgresql_using="gin"),
    )

    id: int | None = pk_field()
    # No foreign key: an item stays when its source goes (other items' story_id and readers'
    # state may point at it); nothing shows it any more, since nobody has an entry for it.
    source_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    guid_key: str | None = Field(default=None, max_length=64)
    link_key: str | None = Field(default=None, max_length=64, index=True)
    url: str = _text_field()
    title: str = Field(default="", max_length=500)
    author: str = Field(default="", max_length=200)
    content_html: str = _text_field()
    text: str = _text_field()
    excerpt: str = Field(default="", max_length=400)
    image_url: str = Field(default="", max_length=2000)
    tags: list[str] = Field(default_factory=list, sa_column=Column(ARRAY(Text), nullable=False, server_default="{}"))
    published_at: datetime = timestamp_field(nullable=False, index=True)
    first_seen_at: datetime = timestamp_field(nullable=False, index=True)
    fingerprint: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    content_hash: int = Field(default=0, sa_column=Column(BigInteger, nullable=False, server_default="0"))
    """A hash of what the feed says (link, title, author, HTML, image, tags): a refresh rewrites
    the item only when it changed."""
    story_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True, index=True))
    search: str | None = Field(default=None, sa_column=Column(TSVECTOR, Computed(SEARCH_EXPRESSION, persisted=True)))


class FeedEntry(SQLModel, table=True):
    """An item as carried by one of a user's sources (one entry per item, since items are per
    source; the entry carries what reading a page needs, on the reader's own index)."""

    __tablename__ = "feed_item_sources"
    __table_args__ = (
        UniqueConstraint("source_id", "item_id"),
        Index("ix_feed_item_sources_user_story", "user_id", "story_id"),
        Index("ix_feed_item_sources_source_published", "source_id", "published_at", "story_id"),
        Index("ix_feed_item_sources_primary", "user_id", "published_at", "story_id",
              postgresql_where=text("is_primary")),
    )

    id: int | None = pk_field()
    user_id: int = fk_field("users.id", index=False)
    source_id: int = fk_field("feed_sources.id", index=False)
    item_id: int = fk_field("feed_items.id")
    story_id: int = Field(sa_column=Column(BigInteger, nullable=False))
    published_at: datetime = timestamp_field(nullable=False)
    blocked: bool = Field(default=False)
    is_primary: bool = Field(default=False)
    created_at: datetime = created_at_field()


class FeedItemState(SQLModel, table=True):
    """What one reader did with one story: read, bookmarked, rated, clicked, shared."""

    __tablename__ = "feed_item_states"
    __table_args__ = (PrimaryKeyConstraint("user_id", "story_id"),)

    user_id: int = fk_field("users.id", index=False)
    story_id: int = fk_field("feed_items.id")
    read_at: datetime | None = timestamp_field()
    bookmarked_at: datetime | None = timestamp_field()
    rating: int | None = Field(default=None, sa_column=Column(SmallInteger, nullable=True))
    clicked_at: datetime | None = timestamp_field()
    click_count: int = Field(default=0)
    shared_at: datetime | None = timestamp_field()
    updated_at: datetime = created_at_field()


class FeedRule(SQLModel, table=True):
    """Miniflux-style rule: block (or keep only) items whose field matches a regex."""

    __tablename__ = "feed_rules"

    id: int | None = pk_field()
    user_id: int = fk_field("users.id")
    action: str = Field(max_length=10)
    field: str = Field(max_length=10)
    pattern: str = Field(max_length=300)
    created_at: datetime = created_at_field()
    disabled_at: datetime | None = timestamp_field()
    """Set when the rule took too long to check; a disabled rule decides nothing."""
    disabled_reason: str = Field(default="", max_length=300)


class FeedScore(SQLModel, table=True):
    """A story's score for one reader on one day, with the parts and the reasons."""

    __tablename__ = "feed_scores"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "day", "story_id"),
        Index("ix_feed_scores_best", "user_id", "day", "final", "story_id"),
    )

    user_id: int = fk_field("users.id", index=False)
    day: date = Field(sa_column=Column(Date, nullable=False))
    story_id: int = fk_field("feed_items.id")
    relevance: float = 0.0
    recency: float = 0.0
    reliability: float = 0.0
    engagement: float = 0.0
    final: float = 0.0
    reasons: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))


class FeedSettings(SQLModel, table=True):
    """One reader's digest and scoring settings (time zone comes from the user)."""

    __tablename__ = "feed_settings"

    user_id: int = Field(sa_column=Column(BigInteger, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True))
    digest_time: str = Field(default="07:00", max_length=5)
    max_items: int = Field(default=8)
    min_score: float = Field(default=20.0)
    topics: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    weight_relevance: float = 0.4
    weight_recency: float = 0.3
    weight_reliability: float = 0.15
    weight_engagement: float = 0.15
    auto_generate: bool = True
    auto_email: bool = True
    auto_post: bool = False
    post_account_id: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    email_notifications: bool = True
    show_images: bool = False
    """Show the pictures feeds link to. Off by default: they load from the publisher's server,
    which then learns the reader's IP address."""
    next_digest_at: datetime | None = timestamp_field(index=True)
    updated_at: datetime = created_at_field()


class Digest(SQLModel, table=True):
    """One reader's digest for one local day."""

    __tablename__ = "feed_digests"
    __table_args__ = (UniqueConstraint("user_id", "day"),)

    id: int | None = pk_field()
    user_id: int = fk_field("users.id", index=False)
    day: date = Field(sa_column=Column(Date, nullable=False))
    status: str = Field(default="draft", max_length=12)
    title: str = Field(default="", max_length=300)
    summary: str = _text_field()
    provider: str = Field(default="", max_length=20)
    provider_label: str = Field(default="", max_length=100)
    image_key: str = Field(default="", max_length=512)
    error: str = Field(default="", max_length=1000)
    open_token: str = Field(max_length=64, unique=True)
    open_count: int = 0
    opened_at: datetime | None = timestamp_field()
    claimed_until: datetime | None = timestamp_field()
    created_at: datetime = created_at_field()
    generated_at: datetime | None = timestamp_field()
    delivered_at: datetime | None = timestamp_field()


class DigestItem(SQLModel, table=True):
    """A story in a digest, with what the AI wrote about it (copied: a digest is a record)."""

    __tablename__ = "feed_digest_items"

    id: int | None = pk_field()
    digest_id: int = fk_field("feed_digests.id")
    story_id: int | None = fk_field("feed_items.id", nullable=True, ondelete="SET NULL")
    position: int = 0
    title: str = Field(default="", max_length=500)
    url: str = _text_field()
    source_names: str = Field(default="", max_length=500)
    score: float = 0.0
    summary: str = _text_field()
    key_points: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    hashtags: list[str] = Field(default_factory=list, sa_column=Column(JSONB, nullable=False, server_default="[]"))
    click_token: str = Field(max_length=64, unique=True)
    click_count: int = 0


class DigestDelivery(SQLModel, table=True):
    """One attempt to deliver a digest by e-mail or as a post, with its outcome."""

    __tablename__ = "feed_digest_deliveries"

    id: int | None = pk_field()
    digest_id: int = fk_field("feed_digests.id")
    channel: str = Field(max_length=10)
    status: str = Field(max_length=10)
    target: str = Field(default="", max_length=300)
    error: str = Field(default="", max_length=1000)
    email_id: int | None = fk_field("emails.id", nullable=True, index=False, ondelete="SET NULL")
    created_at: datetime = created_at_field()
