"""feed: items per source and guid; rules that time out are turned off; feed pictures opt-in

Items were one row per normalised link, shared by every source and reader and never updated:
a feed whose episodes share one link kept one of them, and the first feed to bring a link
decided its title, text and picture for everyone. From now on an item is one source's item
with one guid, holding what that feed says:

- `feed_items.source_id`, `guid_key` (SHA-256 of the guid; unique per source), `link_key`
  (SHA-256 of the normalised link, the old `url_key` of items that have a link; indexed: it
  groups items of different feeds into one story) and `content_hash` (a refresh rewrites an
  item only when its feed changed it). `url_key` goes.
- Existing data: an item carried by several sources is copied once per extra source (same
  content, same `story_id`, so it stays the same story for its readers and their read,
  bookmark, rating, score and digest rows keep pointing at it), and those entries point at
  their copy. The first entry of each item keeps the original row, so which copy a reader sees
  does not change. `guid_key` stays NULL (the guids were not kept); the next fetch of each
  source adopts its items by link, or by title for items without one, so nothing is stored
  twice. Items no entry points at keep `source_id` NULL.
- `feed_rules.disabled_at`, `disabled_reason`: a rule whose pattern takes too long is turned
  off and its owner told.
- `feed_settings.show_images` (default off): pictures from feeds load from the publisher's
  server, which learns the reader's IP address; readers opt in.

Downgrade keeps the rows (each item stays a row) and gives every item a unique `url_key`
again (its `link_key`, made unique where copies share one); it cannot merge copies back.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 12:00:00
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("feed_items", sa.Column("source_id", sa.BigInteger(), nullable=True))
    op.add_column("feed_items", sa.Column("guid_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("feed_items", sa.Column("link_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.add_column("feed_items", sa.Column("content_hash", sa.BigInteger(), server_default="0", nullable=False))
    op.execute("UPDATE feed_items SET link_key = url_key WHERE url <> ''")

    # One copy of a shared item per extra source that carries it.
    op.execute("""
        CREATE TEMP TABLE _feed_item_split ON COMMIT DROP AS
        SELECT e.id AS entry_id, e.item_id, e.source_id,
               nextval(pg_get_serial_sequence('feed_items', 'id')) AS new_id
        FROM feed_item_sources e
        WHERE e.id <> (SELECT min(f.id) FROM feed_item_sources f WHERE f.item_id = e.item_id)
    """)
    op.execute("""
        INSERT INTO feed_items (id, source_id, guid_key, link_key, url_key, url, title, author, content_html,
                                text, excerpt, image_url, tags, published_at, first_seen_at, fingerprint,
                                content_hash, story_id)
        SELECT s.new_id, s.source_id, NULL, i.link_key, 'split:' || s.new_id, i.url, i.title, i.author,
               i.content_html, i.text, i.excerpt, i.image_url, i.tags, i.published_at, i.first_seen_at,
               i.fingerprint, 0, coalesce(i.story_id, i.id)
        FROM _feed_item_split s JOIN feed_items i ON i.id = s.item_id
    """)
    op.execute("UPDATE feed_item_sources e SET item_id = s.new_id FROM _feed_item_split s WHERE e.id = s.entry_id")
    op.execute("""
        UPDATE feed_items i SET source_id = first.source_id
        FROM (SELECT DISTINCT ON (item_id) item_id, source_id FROM feed_item_sources ORDER BY item_id, id) first
        WHERE first.item_id = i.id AND i.source_id IS NULL
    """)

    op.drop_constraint("feed_items_url_key_key", "feed_items", type_="unique")
    op.drop_column("feed_items", "url_key")
    op.create_unique_constraint("feed_items_source_id_guid_key_key", "feed_items", ["source_id", "guid_key"])
    op.create_index(op.f("ix_feed_items_link_key"), "feed_items", ["link_key"], unique=False)

    op.add_column("feed_rules", sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("feed_rules", sa.Column("disabled_reason", sqlmodel.sql.sqltypes.AutoString(length=300),
                                          server_default="", nullable=False))
    op.add_column("feed_settings", sa.Column("show_images", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    op.drop_column("feed_settings", "show_images")
    op.drop_column("feed_rules", "disabled_reason")
    op.drop_column("feed_rules", "disabled_at")
    op.add_column("feed_items", sa.Column("url_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
    op.execute("""
        UPDATE feed_items i SET url_key = CASE WHEN ranked.n = 1 AND i.link_key IS NOT NULL THEN i.link_key
                                               ELSE encode(sha256(('item:' || i.id)::bytea), 'hex') END
        FROM (SELECT id, row_number() OVER (PARTITION BY link_key ORDER BY id) AS n FROM feed_items) ranked
        WHERE ranked.id = i.id
    """)
    op.alter_column("feed_items", "url_key", nullable=False)
    op.drop_index(op.f("ix_feed_items_link_key"), table_name="feed_items")
    op.drop_constraint("feed_items_source_id_guid_key_key", "feed_items", type_="unique")
    op.create_unique_constraint("feed_items_url_key_key", "feed_items", ["url_key"])
    for column in ("content_hash", "link_key", "guid_key", "source_id"):
        op.drop_column("feed_items", column)
