"""two-character platform search on PostgreSQL

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-28 15:45:00

pg_trgm needs three characters of a search, and most Chinese place names have two ("文昌"):
those searches still read all of a nation's platforms. A generated column holds the
searchable text with every character doubled, where "文昌" is looked up as "文文昌昌" in its
trigram index (platforms.queries.PairedSearch narrows by it, the plain condition decides).
PostgreSQL only: the models do not map the column (core.db.UNCOMPARED).
"""
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute("ALTER TABLE platforms ADD COLUMN search_pairs text GENERATED ALWAYS AS "
               "(regexp_replace(name || ' ' || address || ' ' || code, '(.)', '\\1\\1', 'g')) "
               "STORED")
    op.execute('CREATE INDEX ix_platforms_search_pairs ON platforms USING gin '
               '(search_pairs gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.drop_index('ix_platforms_search_pairs', table_name='platforms')
    op.execute('ALTER TABLE platforms DROP COLUMN search_pairs')
