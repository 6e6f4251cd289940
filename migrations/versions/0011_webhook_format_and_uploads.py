"""Webhook endpoints choose their payload format: `loa` (Standard Webhooks) or `zalo` (Zalo OA's event shape,
signed with `X-ZEvent-Signature`); apps' uploads for messages (`integration_uploads`: Zalo's attachment ids and
file tokens).

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('format', sa.String(length=10), server_default='loa', nullable=False))
        batch_op.create_check_constraint(op.f('ck_webhook_endpoints_format'), "format IN ('loa', 'zalo')")

    op.create_table('integration_uploads',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('app_id', BIG_ID, nullable=False),
    sa.Column('token', sa.String(length=48), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('attachment', JSON, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('image', 'file')", name=op.f('ck_integration_uploads_kind')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_integration_uploads_account_id_accounts'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['app_id'], ['integration_apps.id'],
                            name=op.f('fk_integration_uploads_app_id_integration_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_uploads')),
    sa.UniqueConstraint('token', name=op.f('uq_integration_uploads_token'))
    )
    with op.batch_alter_table('integration_uploads', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_uploads_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_uploads_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_integration_uploads_expires_at'), ['expires_at'], unique=False)


def downgrade() -> None:
    op.drop_table('integration_uploads')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_webhook_endpoints_format'), type_='check')
        batch_op.drop_column('format')
