"""indexes for lists and tallies at scale

Measured on the city ten-year benchmark (bench/scale_bench.py): the public past-events list,
the outcomes list and the staff problems list sorted every row of their table per page, and
the monthly tally scanned every problem for the month's closures, ratings and plans.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 12:40:00

"""
import sqlalchemy as sa
from alembic import op

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
    op.create_index('ix_issues_closed_at_status', 'issues', ['closed_at', 'status'], unique=False)
    op.create_index('ix_issues_rated_at', 'issues', ['rated_at'], unique=False)
    op.create_index('ix_issue_updates_to_status_created_at', 'issue_updates',
                    ['to_status', 'created_at'], unique=False)


def downgrade():
    op.drop_index('ix_issue_updates_to_status_created_at', table_name='issue_updates')
    op.drop_index('ix_issues_rated_at', table_name='issues')
    op.drop_index('ix_issues_closed_at_status', table_name='issues')
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    op.drop_index('ix_issues_created_at_id', table_name='issues')
    op.drop_index('ix_events_starts_at_id', table_name='events')
