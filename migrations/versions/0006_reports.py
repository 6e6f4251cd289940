"""Citizen reports: categories (the defaults included), routing rules, deadline policies, the calendar's
changes, reports with photos and timeline, staff notices, and the handling statistics.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from loa.domains.reports.catalogue import DEFAULT_CATEGORIES

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_days',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('holiday', 'working', 'not_holiday')", name=op.f('ck_calendar_days_kind')),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_calendar_days'))
    )
    op.create_table('report_categories',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('name_en', sa.String(length=120), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('category_group', sa.String(length=60), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('account_kinds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('deadline_amount', sa.Integer(), nullable=False),
    sa.Column('deadline_unit', sa.String(length=14), nullable=False),
    sa.Column('public_rounding_m', sa.Integer(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("deadline_unit IN ('working_hours', 'working_days')", name=op.f('ck_report_categories_deadline_unit')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_categories')),
    sa.UniqueConstraint('code', name=op.f('uq_report_categories_code'))
    )
    op.create_table('report_code_counters',
    sa.Column('year', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('year', name=op.f('pk_report_code_counters'))
    )
    op.create_table('report_daily_stats',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('received', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rejected', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('merged', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('transferred_out', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('resolved', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('resolved_on_time', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('resolved_late', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reopened', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('ratings', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('rating_total', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_report_daily_stats_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_report_daily_stats'))
    )
    op.create_table('report_deadline_policies',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.Integer(), nullable=False),
    sa.Column('unit', sa.String(length=14), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("unit IN ('working_hours', 'working_days')", name=op.f('ck_report_deadline_policies_unit')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_report_deadline_policies_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['report_categories.id'], name=op.f('fk_report_deadline_policies_category_id_report_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'category_id', name=op.f('pk_report_deadline_policies'))
    )
    op.create_table('report_duration_buckets',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('count', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("metric IN ('first_response', 'resolution')", name=op.f('ck_report_duration_buckets_metric')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_report_duration_buckets_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day', 'metric', 'bucket', name=op.f('pk_report_duration_buckets'))
    )
    op.create_table('report_routing_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('area_code', sa.String(length=5), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_report_routing_rules_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['category_id'], ['report_categories.id'], name=op.f('fk_report_routing_rules_category_id_report_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_routing_rules')),
    sa.UniqueConstraint('category_id', 'area_code', 'account_id', name='uq_report_routing_rules_rule')
    )
    with op.batch_alter_table('report_routing_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_routing_rules_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_report_routing_rules_lookup', ['category_id', 'area_code'], unique=False)

    op.create_table('reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('category_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reporter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reporter_contact', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('open', sa.Boolean(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('search_folded', sa.Text(), nullable=False),
    sa.Column('fields', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('cell', sa.BigInteger(), nullable=True),
    sa.Column('address', sa.String(length=300), nullable=False),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('hidden', sa.Boolean(), nullable=False),
    sa.Column('public_visible', sa.Boolean(), nullable=False),
    sa.Column('assigned_to', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('duplicate_of', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('remind_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('closed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rating', sa.SmallInteger(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.Column('rated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reopen_count', sa.Integer(), nullable=False),
    sa.Column('transfer_count', sa.Integer(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('submitted', 'accepted', 'rejected', 'merged', 'assigned', 'in_progress', 'waiting', 'resolved', 'closed', 'reopened')", name=op.f('ck_reports_status')),
    sa.CheckConstraint('rating IS NULL OR (rating BETWEEN 1 AND 5)', name=op.f('ck_reports_rating')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reports_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_to'], ['users.id'], name=op.f('fk_reports_assigned_to_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['category_id'], ['report_categories.id'], name=op.f('fk_reports_category_id_report_categories')),
    sa.ForeignKeyConstraint(['duplicate_of'], ['reports.id'], name=op.f('fk_reports_duplicate_of_reports'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('code', name=op.f('uq_reports_code')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reports_commune_code'), ['commune_code'], unique=False)
        batch_op.create_index('ix_reports_deadline', ['next_check_at'], unique=False, postgresql_where=sa.text('next_check_at IS NOT NULL'), sqlite_where=sa.text('next_check_at IS NOT NULL'))
        batch_op.create_index('ix_reports_nearby', ['category_id', 'cell'], unique=False, postgresql_where=sa.text('open'), sqlite_where=sa.text('open = 1'))
        batch_op.create_index('ix_reports_public', ['public_visible', 'id'], unique=False)
        batch_op.create_index('ix_reports_queue', ['account_id', 'status', 'due_at'], unique=False)
        batch_op.create_index('ix_reports_reporter', ['reporter_id', 'id'], unique=False)

    op.create_table('report_documents',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_documents_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_documents'))
    )
    with op.batch_alter_table('report_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_documents_report_id'), ['report_id'], unique=False)

    op.create_table('report_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=True),
    sa.Column('to_status', sa.String(length=12), nullable=True),
    sa.Column('actor', sa.String(length=8), nullable=False),
    sa.Column('actor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('public', sa.Boolean(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("actor IN ('citizen', 'staff', 'system')", name=op.f('ck_report_events_actor')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_report_events_actor_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_events_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_events')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.create_index('ix_report_events_report', ['report_id', 'id'], unique=False)

    op.create_table('report_photos',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('thumbnail_key', sa.String(length=200), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('added_by', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_photos_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_photos'))
    )
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_photos_report_id'), ['report_id'], unique=False)

    op.create_table('staff_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('report_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_staff_notices_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_staff_notices_report_id_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_staff_notices_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_notices'))
    )
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_notices_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_staff_notices_user', ['user_id', 'id'], unique=False)

    categories = sa.table(
        'report_categories', sa.column('code', sa.String), sa.column('name', sa.String),
        sa.column('name_en', sa.String), sa.column('description', sa.Text), sa.column('category_group', sa.String),
        sa.column('keywords', sa.JSON), sa.column('account_kinds', sa.JSON), sa.column('fields', sa.JSON),
        sa.column('deadline_amount', sa.Integer), sa.column('deadline_unit', sa.String),
        sa.column('public_rounding_m', sa.Integer), sa.column('enabled', sa.Boolean),
        sa.column('created_at', sa.DateTime(timezone=True)))
    created = datetime.now(UTC)
    op.bulk_insert(categories, [
        {"description": "", "public_rounding_m": 0, "enabled": True, "created_at": created, **category}
        for category in DEFAULT_CATEGORIES])


def downgrade() -> None:
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.drop_index('ix_staff_notices_user')
        batch_op.drop_index(batch_op.f('ix_staff_notices_account_id'))

    op.drop_table('staff_notices')
    with op.batch_alter_table('report_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_photos_report_id'))

    op.drop_table('report_photos')
    with op.batch_alter_table('report_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_documents_report_id'))

    op.drop_table('report_documents')
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_index('ix_report_events_report')

    op.drop_table('report_events')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_reporter')
        batch_op.drop_index('ix_reports_queue')
        batch_op.drop_index('ix_reports_public')
        batch_op.drop_index('ix_reports_nearby', postgresql_where=sa.text('open'), sqlite_where=sa.text('open = 1'))
        batch_op.drop_index('ix_reports_deadline', postgresql_where=sa.text('next_check_at IS NOT NULL'), sqlite_where=sa.text('next_check_at IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_reports_commune_code'))

    op.drop_table('reports')
    with op.batch_alter_table('report_routing_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_report_routing_rules_lookup')
        batch_op.drop_index(batch_op.f('ix_report_routing_rules_account_id'))

    op.drop_table('report_routing_rules')
    op.drop_table('report_duration_buckets')
    op.drop_table('report_deadline_policies')
    op.drop_table('report_daily_stats')
    op.drop_table('report_code_counters')
    op.drop_table('report_categories')
    op.drop_table('calendar_days')
