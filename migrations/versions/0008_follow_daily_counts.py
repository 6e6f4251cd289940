"""Follows and unfollows counted per account and Vietnamese day (`follow_daily_counts`), for the console's
"new followers today" without counting the follows table.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('follow_daily_counts',
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('follows', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('unfollows', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_follow_daily_counts_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_follow_daily_counts'))
    )


def downgrade() -> None:
    op.drop_table('follow_daily_counts')
