"""Open311 for integrating systems: API keys, reported locations and contact, no platform yet

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-08 10:00:00

Integrating systems (a 12345 hotline) send an API key with their Open311 submissions
(``api_keys``). A submission may name no platform (an address without coordinates): it waits
for review without one, and staff choose the platform when they accept it, so a problem's
platform and district may be empty while it is unpublished (and only then). Problems keep the
reported address and address id, an email and a photo link, privately; ``address`` is the
location staff publish.

Existing data: every problem has a platform and keeps it; the new columns start empty.
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None

OUTCOME_WHERE = ("issues.status IN ('resolved', 'planned', 'constrained') "
                 "AND issues.published_at IS NOT NULL")
NEW_COLUMNS = (('submitter_email', 254), ('submitted_address', 200), ('address_id', 64),
               ('address', 200), ('media_url', 2048))


def _outcome_index():
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False,
                    sqlite_where=sa.text(OUTCOME_WHERE), postgresql_where=sa.text(OUTCOME_WHERE))


def upgrade():
    op.create_table(
        'api_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('system', sa.String(length=200), nullable=False),
        sa.Column('prefix', sa.String(length=16), nullable=False),
        sa.Column('key_hash', sa.String(length=64), nullable=False),
        sa.Column('rate_limit', sa.String(length=64), nullable=False),
        sa.Column('issued_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'],
                                name=op.f('fk_api_keys_issued_by_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_api_keys')),
        sa.UniqueConstraint('key_hash', name=op.f('uq_api_keys_key_hash')),
    )
    op.create_index(op.f('ix_api_keys_issued_by_id'), 'api_keys', ['issued_by_id'], unique=False)

    # SQLite's batch mode reflects the issues table and cannot read an expression index.
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    with op.batch_alter_table('issues') as b:
        b.alter_column('platform_id', existing_type=sa.Integer(), nullable=True)
        b.alter_column('district_id', existing_type=sa.Integer(), nullable=True)
        for name, length in NEW_COLUMNS:
            b.add_column(sa.Column(name, sa.String(length=length), nullable=True))
        b.create_check_constraint(
            b.f('ck_issues_published_has_platform'),
            "published_at IS NULL OR (platform_id IS NOT NULL AND district_id IS NOT NULL)")
    _outcome_index()


def downgrade():
    # Submissions still waiting for a platform cannot be kept without one: they go, with
    # their timeline (it cascades), before the columns become required again.
    op.execute("DELETE FROM issue_updates WHERE issue_id IN "
               "(SELECT id FROM issues WHERE platform_id IS NULL)")
    op.execute("DELETE FROM issues WHERE platform_id IS NULL")
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    with op.batch_alter_table('issues') as b:
        b.drop_constraint(b.f('ck_issues_published_has_platform'), type_='check')
        for name, _length in reversed(NEW_COLUMNS):
            b.drop_column(name)
        b.alter_column('district_id', existing_type=sa.Integer(), nullable=False)
        b.alter_column('platform_id', existing_type=sa.Integer(), nullable=False)
    _outcome_index()
    op.drop_index(op.f('ix_api_keys_issued_by_id'), table_name='api_keys')
    op.drop_table('api_keys')
