"""Conversations: messages, the live event log, inbox notes, labels and canned replies, automation,
abuse reports and daily message counts.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conversation_events',
    # Ids come from the messages' sequence (one order for a live channel): no sequence of its own.
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('citizen_id', sa.BigInteger(), nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('citizen_visible', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_events'))
    )
    with op.batch_alter_table('conversation_events', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_events_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_conversation_events_citizen', ['citizen_id', 'id'], unique=False)

    op.create_table('canned_replies',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=100), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_canned_replies_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_canned_replies_created_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_replies')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_replies_account_id'), ['account_id'], unique=False)

    op.create_table('conversation_automation',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('welcome_enabled', sa.Boolean(), nullable=False),
    sa.Column('welcome_text', sa.Text(), nullable=False),
    sa.Column('out_of_hours_enabled', sa.Boolean(), nullable=False),
    sa.Column('out_of_hours_text', sa.Text(), nullable=False),
    sa.Column('office_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('updated_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversation_automation_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'], name=op.f('fk_conversation_automation_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_conversation_automation'))
    )
    op.create_table('conversations',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('citizen_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('assigned_to', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('last_message_id', sa.BigInteger(), nullable=False),
    sa.Column('last_message_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_message_preview', sa.String(length=200), nullable=False),
    sa.Column('last_direction', sa.String(length=3), nullable=True),
    sa.Column('last_inbound_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('has_unread', sa.Boolean(), nullable=False),
    sa.Column('staff_unread', sa.Integer(), nullable=False),
    sa.Column('citizen_unread', sa.Integer(), nullable=False),
    sa.Column('staff_seen_message_id', sa.BigInteger(), nullable=False),
    sa.Column('citizen_seen_message_id', sa.BigInteger(), nullable=False),
    sa.Column('messages_in', sa.Integer(), nullable=False),
    sa.Column('messages_out', sa.Integer(), nullable=False),
    sa.Column('awaiting_since', sa.DateTime(timezone=True), nullable=True),
    sa.Column('first_response_seconds', sa.Integer(), nullable=True),
    sa.Column('responses', sa.Integer(), nullable=False),
    sa.Column('response_seconds_total', sa.BigInteger(), nullable=False),
    sa.Column('last_out_of_hours_reply_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("state IN ('open', 'waiting', 'closed')", name=op.f('ck_conversations_state')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversations_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assigned_to'], ['users.id'], name=op.f('fk_conversations_assigned_to_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['citizen_id'], ['users.id'], name=op.f('fk_conversations_citizen_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('account_id', 'citizen_id', name='uq_conversations_account_citizen'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_citizen', ['citizen_id', 'last_message_id'], unique=False)
        batch_op.create_index('ix_conversations_inbox', ['account_id', 'state', 'has_unread', 'last_message_id'], unique=False)
        batch_op.create_index('ix_conversations_assigned', ['account_id', 'assigned_to', 'state', 'has_unread', 'last_message_id'], unique=False)

    op.create_table('keyword_rules',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('match', sa.String(length=10), nullable=False),
    sa.Column('reply', sa.Text(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("match IN ('contains', 'exact')", name=op.f('ck_keyword_rules_match')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_keyword_rules_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_keyword_rules')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('keyword_rules', schema=None) as batch_op:
        batch_op.create_index('ix_keyword_rules_account', ['account_id', 'priority', 'id'], unique=False)

    op.create_table('message_daily_counts',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('messages_in', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('messages_out', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('auto_replies', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('conversations_started', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('responses', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('response_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('first_responses', sa.BigInteger(), server_default='0', nullable=False),
    sa.Column('first_response_seconds', sa.BigInteger(), server_default='0', nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_message_daily_counts_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', 'day', name=op.f('pk_message_daily_counts'))
    )
    op.create_table('conversation_labels',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('label', sa.String(length=40), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('has_unread', sa.Boolean(), nullable=False),
    sa.Column('last_message_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_labels_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('conversation_id', 'label', name=op.f('pk_conversation_labels'))
    )
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_labels_inbox', ['account_id', 'label', 'state', 'has_unread', 'last_message_id'], unique=False)

    op.create_table('conversation_notes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('author_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_conversation_notes_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_notes_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_notes')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.create_index('ix_conversation_notes_conversation', ['conversation_id', 'id'], unique=False)

    op.create_table('message_reports',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('side', sa.String(length=10), nullable=False),
    sa.Column('reporter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("side IN ('staff', 'citizen')", name=op.f('ck_message_reports_side')),
    sa.CheckConstraint("status IN ('open', 'reviewed')", name=op.f('ck_message_reports_status')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_message_reports_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_message_reports_reporter_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_reports')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('message_reports', schema=None) as batch_op:
        batch_op.create_index('ix_message_reports_status', ['status', 'id'], unique=False)

    op.create_table('messages',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('account_id', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_folded', sa.Text(), nullable=False),
    sa.Column('attachment', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('latitude', sa.Float(), nullable=True),
    sa.Column('longitude', sa.Float(), nullable=True),
    sa.Column('commune_code', sa.String(length=5), nullable=True),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('sent_by', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('auto', sa.String(length=12), nullable=True),
    sa.Column('client_ref', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("direction IN ('in', 'out')", name=op.f('ck_messages_direction')),
    sa.CheckConstraint("kind IN ('text', 'image', 'file', 'location', 'link')", name=op.f('ck_messages_kind')),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['sent_by'], ['users.id'], name=op.f('fk_messages_sent_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_account', ['account_id', 'id'], unique=False)
        batch_op.create_index('ix_messages_client_ref', ['conversation_id', 'client_ref'], unique=True, sqlite_where=sa.text('client_ref IS NOT NULL'), postgresql_where=sa.text('client_ref IS NOT NULL'))
        batch_op.create_index('ix_messages_conversation', ['conversation_id', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_conversation')
        batch_op.drop_index('ix_messages_client_ref', sqlite_where=sa.text('client_ref IS NOT NULL'), postgresql_where=sa.text('client_ref IS NOT NULL'))
        batch_op.drop_index('ix_messages_account')

    op.drop_table('messages')
    with op.batch_alter_table('message_reports', schema=None) as batch_op:
        batch_op.drop_index('ix_message_reports_status')

    op.drop_table('message_reports')
    with op.batch_alter_table('conversation_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_notes_conversation')

    op.drop_table('conversation_notes')
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_labels_inbox')

    op.drop_table('conversation_labels')
    op.drop_table('message_daily_counts')
    with op.batch_alter_table('keyword_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_keyword_rules_account')

    op.drop_table('keyword_rules')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_assigned')
        batch_op.drop_index('ix_conversations_inbox')
        batch_op.drop_index('ix_conversations_citizen')

    op.drop_table('conversations')
    op.drop_table('conversation_automation')
    with op.batch_alter_table('canned_replies', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_replies_account_id'))

    op.drop_table('canned_replies')
    with op.batch_alter_table('conversation_events', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_events_citizen')
        batch_op.drop_index('ix_conversation_events_account')

    op.drop_table('conversation_events')
