"""account security: passwords set by someone else must be changed; API tokens expire

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 23:10:00

``users.must_change_password`` is set when a password is chosen by someone other than its
owner (user create, an admin's or district admin's reset) and cleared when the owner picks
their own. ``api_tokens.expires_at``: tokens issued before this revision expire 180 days
after they were made, and not before 30 days after the upgrade.
"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('must_change_password', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(timezone=True),
                                      nullable=True))
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.add_column(sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True))
    tokens = sa.table('api_tokens', sa.column('id', sa.Integer()),
                      sa.column('created_at', sa.DateTime(timezone=True)),
                      sa.column('expires_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    rows = bind.execute(sa.select(tokens.c.id, tokens.c.created_at)).all()
    from datetime import UTC, datetime, timedelta
    # Integrations keep working for 30 days after the release at least, however old their
    # token: long enough to issue a new one.
    grace = datetime.now(UTC) + timedelta(days=30)
    for token_id, created_at in rows:
        if created_at is None:
            continue
        if created_at.tzinfo is None:
            created_at = created_at.replace(tzinfo=UTC)
        bind.execute(tokens.update().where(tokens.c.id == token_id)
                     .values(expires_at=max(created_at + timedelta(days=180), grace)))


def downgrade():
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_column('expires_at')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('must_change_password')
