"""Integrations: apps and their tokens, the calls they make, idempotency keys, webhook endpoints and the
outbox of webhook deliveries with its attempt log.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade() -> None:
    op.create_table('integration_apps',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('client_id', sa.String(length=40), nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scopes', JSON, nullable=False),
    sa.Column('bot_user_id', BIG_ID, nullable=False),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_integration_apps_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['bot_user_id'], ['users.id'], name=op.f('fk_integration_apps_bot_user_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_integration_apps_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_integration_apps')),
    sa.UniqueConstraint('client_id', name=op.f('uq_integration_apps_client_id'))
    )
    with op.batch_alter_table('integration_apps', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_integration_apps_account_id'), ['account_id'], unique=False)

    op.create_table('webhook_endpoints',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('account_id', BIG_ID, nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('secret', sa.String(length=100), nullable=False),
    sa.Column('events', JSON, nullable=False),
    sa.Column('description', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('disabled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', BIG_ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_endpoints_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_webhook_endpoints_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints'))
    )
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_endpoints_account_id'), ['account_id'], unique=False)

    op.create_table('app_calls',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('app_id', BIG_ID, nullable=False),
    sa.Column('method', sa.String(length=7), nullable=False),
    sa.Column('route', sa.String(length=120), nullable=False),
    sa.Column('status', sa.SmallInteger(), nullable=False),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['integration_apps.id'], name=op.f('fk_app_calls_app_id_integration_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_calls'))
    )
    with op.batch_alter_table('app_calls', schema=None) as batch_op:
        batch_op.create_index('ix_app_calls_app_id_id', ['app_id', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_app_calls_created_at'), ['created_at'], unique=False)

    op.create_table('app_tokens',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('app_id', BIG_ID, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('scopes', JSON, nullable=False),
    sa.Column('family', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("kind IN ('access', 'refresh', 'api_key')", name=op.f('ck_app_tokens_kind')),
    sa.ForeignKeyConstraint(['app_id'], ['integration_apps.id'], name=op.f('fk_app_tokens_app_id_integration_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_app_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_app_tokens_token_hash'))
    )
    with op.batch_alter_table('app_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_app_tokens_app_id'), ['app_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_app_tokens_family'), ['family'], unique=False)

    op.create_table('idempotency_keys',
    sa.Column('app_id', BIG_ID, nullable=False),
    sa.Column('key', sa.String(length=255), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('response', JSON, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['app_id'], ['integration_apps.id'], name=op.f('fk_idempotency_keys_app_id_integration_apps'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('app_id', 'key', name=op.f('pk_idempotency_keys'))
    )
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_idempotency_keys_created_at'), ['created_at'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('endpoint_id', BIG_ID, nullable=False),
    sa.Column('event_id', sa.String(length=40), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('payload', JSON, nullable=False),
    sa.Column('order_key', sa.String(length=60), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lease_owner', sa.String(length=32), nullable=True),
    sa.Column('last_status_code', sa.SmallInteger(), nullable=True),
    sa.Column('last_error', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'delivered', 'failed')", name=op.f('ck_webhook_deliveries_status')),
    sa.ForeignKeyConstraint(['endpoint_id'], ['webhook_endpoints.id'], name=op.f('fk_webhook_deliveries_endpoint_id_webhook_endpoints'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_webhook_deliveries_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_endpoint_id_id', ['endpoint_id', 'id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_order', ['endpoint_id', 'order_key', 'status', 'id'], unique=False)

    op.create_table('webhook_attempts',
    sa.Column('id', BIG_ID, nullable=False),
    sa.Column('delivery_id', BIG_ID, nullable=False),
    sa.Column('status_code', sa.SmallInteger(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['delivery_id'], ['webhook_deliveries.id'], name=op.f('fk_webhook_attempts_delivery_id_webhook_deliveries'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_attempts'))
    )
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_attempts_delivery_id'), ['delivery_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('webhook_attempts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_attempts_delivery_id'))

    op.drop_table('webhook_attempts')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_order')
        batch_op.drop_index('ix_webhook_deliveries_endpoint_id_id')
        batch_op.drop_index('ix_webhook_deliveries_due')

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('idempotency_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_idempotency_keys_created_at'))

    op.drop_table('idempotency_keys')
    with op.batch_alter_table('app_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_tokens_family'))
        batch_op.drop_index(batch_op.f('ix_app_tokens_app_id'))

    op.drop_table('app_tokens')
    with op.batch_alter_table('app_calls', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_app_calls_created_at'))
        batch_op.drop_index('ix_app_calls_app_id_id')

    op.drop_table('app_calls')
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_endpoints_account_id'))

    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('integration_apps', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_integration_apps_account_id'))

    op.drop_table('integration_apps')
