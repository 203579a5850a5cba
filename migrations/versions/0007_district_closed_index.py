"""problems open at a month's end, per district: one city's tally in a nation's database

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 13:15:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_issues_district_id_closed_at', 'issues', ['district_id', 'closed_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_issues_district_id_closed_at', table_name='issues')
