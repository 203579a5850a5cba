"""indexes for lists at scale: events and problems newest first, outcomes by outcome time

Measured on the city ten-year benchmark (bench/scale_bench.py): the public past-events list,
the outcomes list and the staff problems list sorted every row of their table per page.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_events_starts_at_id', 'events', ['starts_at', 'id'], unique=False)
    op.create_index('ix_issues_created_at_id', 'issues', ['created_at', 'id'], unique=False)
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False)


def downgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    op.drop_index('ix_issues_created_at_id', table_name='issues')
    op.drop_index('ix_events_starts_at_id', table_name='events')
