"""problems by district and status, in id order

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 15:30:00

The API's problem list (oldest first) filtered by district and status: without the id in the
index PostgreSQL walked the primary key of 10 million problems for a district it believed
busier than it was (0.9 s). The new index serves everything the old one did.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_issues_district_id_status_id', 'issues', ['district_id', 'status', 'id'],
                    unique=False)
    op.drop_index('ix_issues_district_id_status', table_name='issues')


def downgrade():
    op.create_index('ix_issues_district_id_status', 'issues', ['district_id', 'status'],
                    unique=False)
    op.drop_index('ix_issues_district_id_status_id', table_name='issues')
