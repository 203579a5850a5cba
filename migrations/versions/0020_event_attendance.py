"""planned events say whether residents can come and how (attendance, attendance_note)

Revision ID: 0020
Revises: 0017
Create Date: 2026-12-10 12:00:00

Both columns are nullable: events planned before this revision never said, and the public
page shows nothing rather than a guess.
"""
import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'attendance',
            sa.Enum('open', 'invited', name='event_attendance', native_enum=False,
                    create_constraint=True, length=7),
            nullable=True))
        batch_op.add_column(sa.Column('attendance_note', sa.String(length=200), nullable=True))


def downgrade():
    with op.batch_alter_table('events', schema=None) as batch_op:
        # SQLite rebuilds the table with its CHECKs: this one names the dropped column.
        batch_op.drop_constraint(op.f('ck_events_event_attendance'), type_='check')
        batch_op.drop_column('attendance_note')
        batch_op.drop_column('attendance')
