"""Statistics: month and year rows now hold their settled days only (the days after
`stats_state.settled_through` are read from their day rows). Rollups kept the other way held the open days
too, so they are built again from the raw tables by the next sweep.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("UPDATE stats_state SET built_at = NULL")


def downgrade() -> None:
    op.execute("UPDATE stats_state SET built_at = NULL")
