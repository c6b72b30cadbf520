"""remix: brands, ads, remixes and their jobs, likes, comments, cached signals

One brand per team; ads of a brand with their stored copies; remixes with their recipe (parent,
root ad, prompt and its diff, provider, model, parameters, seed, input and output keys); one job
row per remix, claimed with SKIP LOCKED under a lease; likes once per user and thing; comments
with replies; signals cached per brand or ad.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 05:04:28
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel
from sqlalchemy.dialects import postgresql

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('remix_brands',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('name', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('description', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
    sa.Column('colors', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('competitors', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('logo_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('team_id')
    )
    op.create_table('remix_ads',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.BigInteger(), nullable=False),
    sa.Column('team_id', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_by_id', sa.BigInteger(), nullable=True),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('title', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('campaign', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('location', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('tags', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('content_type', sqlmodel.sql.sqltypes.AutoString(length=50), nullable=False),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('original_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('web_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('thumb_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('poster_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('duration_seconds', sa.Float(), nullable=True),
    sa.Column('probe', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('remix_count', sa.Integer(), nullable=False),
    sa.Column('like_count', sa.Integer(), nullable=False),
    sa.Column('comment_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['brand_id'], ['remix_brands.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_remix_ads_brand_id'), 'remix_ads', ['brand_id'], unique=False)
    op.create_index('ix_remix_ads_liked', 'remix_ads', ['like_count', 'id'], unique=False)
    op.create_index('ix_remix_ads_newest', 'remix_ads', ['created_at', 'id'], unique=False)
    op.create_index('ix_remix_ads_remixed', 'remix_ads', ['remix_count', 'id'], unique=False)
    op.create_index('ix_remix_ads_tags', 'remix_ads', ['tags'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_remix_ads_team_id'), 'remix_ads', ['team_id'], unique=False)
    op.create_index(op.f('ix_remix_ads_uploaded_by_id'), 'remix_ads', ['uploaded_by_id'], unique=False)
    op.create_table('remix_signals',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('brand_id', sa.BigInteger(), nullable=False),
    sa.Column('ad_id', sa.BigInteger(), nullable=True),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('remix_count', sa.Integer(), nullable=False),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['remix_ads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['brand_id'], ['remix_brands.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_remix_signals_ad_id'), 'remix_signals', ['ad_id'], unique=False)
    op.create_index(op.f('ix_remix_signals_brand_id'), 'remix_signals', ['brand_id'], unique=False)
    op.create_index('uq_remix_signals_scope', 'remix_signals', ['brand_id', sa.literal_column('coalesce(ad_id, 0)')], unique=True)
    op.create_table('remixes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ad_id', sa.BigInteger(), nullable=False),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('prompt', sa.Text(), nullable=False),
    sa.Column('prompt_diff', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('provider', sqlmodel.sql.sqltypes.AutoString(length=20), nullable=False),
    sa.Column('model', sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
    sa.Column('params', postgresql.JSONB(astext_type=sa.Text()), server_default='{}', nullable=False),
    sa.Column('seed', sa.Integer(), nullable=False),
    sa.Column('input_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('output_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('thumb_key', sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
    sa.Column('notes', postgresql.JSONB(astext_type=sa.Text()), server_default='[]', nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error', sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
    sa.Column('like_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ad_id'], ['remix_ads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['remixes.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_remixes_ad_created', 'remixes', ['ad_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_remixes_ad_id'), 'remixes', ['ad_id'], unique=False)
    op.create_index(op.f('ix_remixes_parent_id'), 'remixes', ['parent_id'], unique=False)
    op.create_index('ix_remixes_user_created', 'remixes', ['user_id', 'created_at'], unique=False)
    op.create_index(op.f('ix_remixes_user_id'), 'remixes', ['user_id'], unique=False)
    op.create_table('remix_comments',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ad_id', sa.BigInteger(), nullable=False),
    sa.Column('remix_id', sa.BigInteger(), nullable=True),
    sa.Column('parent_id', sa.BigInteger(), nullable=True),
    sa.Column('author_id', sa.BigInteger(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['remix_ads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['parent_id'], ['remix_comments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['remix_id'], ['remixes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_remix_comments_ad_id'), 'remix_comments', ['ad_id'], unique=False)
    op.create_index(op.f('ix_remix_comments_author_id'), 'remix_comments', ['author_id'], unique=False)
    op.create_index(op.f('ix_remix_comments_parent_id'), 'remix_comments', ['parent_id'], unique=False)
    op.create_index(op.f('ix_remix_comments_remix_id'), 'remix_comments', ['remix_id'], unique=False)
    op.create_table('remix_jobs',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('remix_id', sa.BigInteger(), nullable=False),
    sa.Column('status', sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('claimed_by', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
    sa.Column('claimed_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['remix_id'], ['remixes.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('remix_id')
    )
    op.create_index('ix_remix_jobs_claimable', 'remix_jobs', ['run_after'], unique=False, postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.create_table('remix_likes',
    sa.Column('id', sa.BigInteger(), autoincrement=True, nullable=False),
    sa.Column('ad_id', sa.BigInteger(), nullable=False),
    sa.Column('remix_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ad_id'], ['remix_ads.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['remix_id'], ['remixes.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_remix_likes_ad_id'), 'remix_likes', ['ad_id'], unique=False)
    op.create_index(op.f('ix_remix_likes_remix_id'), 'remix_likes', ['remix_id'], unique=False)
    op.create_index(op.f('ix_remix_likes_user_id'), 'remix_likes', ['user_id'], unique=False)
    op.create_index('uq_remix_likes_once', 'remix_likes', ['user_id', 'ad_id', sa.literal_column('coalesce(remix_id, 0)')], unique=True)


def downgrade() -> None:
    op.drop_index('uq_remix_likes_once', table_name='remix_likes')
    op.drop_index(op.f('ix_remix_likes_user_id'), table_name='remix_likes')
    op.drop_index(op.f('ix_remix_likes_remix_id'), table_name='remix_likes')
    op.drop_index(op.f('ix_remix_likes_ad_id'), table_name='remix_likes')
    op.drop_table('remix_likes')
    op.drop_index('ix_remix_jobs_claimable', table_name='remix_jobs', postgresql_where=sa.text("status IN ('queued', 'running')"))
    op.drop_table('remix_jobs')
    op.drop_index(op.f('ix_remix_comments_remix_id'), table_name='remix_comments')
    op.drop_index(op.f('ix_remix_comments_parent_id'), table_name='remix_comments')
    op.drop_index(op.f('ix_remix_comments_author_id'), table_name='remix_comments')
    op.drop_index(op.f('ix_remix_comments_ad_id'), table_name='remix_comments')
    op.drop_table('remix_comments')
    op.drop_index(op.f('ix_remixes_user_id'), table_name='remixes')
    op.drop_index('ix_remixes_user_created', table_name='remixes')
    op.drop_index(op.f('ix_remixes_parent_id'), table_name='remixes')
    op.drop_index(op.f('ix_remixes_ad_id'), table_name='remixes')
    op.drop_index('ix_remixes_ad_created', table_name='remixes')
    op.drop_table('remixes')
    op.drop_index('uq_remix_signals_scope', table_name='remix_signals')
    op.drop_index(op.f('ix_remix_signals_brand_id'), table_name='remix_signals')
    op.drop_index(op.f('ix_remix_signals_ad_id'), table_name='remix_signals')
    op.drop_table('remix_signals')
    op.drop_index(op.f('ix_remix_ads_uploaded_by_id'), table_name='remix_ads')
    op.drop_index(op.f('ix_remix_ads_team_id'), table_name='remix_ads')
    op.drop_index('ix_remix_ads_tags', table_name='remix_ads', postgresql_using='gin')
    op.drop_index('ix_remix_ads_remixed', table_name='remix_ads')
    op.drop_index('ix_remix_ads_newest', table_name='remix_ads')
    op.drop_index('ix_remix_ads_liked', table_name='remix_ads')
    op.drop_index(op.f('ix_remix_ads_brand_id'), table_name='remix_ads')
    op.drop_table('remix_ads')
    op.drop_table('remix_brands')
