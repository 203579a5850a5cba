"""Markdown fields keep their sanitised HTML beside them (core/prose.py)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07 16:00:00

Events' agenda, minutes, opinions and outcome and platforms' description are rendered once,
when saved, instead of on every view (an event's page spent 1.8 ms of 6 converting them). The
existing rows are rendered here, a thousand per statement (the city ten-year dataset's 15,000
events and 1,500 platforms: about 20 s on a 2-core machine).
"""
import sqlalchemy as sa
from alembic import op

from consult_hub.core.prose import html_column, render_missing

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

# As they were at this revision (the models may name more later).
FIELDS = {'events': ('agenda', 'minutes', 'opinions', 'outcome'), 'platforms': ('description',)}


def upgrade():
    for table, fields in FIELDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for field in fields:
                batch_op.add_column(sa.Column(html_column(field), sa.Text(), nullable=True))
    render_missing(op.get_bind(), FIELDS)


def downgrade():
    for table, fields in FIELDS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for field in fields:
                batch_op.drop_column(html_column(field))
