"""monthly tallies by scope, then month

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 13:25:00

"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_monthly_tallies_scope_key_month', 'monthly_tallies',
                    ['scope_key', 'month'], unique=False)
    op.create_index('ix_monthly_tallies_scope_month', 'monthly_tallies', ['scope', 'month'],
                    unique=False)


def downgrade():
    op.drop_index('ix_monthly_tallies_scope_month', table_name='monthly_tallies')
    op.drop_index('ix_monthly_tallies_scope_key_month', table_name='monthly_tallies')
