"""Administrative units (current and legacy) and the legacy → current conversion map.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('admin_units',
    sa.Column('scheme', sa.String(length=7), nullable=False),
    sa.Column('level', sa.String(length=8), nullable=False),
    sa.Column('code', sa.String(length=5), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('short_name', sa.String(length=100), nullable=False),
    sa.Column('unit_type', sa.String(length=20), nullable=False),
    sa.Column('search_name', sa.String(length=100), nullable=False),
    sa.Column('search_text', sa.String(length=400), nullable=False),
    sa.Column('province_code', sa.String(length=2), nullable=True),
    sa.Column('district_code', sa.String(length=3), nullable=True),
    sa.Column('lat', sa.Float(), nullable=True),
    sa.Column('lon', sa.Float(), nullable=True),
    sa.Column('area_km2', sa.Float(), nullable=True),
    sa.Column('data_version', sa.String(length=40), nullable=False),
    sa.CheckConstraint("level IN ('province', 'district', 'commune')", name=op.f('ck_admin_units_level')),
    sa.CheckConstraint("scheme IN ('current', 'legacy')", name=op.f('ck_admin_units_scheme')),
    sa.PrimaryKeyConstraint('scheme', 'level', 'code', name=op.f('pk_admin_units'))
    )
    with op.batch_alter_table('admin_units', schema=None) as batch_op:
        batch_op.create_index('ix_admin_units_parent', ['scheme', 'level', 'province_code', 'code'], unique=False)
        batch_op.create_index('ix_admin_units_position', ['scheme', 'level', 'lat', 'lon'], unique=False)

    op.create_table('admin_unit_conversions',
    sa.Column('legacy_level', sa.String(length=8), nullable=False),
    sa.Column('legacy_code', sa.String(length=5), nullable=False),
    sa.Column('current_code', sa.String(length=5), nullable=False),
    sa.Column('current_province_code', sa.String(length=2), nullable=False),
    sa.Column('is_split', sa.Boolean(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.CheckConstraint("legacy_level IN ('province', 'district', 'commune')", name=op.f('ck_admin_unit_conversions_legacy_level')),
    sa.PrimaryKeyConstraint('legacy_level', 'legacy_code', 'current_code', name=op.f('pk_admin_unit_conversions'))
    )
    with op.batch_alter_table('admin_unit_conversions', schema=None) as batch_op:
        batch_op.create_index('ix_admin_unit_conversions_current', ['current_code', 'legacy_level'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('admin_unit_conversions', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_unit_conversions_current')

    op.drop_table('admin_unit_conversions')
    with op.batch_alter_table('admin_units', schema=None) as batch_op:
        batch_op.drop_index('ix_admin_units_position')
        batch_op.drop_index('ix_admin_units_parent')

    op.drop_table('admin_units')
