"""Backup while the site runs, then restore it: the data comes back as it was."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.models import Issue, Platform


def counts(app) -> tuple[int, int, list[str]]:
    with app.app_context():
        return (db.session.scalar(sa.select(sa.func.count(Platform.id))),
                db.session.scalar(sa.select(sa.func.count(Issue.id))),
                sorted(db.session.scalars(sa.select(Issue.reference)))[:5])


def test_backup_then_restore_brings_the_data_back(app, runner, tmp_path):
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


def test_backup_refuses_to_overwrite(runner, tmp_path):
    target = tmp_path / "exists.backup"
    target.write_text("keep me")
    result = runner.invoke(args=["backup", str(target)])
    assert result.exit_code == 1 and "already exists" in result.output
    assert target.read_text() == "keep me"


def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a database at all" * 100)
    assert runner.invoke(args=["demo", "load", "--scale", "3"]).exit_code == 0
    before = counts(app)
    result = runner.invoke(args=["restore", str(junk), "--yes"])
    assert result.exit_code == 1
    assert counts(app) == before


def photo_files(app) -> dict[str, bytes]:
    folder = Path(app.config["UPLOAD_FOLDER"]) / "event-photos"
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.exists() else {}


def test_backups_are_private_and_bring_the_photos_back(app, runner, tmp_path):
    """Issue 12, item 12: the files were world-readable (umask 022) and held no photo."""
    folder = Path(app.config["UPLOAD_FOLDER"]) / "event-photos"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "a1b2c3.jpg").write_bytes(b"\xff\xd8 first photo")
    (folder / "d4e5f6.png").write_bytes(b"\x89PNG second photo")
    assert runner.invoke(args=["demo", "load", "--scale", "3"]).exit_code == 0
    before, photos = counts(app), photo_files(app)
    target = tmp_path / "nightly" / "consult_hub.backup"
    old_umask = os.umask(0o022)
    try:
        result = runner.invoke(args=["backup", str(target)])
    finally:
        os.umask(old_umask)
    assert result.exit_code == 0, result.output
    archive = tmp_path / "nightly" / "consult_hub.backup.photos.tar"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    assert str(archive) in result.output
    # Later: a photo deleted, another added, the data changed.
    (folder / "a1b2c3.jpg").unlink()
    (folder / "later.jpg").write_bytes(b"after the backup")
    assert runner.invoke(args=["demo", "load", "--scale", "2", "--force"]).exit_code == 0
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 0, result.output
    assert counts(app) == before
    assert photo_files(app) == photos
    assert f"and {len(photos)} photos" in result.output


def test_a_photos_archive_with_a_stray_path_restores_nothing(app, runner, tmp_path):
    assert runner.invoke(args=["demo", "load", "--scale", "3"]).exit_code == 0
    target = tmp_path / "consult_hub.backup"
    assert runner.invoke(args=["backup", str(target)]).exit_code == 0
    archive = tmp_path / "consult_hub.backup.photos.tar"
    archive.unlink()
    with tarfile.open(archive, "w") as tar:
        evil = tmp_path / "evil"
        evil.write_text("x")
        tar.add(evil, arcname="event-photos/../../evil.py")
    assert runner.invoke(args=["demo", "load", "--scale", "2", "--force"]).exit_code == 0
    before, photos = counts(app), photo_files(app)
    result = runner.invoke(args=["restore", str(target), "--yes"])
    assert result.exit_code == 1 and "unexpected entry" in result.output
    assert counts(app) == before and photo_files(app) == photos
