"""platforms keep their closing date and status history

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07 08:00:00

New table platform_status_changes (one row per change of a platform's status, from the day it
takes effect) and platforms.closed_on. The monthly tallies read a platform's status at a
month's end from the history, so a platform closed later still counts in the months it was open.

Backfill, for every existing platform:
- an opening row (no from_status, to active) effective on its established_on;
- then one row per suspend / close / reactivate found in the audit log (actions
  platform_suspend, platform_close, platform_reactivate, and platform_import rows that changed
  the status), in order, with the audit row's actor and reason, effective on the audit row's
  date in Asia/Shanghai (the day it was recorded: the only date there is);
- if the status reached that way is not the platform's status now (changed before the audit
  log recorded status changes, or by hand), a last row to the current status effective on the
  day of the platform's updated_at (the latest change to the record: the best date
  available, and never earlier than the real change), with no actor.
closed_on of a closed platform is the effective date of its last row.
"""
from datetime import UTC
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

STATUSES = ('active', 'suspended', 'closed')
ZONE = ZoneInfo('Asia/Shanghai')  # config TIMEZONE's default: the city's days
ACTIONS = ('platform_suspend', 'platform_close', 'platform_reactivate', 'platform_import')
BATCH = 5000


def _status(name):
    return sa.Enum(*STATUSES, name=name, native_enum=False, create_constraint=True,
                   length=max(len(s) for s in STATUSES))


def upgrade():
    op.create_table(
        'platform_status_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('platform_id', sa.Integer(), nullable=False),
        sa.Column('from_status', _status('platform_from_status'), nullable=True),
        sa.Column('to_status', _status('platform_to_status'), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('actor_id', sa.Integer(), nullable=True),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['actor_id'], ['users.id'], ondelete='SET NULL',
                                name=op.f('fk_platform_status_changes_actor_id_users')),
        sa.ForeignKeyConstraint(['platform_id'], ['platforms.id'], ondelete='CASCADE',
                                name=op.f('fk_platform_status_changes_platform_id_platforms')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_platform_status_changes')),
    )
    with op.batch_alter_table('platform_status_changes') as b:
        b.create_index('ix_platform_status_changes_platform_id',
                       ['platform_id', 'effective_on', 'id'], unique=False)
        b.create_index('ix_platform_status_changes_effective_on', ['effective_on'], unique=False,
                       sqlite_where=sa.text('from_status IS NOT NULL'),
                       postgresql_where=sa.text('from_status IS NOT NULL'))
    with op.batch_alter_table('platforms') as b:
        b.add_column(sa.Column('closed_on', sa.Date(), nullable=True))
    _backfill(op.get_bind())


def _day(value):
    """The local (Asia/Shanghai) day of a stored UTC time (SQLite gives it back naive)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(ZONE).date()


def _backfill(conn):
    changes = sa.table(
        'platform_status_changes', sa.column('platform_id', sa.Integer),
        sa.column('from_status', sa.String), sa.column('to_status', sa.String),
        sa.column('effective_on', sa.Date), sa.column('actor_id', sa.Integer),
        sa.column('reason', sa.Text), sa.column('created_at', sa.DateTime))
    platforms = sa.table(
        'platforms', sa.column('id', sa.Integer), sa.column('status', sa.String),
        sa.column('established_on', sa.Date), sa.column('created_at', sa.DateTime),
        sa.column('updated_at', sa.DateTime), sa.column('closed_on', sa.Date))
    log = sa.table(
        'audit_log', sa.column('id', sa.Integer), sa.column('entity_type', sa.String),
        sa.column('entity_id', sa.Integer), sa.column('actor_id', sa.Integer),
        sa.column('action', sa.String), sa.column('changes', sa.JSON),
        sa.column('created_at', sa.DateTime))
    audit = {}
    for entity_id, actor_id, found, created_at in conn.execute(
            sa.select(log.c.entity_id, log.c.actor_id, log.c.changes, log.c.created_at)
            .where(log.c.entity_type == 'platforms', log.c.action.in_(ACTIONS))
            .order_by(log.c.id)):
        moved = (found or {}).get('status')
        if not isinstance(moved, list) or len(moved) != 2 or moved[0] == moved[1]:
            continue  # an import that left the status alone
        reason = found.get('reason') if isinstance(found.get('reason'), str) else None
        audit.setdefault(entity_id, []).append(
            (moved[0], moved[1], _day(created_at), actor_id, reason, created_at))
    rows, closed = [], []
    for platform_id, status, established_on, created_at, updated_at in conn.execute(
            sa.select(platforms.c.id, platforms.c.status, platforms.c.established_on,
                      platforms.c.created_at, platforms.c.updated_at)
            .order_by(platforms.c.id)):
        rows.append({'platform_id': platform_id, 'from_status': None, 'to_status': 'active',
                     'effective_on': established_on, 'actor_id': None, 'reason': None,
                     'created_at': created_at})
        current, day = 'active', established_on
        for before, after, on, actor_id, reason, at in audit.get(platform_id, []):
            if before != current or after not in STATUSES:
                continue  # out of step with what is known: the last row below settles it
            day = max(on, day)
            rows.append({'platform_id': platform_id, 'from_status': current, 'to_status': after,
                         'effective_on': day, 'actor_id': actor_id, 'reason': reason,
                         'created_at': at})
            current = after
        if current != status:
            day = max(_day(updated_at), day)
            rows.append({'platform_id': platform_id, 'from_status': current, 'to_status': status,
                         'effective_on': day, 'actor_id': None, 'reason': None,
                         'created_at': updated_at})
        if status == 'closed':
            closed.append({'pid': platform_id, 'day': day})
        if len(rows) >= BATCH:
            conn.execute(changes.insert(), rows)
            rows = []
    if rows:
        conn.execute(changes.insert(), rows)
    for start in range(0, len(closed), BATCH):
        conn.execute(platforms.update().where(platforms.c.id == sa.bindparam('pid'))
                     .values(closed_on=sa.bindparam('day')), closed[start:start + BATCH])


def downgrade():
    with op.batch_alter_table('platforms') as b:
        b.drop_column('closed_on')
    with op.batch_alter_table('platform_status_changes') as b:
        b.drop_index('ix_platform_status_changes_effective_on')
        b.drop_index('ix_platform_status_changes_platform_id')
    op.drop_table('platform_status_changes')
