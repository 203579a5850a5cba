"""The migration chain builds the schema the models describe, on an empty database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from consult_hub.core.db import schema_filter
from consult_hub.extensions import db

ROOT = Path(__file__).resolve().parents[2]


# SQLite's reflection cannot read expression indexes (ix_issues_outcome_time); PostgreSQL's can.
@pytest.mark.filterwarnings("ignore:Skipped unsupported reflection of expression-based index")
@pytest.mark.filterwarnings("ignore:autogenerate skipping metadata-specified "
                            "expression-based index")
def test_migrated_schema_matches_models(app):
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": schema_filter(conn.dialect.name)})
        assert compare_metadata(context, db.metadata) == []


def test_outcomes_are_listed_from_their_index(app):
    """The expression index the comparison above cannot see on SQLite is there."""
    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            names = {row[1] for row in conn.exec_driver_sql("PRAGMA index_list(issues)")}
        else:
            names = {index["name"] for index in sa.inspect(conn).get_indexes("issues")}
    assert "ix_issues_outcome_time" in names


def test_the_staff_list_of_opinion_reports_is_read_in_order_from_its_index(app):
    """The list's page, newest first, walks ix_opinion_reports_report_day instead of sorting
    every report (both databases; PostgreSQL told not to scan the table, since the test's is
    empty)."""
    from consult_hub.auth.models import Role, User
    from consult_hub.opinions.models import OpinionReport
    from consult_hub.opinions.queries import report_day

    admin = User(role=Role.ADMIN, is_active=True)
    with app.app_context(), db.engine.connect() as conn:
        from consult_hub.opinions.access import report_scope

        query = (sa.select(OpinionReport.id).where(report_scope(admin))
                 .order_by(report_day().desc(), OpinionReport.id.desc()).limit(25))
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            plan = " ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "TEMP B-TREE" not in plan
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {sql}"))
            assert "Sort" not in plan
    assert "ix_opinion_reports_report_day" in plan, plan


def test_platform_search_can_use_the_trigram_index_on_postgresql(app):
    """The directory's substring search: a GIN trigram index on PostgreSQL, none on SQLite."""
    from consult_hub.platforms.models import Platform
    from consult_hub.platforms.queries import PlatformFilters

    with app.app_context(), db.engine.connect() as conn:
        if conn.dialect.name != "postgresql":
            names = {row[1] for row in conn.exec_driver_sql("PRAGMA index_list(platforms)")}
            assert "ix_platforms_search_trgm" not in names
            return
        conn.exec_driver_sql("SET enable_seqscan = off")

        def plan(q: str) -> str:
            query = sa.select(Platform.id).where(*PlatformFilters(q=q).clauses())
            return "\n".join(row[0] for row in conn.execute(sa.text(
                "EXPLAIN " + str(query.compile(conn, compile_kwargs={"literal_binds": True})))))

        three, two = plan("文昌社区"), plan("文昌")
    assert "ix_platforms_search_trgm" in three
    assert "ix_platforms_search_pairs" in two  # two characters: the doubled text's index


def test_every_table_is_created(app):
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert set(db.metadata.tables) <= tables
    assert "alembic_version" in tables


@pytest.mark.database_independent  # its own SQLite file, whatever the run's database
def test_upgrade_then_check_on_a_fresh_sqlite_file(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.db'}",
           "INSTANCE_PATH": str(tmp_path)}
    env.pop("FLASK_DEBUG", None)
    flask = [sys.executable, "-m", "flask", "--app", "consult_hub", "db"]
    upgrade = subprocess.run([*flask, "upgrade"], env=env, cwd=tmp_path, capture_output=True,
                             text=True, timeout=120)
    assert upgrade.returncode == 0, upgrade.stderr
    check = subprocess.run([*flask, "check"], env=env, cwd=tmp_path, capture_output=True,
                           text=True, timeout=120)
    assert check.returncode == 0, check.stderr
    assert "No new upgrade operations detected" in check.stdout + check.stderr
