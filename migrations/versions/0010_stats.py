"""Statistics: rollups of every domain's figures by scope (nation, province, organisation, account) and by day,
month and year (`stats_rollups`, `stats_duration_rollups`), the rollup state, and indexes by day on the kept
counts the rollup sweep reads.

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('stats_duration_rollups',
    sa.Column('scope', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('grain', sa.String(length=5), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('bucket', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('count', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("grain IN ('day', 'month', 'year')", name=op.f('ck_stats_duration_rollups_grain')),
    sa.CheckConstraint("metric IN ('first_response', 'resolution')", name=op.f('ck_stats_duration_rollups_metric')),
    sa.CheckConstraint("scope IN ('nation', 'province', 'organisation', 'account')", name=op.f('ck_stats_duration_rollups_scope')),
    sa.PrimaryKeyConstraint('scope', 'code', 'grain', 'period', 'metric', 'bucket', name=op.f('pk_stats_duration_rollups'))
    )
    with op.batch_alter_table('stats_duration_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_stats_duration_rollups_period', ['grain', 'period'], unique=False)

    op.create_table('stats_rollups',
    sa.Column('scope', sa.String(length=12), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('grain', sa.String(length=5), nullable=False),
    sa.Column('period', sa.Date(), nullable=False),
    sa.Column('follows', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('unfollows', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('messages_in', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('messages_out', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('auto_replies', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('conversations_started', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('responses', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('response_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('first_responses', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('first_response_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('broadcasts', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reach', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_received', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_rejected', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_merged', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_transferred_out', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_resolved', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_resolved_on_time', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_resolved_late', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_reopened', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_ratings', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('reports_rating_total', sa.BigInteger(), server_default='0', nullable=False),
    sa.CheckConstraint("grain IN ('day', 'month', 'year')", name=op.f('ck_stats_rollups_grain')),
    sa.CheckConstraint("scope IN ('nation', 'province', 'organisation', 'account')", name=op.f('ck_stats_rollups_scope')),
    sa.PrimaryKeyConstraint('scope', 'code', 'grain', 'period', name=op.f('pk_stats_rollups'))
    )
    with op.batch_alter_table('stats_rollups', schema=None) as batch_op:
        batch_op.create_index('ix_stats_rollups_period', ['grain', 'period'], unique=False)

    op.create_table('stats_state',
    sa.Column('id', sa.SmallInteger(), autoincrement=False, nullable=False),
    sa.Column('built_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settled_through', sa.Date(), nullable=True),
    sa.Column('rolled_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stats_state'))
    )
    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.create_index('ix_broadcasts_published_at', ['published_at'], unique=False)

    with op.batch_alter_table('follow_daily_counts', schema=None) as batch_op:
        batch_op.create_index('ix_follow_daily_counts_day', ['day'], unique=False)

    with op.batch_alter_table('message_daily_counts', schema=None) as batch_op:
        batch_op.create_index('ix_message_daily_counts_day', ['day'], unique=False)

    with op.batch_alter_table('report_daily_stats', schema=None) as batch_op:
        batch_op.create_index('ix_report_daily_stats_day', ['day'], unique=False)

    with op.batch_alter_table('report_duration_buckets', schema=None) as batch_op:
        batch_op.create_index('ix_report_duration_buckets_day', ['day'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('report_duration_buckets', schema=None) as batch_op:
        batch_op.drop_index('ix_report_duration_buckets_day')

    with op.batch_alter_table('report_daily_stats', schema=None) as batch_op:
        batch_op.drop_index('ix_report_daily_stats_day')

    with op.batch_alter_table('message_daily_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_message_daily_counts_day')

    with op.batch_alter_table('follow_daily_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_follow_daily_counts_day')

    with op.batch_alter_table('broadcasts', schema=None) as batch_op:
        batch_op.drop_index('ix_broadcasts_published_at')

    op.drop_table('stats_state')
    with op.batch_alter_table('stats_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_rollups_period')

    op.drop_table('stats_rollups')
    with op.batch_alter_table('stats_duration_rollups', schema=None) as batch_op:
        batch_op.drop_index('ix_stats_duration_rollups_period')

    op.drop_table('stats_duration_rollups')
