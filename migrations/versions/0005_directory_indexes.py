"""indexes for the directory's order and the district lists at national scale

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 12:50:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_platforms_directory', 'platforms',
                    ['status', 'district_id', 'name', 'id'], unique=False)
    op.create_index('ix_areas_level_code', 'areas', ['level', 'code'], unique=False)


def downgrade():
    op.drop_index('ix_areas_level_code', table_name='areas')
    op.drop_index('ix_platforms_directory', table_name='platforms')
