"""notifications carry their facts (data), so a digest lists its platforms, each linked

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 12:00:00

The monthly digest of inactive platforms (one message per district, replacing one message per
platform) keeps its list as JSON; the inbox renders it, with links, in the reader's language.
Existing notifications keep no data and show their text as before.
"""
import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.add_column(sa.Column('data', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_column('data')
