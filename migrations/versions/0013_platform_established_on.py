"""platforms by founding date

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-28 16:35:00

Every report and tally API call asks for the first platform's founding (the first month
there is): 55 ms nationally as a read of the whole platforms table; an index answers it.
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_platforms_established_on', 'platforms', ['established_on'], unique=False)


def downgrade():
    op.drop_index('ix_platforms_established_on', table_name='platforms')
