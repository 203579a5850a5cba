"""departments act on problems; residents' submissions wait for review before anything is public

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 02:00:00

Problems gain the statuses pending (待受理), acknowledged (已签收) and replied (已答复待确认),
the department handling columns, publication and consent. Users gain the department role,
tallies a department scope, and districts keep routing rules for 交办.

Existing data: every problem is published as it was, except residents' submissions still at
"received" (never looked at by staff), which become "pending" and private until reviewed.
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OLD_STATUSES = ('received', 'assigned', 'in_progress', 'resolved', 'planned', 'constrained',
                'rejected')
NEW_STATUSES = ('pending', 'received', 'assigned', 'acknowledged', 'in_progress', 'replied',
                'resolved', 'planned', 'constrained', 'rejected')
OLD_OUTCOME_WHERE = "issues.status IN ('resolved', 'planned', 'constrained')"
NEW_OUTCOME_WHERE = OLD_OUTCOME_WHERE + " AND issues.published_at IS NOT NULL"


def _in(column, values):
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def _status_type(values):
    return sa.Enum(*values, name='issue_status', native_enum=False, create_constraint=False,
                   length=max(len(v) for v in values))


def _outcome_index(where):
    op.create_index('ix_issues_outcome_time', 'issues',
                    [sa.text('coalesce(closed_at, updated_at)'), 'id'], unique=False,
                    sqlite_where=sa.text(where), postgresql_where=sa.text(where))


def upgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    with op.batch_alter_table('issues') as b:
        b.drop_constraint(b.f('ck_issues_issue_status'), type_='check')
        b.drop_constraint(b.f('ck_issues_assigned_has_department_and_due_date'), type_='check')
        b.alter_column('status', type_=_status_type(NEW_STATUSES), existing_nullable=False)
        b.add_column(sa.Column('published_at', sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('submitted_title', sa.String(length=200), nullable=True))
        b.add_column(sa.Column('submitted_text', sa.Text(), nullable=True))
        b.add_column(sa.Column('consent_version', sa.String(length=16), nullable=True))
        b.add_column(sa.Column('contact_erased_at', sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('replied_at', sa.DateTime(timezone=True), nullable=True))
        b.add_column(sa.Column('reply', sa.Text(), nullable=True))
        b.add_column(sa.Column('proposed_status', sa.Enum(
            *NEW_STATUSES, name='proposed_status', native_enum=False, create_constraint=False,
            length=12), nullable=True))
        b.add_column(sa.Column('proposed_planned_on', sa.Date(), nullable=True))
        b.add_column(sa.Column('requested_due_on', sa.Date(), nullable=True))
        b.add_column(sa.Column('extension_reason', sa.Text(), nullable=True))
        b.add_column(sa.Column('rework_reason', sa.Text(), nullable=True))
        b.add_column(sa.Column('returned_at', sa.DateTime(timezone=True), nullable=True))
        b.create_check_constraint(b.f('ck_issues_issue_status'), _in('status', NEW_STATUSES))
        b.create_check_constraint(b.f('ck_issues_proposed_status'), _in('proposed_status',
                                                                   NEW_STATUSES))
        b.create_check_constraint(b.f('ck_issues_assigned_has_department_and_due_date'),
            "status NOT IN ('assigned', 'acknowledged', 'in_progress', 'replied') OR "
            "(department_id IS NOT NULL AND due_on IS NOT NULL)")
        b.create_check_constraint(b.f('ck_issues_replied_has_reply'),
            "status != 'replied' OR (reply IS NOT NULL AND proposed_status IS NOT NULL)")
        b.create_check_constraint(b.f('ck_issues_pending_is_unpublished'),
                                  "status != 'pending' OR published_at IS NULL")
        b.create_index('ix_issues_closed_at_contact', ['closed_at'], unique=False,
                       sqlite_where=sa.text('contact_erased_at IS NULL'),
                       postgresql_where=sa.text('contact_erased_at IS NULL'))
    # Unreviewed submissions become pending and private; the rest stays public as it was.
    op.execute("UPDATE issues SET status = 'pending', submitted_title = title, "
               "submitted_text = description WHERE source = 'resident' AND status = 'received'")
    op.execute("UPDATE issue_updates SET to_status = 'pending' WHERE action = 'receive' AND "
               "issue_id IN (SELECT id FROM issues WHERE status = 'pending')")
    op.execute("UPDATE issues SET published_at = created_at WHERE status != 'pending'")

    with op.batch_alter_table('issue_updates') as b:
        b.drop_constraint(b.f('ck_issue_updates_from_status'), type_='check')
        b.drop_constraint(b.f('ck_issue_updates_to_status'), type_='check')
        for name in ('from_status', 'to_status'):
            b.alter_column(name, type_=sa.Enum(*NEW_STATUSES, name=name, native_enum=False,
                                               create_constraint=False, length=12))
        b.create_check_constraint(b.f('ck_issue_updates_from_status'),
                                  _in('from_status', NEW_STATUSES))
        b.create_check_constraint(b.f('ck_issue_updates_to_status'), _in('to_status', NEW_STATUSES))
        b.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        b.add_column(sa.Column('due_on', sa.Date(), nullable=True))
        b.create_foreign_key(b.f('fk_issue_updates_department_id_departments'), 'departments',
                             ['department_id'], ['id'])
        b.create_index('ix_issue_updates_department_id_created_at',
                       ['department_id', 'created_at'], unique=False)
    # Existing entries after an assignment concern the problem's present department (the
    # schema kept no other); earlier ones and those without a department stay NULL.
    op.execute("UPDATE issue_updates SET department_id = (SELECT i.department_id FROM issues i "
               "WHERE i.id = issue_updates.issue_id), due_on = (SELECT i.due_on FROM issues i "
               "WHERE i.id = issue_updates.issue_id) WHERE action != 'receive' AND id >= "
               "(SELECT coalesce(max(u.id), 0) FROM issue_updates u WHERE u.issue_id = "
               "issue_updates.issue_id AND u.action = 'assign')")

    with op.batch_alter_table('users') as b:
        b.drop_constraint(b.f('ck_users_role'), type_='check')
        b.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        b.create_foreign_key(b.f('fk_users_department_id_departments'), 'departments',
                             ['department_id'], ['id'])
        b.create_index(b.f('ix_users_department_id'), ['department_id'], unique=False)
        b.create_check_constraint(b.f('ck_users_role'), "role IN ('admin', 'district_admin', 'coordinator', 'department')")
        b.create_check_constraint(b.f('ck_users_department_user_has_department'),
                                  "role != 'department' OR department_id IS NOT NULL")

    with op.batch_alter_table('monthly_tallies') as b:
        b.drop_constraint(b.f('ck_monthly_tallies_tally_scope'), type_='check')
        b.drop_constraint(b.f('ck_monthly_tallies_scope_matches_target'), type_='check')
        b.alter_column('scope', type_=sa.Enum('city', 'district', 'platform', 'department',
                                              name='tally_scope', native_enum=False,
                                              create_constraint=False, length=10),
                       existing_nullable=False)
        b.add_column(sa.Column('department_id', sa.Integer(), nullable=True))
        b.create_foreign_key(b.f('fk_monthly_tallies_department_id_departments'), 'departments',
                             ['department_id'], ['id'])
        b.create_index(b.f('ix_monthly_tallies_department_id'), ['department_id'], unique=False)
        b.create_check_constraint(b.f('ck_monthly_tallies_tally_scope'),
            "scope IN ('city', 'district', 'platform', 'department')")
        b.create_check_constraint(b.f('ck_monthly_tallies_scope_matches_target'),
            "(scope = 'city' AND area_id IS NULL AND platform_id IS NULL) OR "
            "(scope = 'district' AND area_id IS NOT NULL AND platform_id IS NULL) OR "
            "(scope = 'platform' AND platform_id IS NOT NULL) OR "
            "(scope = 'department' AND department_id IS NOT NULL)")

    op.create_table(
        'routing_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('district_id', sa.Integer(), nullable=False),
        sa.Column('category', sa.Enum('economy', 'politics', 'culture', 'society', 'ecology',
                                      name='category', native_enum=False,
                                      create_constraint=True), nullable=True),
        sa.Column('keyword', sa.String(length=20), nullable=True),
        sa.Column('department_id', sa.Integer(), nullable=False),
        sa.Column('due_days', sa.Integer(), server_default='15', nullable=False),
        sa.Column('version', sa.Integer(), server_default='1', nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('category IS NOT NULL OR keyword IS NOT NULL',
                           name=op.f('ck_routing_rules_rule_has_category_or_keyword')),
        sa.CheckConstraint('due_days BETWEEN 1 AND 365',
                           name=op.f('ck_routing_rules_rule_due_days_in_range')),
        sa.ForeignKeyConstraint(['department_id'], ['departments.id'],
                                name=op.f('fk_routing_rules_department_id_departments')),
        sa.ForeignKeyConstraint(['district_id'], ['areas.id'],
                                name=op.f('fk_routing_rules_district_id_areas')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_routing_rules')),
    )
    op.create_index(op.f('ix_routing_rules_department_id'), 'routing_rules', ['department_id'])
    op.create_index(op.f('ix_routing_rules_district_id'), 'routing_rules', ['district_id'])
    op.create_table(
        'routing_rule_streets',
        sa.Column('rule_id', sa.Integer(), nullable=False),
        sa.Column('street_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['rule_id'], ['routing_rules.id'], ondelete='CASCADE',
                                name=op.f('fk_routing_rule_streets_rule_id_routing_rules')),
        sa.ForeignKeyConstraint(['street_id'], ['areas.id'],
                                name=op.f('fk_routing_rule_streets_street_id_areas')),
        sa.PrimaryKeyConstraint('rule_id', 'street_id', name=op.f('pk_routing_rule_streets')),
    )
    # Last: SQLite's batch mode reflects the issues table (issue_updates refers to it) and
    # cannot read an expression index.
    _outcome_index(NEW_OUTCOME_WHERE)


def downgrade():
    op.drop_index('ix_issues_outcome_time', table_name='issues')
    op.drop_table('routing_rule_streets')
    op.drop_index(op.f('ix_routing_rules_district_id'), table_name='routing_rules')
    op.drop_index(op.f('ix_routing_rules_department_id'), table_name='routing_rules')
    op.drop_table('routing_rules')
    op.execute("DELETE FROM monthly_tallies WHERE scope = 'department'")
    with op.batch_alter_table('monthly_tallies') as b:
        b.drop_constraint(b.f('ck_monthly_tallies_tally_scope'), type_='check')
        b.drop_constraint(b.f('ck_monthly_tallies_scope_matches_target'), type_='check')
        b.drop_index(b.f('ix_monthly_tallies_department_id'))
        b.drop_constraint(b.f('fk_monthly_tallies_department_id_departments'),
                          type_='foreignkey')
        b.drop_column('department_id')
        b.alter_column('scope', type_=sa.Enum('city', 'district', 'platform', name='tally_scope',
                                              native_enum=False, create_constraint=False,
                                              length=8), existing_nullable=False)
        b.create_check_constraint(b.f('ck_monthly_tallies_tally_scope'),
                                  "scope IN ('city', 'district', 'platform')")
        b.create_check_constraint(b.f('ck_monthly_tallies_scope_matches_target'),
            "(scope = 'city' AND area_id IS NULL AND platform_id IS NULL) OR "
            "(scope = 'district' AND area_id IS NOT NULL AND platform_id IS NULL) OR "
            "(scope = 'platform' AND platform_id IS NOT NULL)")
    op.execute("UPDATE users SET is_active = false, role = 'coordinator' "
               "WHERE role = 'department'")
    with op.batch_alter_table('users') as b:
        b.drop_constraint(b.f('ck_users_department_user_has_department'), type_='check')
        b.drop_constraint(b.f('ck_users_role'), type_='check')
        b.drop_index(b.f('ix_users_department_id'))
        b.drop_constraint(b.f('fk_users_department_id_departments'), type_='foreignkey')
        b.drop_column('department_id')
        b.create_check_constraint(b.f('ck_users_role'),
                                  "role IN ('admin', 'district_admin', 'coordinator')")
    # Statuses the old schema does not know fall back to their nearest old one.
    for table, column in (('issues', 'status'), ('issue_updates', 'from_status'),
                          ('issue_updates', 'to_status')):
        op.execute(f"UPDATE {table} SET {column} = 'received' WHERE {column} = 'pending'")
        op.execute(f"UPDATE {table} SET {column} = 'assigned' WHERE {column} = 'acknowledged'")
        op.execute(f"UPDATE {table} SET {column} = 'in_progress' WHERE {column} = 'replied'")
    with op.batch_alter_table('issue_updates') as b:
        b.drop_index('ix_issue_updates_department_id_created_at')
        b.drop_constraint(b.f('fk_issue_updates_department_id_departments'), type_='foreignkey')
        b.drop_column('due_on')
        b.drop_column('department_id')
        b.drop_constraint(b.f('ck_issue_updates_from_status'), type_='check')
        b.drop_constraint(b.f('ck_issue_updates_to_status'), type_='check')
        for name in ('from_status', 'to_status'):
            b.alter_column(name, type_=sa.Enum(*OLD_STATUSES, name=name, native_enum=False,
                                               create_constraint=False, length=11))
        b.create_check_constraint(b.f('ck_issue_updates_from_status'),
                                  _in('from_status', OLD_STATUSES))
        b.create_check_constraint(b.f('ck_issue_updates_to_status'), _in('to_status', OLD_STATUSES))
    with op.batch_alter_table('issues') as b:
        for name in ('issue_status', 'proposed_status', 'assigned_has_department_and_due_date',
                     'replied_has_reply', 'pending_is_unpublished'):
            b.drop_constraint(b.f(f'ck_issues_{name}'), type_='check')
        b.drop_index('ix_issues_closed_at_contact')
        for name in ('returned_at', 'rework_reason', 'extension_reason', 'requested_due_on',
                     'proposed_planned_on', 'proposed_status', 'reply', 'replied_at',
                     'acknowledged_at', 'assigned_at', 'contact_erased_at', 'consent_version',
                     'submitted_text', 'submitted_title', 'published_at'):
            b.drop_column(name)
        b.alter_column('status', type_=_status_type(OLD_STATUSES), existing_nullable=False)
        b.create_check_constraint(b.f('ck_issues_issue_status'), _in('status', OLD_STATUSES))
        b.create_check_constraint(b.f('ck_issues_assigned_has_department_and_due_date'),
            "status NOT IN ('assigned', 'in_progress') OR "
            "(department_id IS NOT NULL AND due_on IS NOT NULL)")
    _outcome_index(OLD_OUTCOME_WHERE)
