"""The deadline sweep's state moves from `reports` to the narrow `report_checks` (one row per report); staff
notices no longer hold a foreign key to their report (its check locked every report noticed) and may be
about several reports (`report_count`).

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('report_checks',
    sa.Column('report_id', BIG_ID, nullable=False),
    sa.Column('check_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_checks_report_id_reports'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', name=op.f('pk_report_checks'))
    )
    op.execute("INSERT INTO report_checks (report_id, check_at, reminded_at, escalated_at) "
               "SELECT id, next_check_at, reminded_at, escalated_at FROM reports")
    with op.batch_alter_table('report_checks', schema=None) as batch_op:
        batch_op.create_index('ix_report_checks_due', ['check_at'], unique=False,
                              postgresql_where=sa.text('check_at IS NOT NULL'),
                              sqlite_where=sa.text('check_at IS NOT NULL'))

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_deadline'), postgresql_where=sa.text('next_check_at IS NOT NULL'),
                            sqlite_where=sa.text('next_check_at IS NOT NULL'))
        batch_op.drop_column('reminded_at')
        batch_op.drop_column('escalated_at')
        batch_op.drop_column('next_check_at')

    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_staff_notices_report_id_reports'), type_='foreignkey')
        batch_op.add_column(sa.Column('report_count', sa.Integer(), server_default='1', nullable=False))


def downgrade() -> None:
    op.execute("DELETE FROM staff_notices WHERE report_id IS NULL OR report_id NOT IN (SELECT id FROM reports)")
    with op.batch_alter_table('staff_notices', schema=None) as batch_op:
        batch_op.drop_column('report_count')
        batch_op.create_foreign_key(batch_op.f('fk_staff_notices_report_id_reports'), 'reports', ['report_id'],
                                    ['id'], ondelete='CASCADE')

    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('escalated_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_reports_deadline'), ['next_check_at'], unique=False,
                              postgresql_where=sa.text('next_check_at IS NOT NULL'),
                              sqlite_where=sa.text('next_check_at IS NOT NULL'))
    op.execute("UPDATE reports SET next_check_at = c.check_at, reminded_at = c.reminded_at, "
               "escalated_at = c.escalated_at FROM report_checks c WHERE c.report_id = reports.id")

    with op.batch_alter_table('report_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_report_checks_due', postgresql_where=sa.text('check_at IS NOT NULL'),
                            sqlite_where=sa.text('check_at IS NOT NULL'))

    op.drop_table('report_checks')
