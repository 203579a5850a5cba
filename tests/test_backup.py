"""Backup while the site runs, then restore it: the data comes back as it was."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import Issue, Platform


def counts(app) -> tuple[int, int, list[str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Platform.id))),
                db.session.scalar(sa.select(sa.func.count(Issue.id))),
                sorted(db.session.scalars(sa.select(Issue.reference)))[:5])


def test_backup_then_restore_brings_the_data_back(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    assert runner.invoke(args=["demo", "load", "--scale", "8"]).exit_code == 0
    before = counts(app)
    target = tmp_path / "consult_hub.backup"
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    assert runner.invoke(args=["demo", "load", "--scale", "3", "--force"]).exit_code == 0
    assert counts(app) != before
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert counts(app) == before


def test_backup_refuses_to_overwrite(runner, tmp_path):  # type: ignore[no-untyped-def]
    target = tmp_path / "exists.backup"
    target.write_text("keep me")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert target.read_text() == "keep me"


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):  # type: ignore[no-untyped-def]
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    assert runner.invoke(args=["demo", "load", "--scale", "3"]).exit_code == 0
    before = counts(app)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code == 1
    assert counts(app) == before
