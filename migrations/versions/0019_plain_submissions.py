"""residents submit in plain words: unclassified until review, with photos and text messages

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-08 10:00:00

A resident's submission no longer carries a kind (问题类型) and category (类别): staff give
them when they accept it (受理), so both columns allow NULL, and a published problem must have
both (every existing problem is classified, so the check holds). Submissions keep the
everyday subject the resident picked (issues/subjects.py), whether they asked for text
messages, their photos (issue_photos, private until published) and the text-message outbox.
"""
import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

TEXT_STATUSES = ('pending', 'sending', 'sent', 'failed')
OUTCOME_WHERE = ("issues.status IN ('resolved', 'planned', 'constrained')"
                 " AND issues.published_at IS NOT NULL")


def _outcome_index():
    # SQLite's batch mode copies the table without the expression index it cannot reflect:
    # dropped before, built again after (as in 0016).
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False,
                    sqlite_where=sa.text(OUTCOME_WHERE), postgresql_where=sa.text(OUTCOME_WHERE))


def upgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    with op.batch_alter_table('issues') as b:
        b.alter_column('kind', existing_type=sa.String(length=10), nullable=True)
        b.alter_column('category', existing_type=sa.String(length=8), nullable=True)
        b.add_column(sa.Column('subject', sa.String(length=32), nullable=True))
        b.add_column(sa.Column('sms_consent_at', sa.DateTime(timezone=True), nullable=True))
        b.create_check_constraint(
            b.f('ck_issues_published_is_classified'),
            "published_at IS NULL OR (kind IS NOT NULL AND category IS NOT NULL)")
    _outcome_index()

    op.create_table(
        'issue_photos',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('stored_name', sa.String(length=64), nullable=False),
        sa.Column('content_type', sa.String(length=32), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('is_public', sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('size > 0 AND width > 0 AND height > 0',
                           name=op.f('ck_issue_photos_positive_dimensions')),
        sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], ondelete='CASCADE',
                                name=op.f('fk_issue_photos_issue_id_issues')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_photos')),
        sa.UniqueConstraint('stored_name', name=op.f('uq_issue_photos_stored_name')),
    )
    with op.batch_alter_table('issue_photos') as b:
        b.create_index(b.f('ix_issue_photos_issue_id'), ['issue_id'], unique=False)

    op.create_table(
        'text_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('update_id', sa.Integer(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('status', sa.Enum(*TEXT_STATUSES, name='text_status', native_enum=False,
                                    create_constraint=True, length=7), nullable=False),
        sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['issue_id'], ['issues.id'], ondelete='CASCADE',
                                name=op.f('fk_text_messages_issue_id_issues')),
        sa.ForeignKeyConstraint(['update_id'], ['issue_updates.id'], ondelete='CASCADE',
                                name=op.f('fk_text_messages_update_id_issue_updates')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_text_messages')),
        sa.UniqueConstraint('update_id', name=op.f('uq_text_messages_update_id')),
    )
    with op.batch_alter_table('text_messages') as b:
        b.create_index(b.f('ix_text_messages_issue_id'), ['issue_id'], unique=False)
        b.create_index('ix_text_messages_status_next_attempt_at',
                       ['status', 'next_attempt_at'], unique=False)


def downgrade():
    op.drop_table('text_messages')
    op.drop_table('issue_photos')
    # Submissions still waiting unclassified get the kind and category they had to carry
    # before this revision: the commonest ones, for staff to correct at review.
    op.execute("UPDATE issues SET kind = 'doorstep' WHERE kind IS NULL")
    op.execute("UPDATE issues SET category = 'society' WHERE category IS NULL")
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    with op.batch_alter_table('issues') as b:
        b.drop_constraint(b.f('ck_issues_published_is_classified'), type_='check')
        b.drop_column('sms_consent_at')
        b.drop_column('subject')
        b.alter_column('category', existing_type=sa.String(length=8), nullable=False)
        b.alter_column('kind', existing_type=sa.String(length=10), nullable=False)
    _outcome_index()
