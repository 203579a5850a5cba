"""outcomes index holds outcomes only

At national scale the open problems, changed most lately, sat at the top of the full index
and the outcome list skipped tens of thousands of them per page.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 13:05:00

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

OUTCOME_WHERE = "issues.status IN ('resolved', 'planned', 'constrained')"


def upgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False,
                    sqlite_where=sa.text(OUTCOME_WHERE), postgresql_where=sa.text(OUTCOME_WHERE))


def downgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False)
