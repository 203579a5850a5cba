"""platform search by trigram on PostgreSQL

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28 15:05:00

The directory's substring search ("文昌社区", an address, a code) read all of a nation's
300,000 platforms; pg_trgm's GIN index answers any search of three characters or more.
pg_trgm ships with PostgreSQL and is a trusted extension (13+): the database's owner may
install it. SQLite has no such index and needs none (a city's platforms).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

COLUMNS = ('name', 'address', 'code')


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    op.create_index('ix_platforms_search_trgm', 'platforms', list(COLUMNS), unique=False,
                    postgresql_using='gin',
                    postgresql_ops={column: 'gin_trgm_ops' for column in COLUMNS})


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_platforms_search_trgm', table_name='platforms')
