"""platforms by demonstration and kind

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-28 16:15:00

The directory's 示范点 filter (with or without a kind) counted its matches by reading the
platforms table: 63 ms nationally once the table grew the search column (0011).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_platforms_is_demonstration_kind', 'platforms',
                    ['is_demonstration', 'kind'], unique=False)


def downgrade():
    op.drop_index('ix_platforms_is_demonstration_kind', table_name='platforms')
