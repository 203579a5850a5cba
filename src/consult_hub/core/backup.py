"""Online backups and restores: SQLite's backup API, PostgreSQL's pg_dump / pg_restore.

A backup is two files, both readable by their owner only (mode 0600: they hold residents'
names and phone numbers and every password hash): the database (``2024-11-30.db``) and,
beside it, the event photos (``2024-11-30.db.photos.tar``, the files of UPLOAD_FOLDER's
``event-photos/``; photos are JPEG/PNG/WebP already, so the tar is not compressed again).
A restore puts both back, so no photo record is left without its file.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
import subprocess
import tarfile
from pathlib import Path

import sqlalchemy as sa


class BackupError(RuntimeError):
    """A backup or restore could not be made; the message says why."""


def _sqlite_path(url: sa.URL) -> Path:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return Path(url.database)


def _pg_env(url: sa.URL) -> dict[str, str]:
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _pg_args(url: sa.URL) -> list[str]:
    args = []
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    return args


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client)")
    return path


PHOTOS_FOLDER = "event-photos"  # under UPLOAD_FOLDER (core/images.py SUBFOLDER): all photos


def photos_archive(backup_file: Path) -> Path:
    """Where the photos of the backup ``backup_file`` are: beside it, ``….photos.tar``."""
    return backup_file.with_name(backup_file.name + ".photos.tar")


def _private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600 (whatever the umask); refuse one that exists."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{path} already exists; choose a new file") from None
    os.chmod(path, 0o600)  # O_CREAT's mode is masked by the umask; 0600 survives any umask


def backup(database_url: str, target: Path, uploads: Path | None = None) -> Path:
    """Write a consistent copy of the live database to ``target`` (which must not exist).

    With ``uploads`` (UPLOAD_FOLDER), the event photos go to ``photos_archive(target)``.
    """
    target = Path(target)
    photos = photos_archive(target) if uploads is not None else None
    for path in (target, photos):
        if path is not None and path.exists():
            raise BackupError(f"{path} already exists; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    _private_file(target)
    try:
        _backup_database(database_url, target)
        if photos is not None and uploads is not None:
            _private_file(photos)
            _backup_photos(Path(uploads), photos)
    except BaseException:
        target.unlink(missing_ok=True)
        if photos is not None:
            photos.unlink(missing_ok=True)
        raise
    return target


def _backup_photos(uploads: Path, archive: Path) -> int:
    """Every photo file into ``archive`` (already created 0600); returns how many."""
    folder = uploads / PHOTOS_FOLDER
    count = 0
    with tarfile.open(archive, "w") as tar:  # mode "w" opens the file; its 0600 stays
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.is_symlink():
                    tar.add(path, arcname=f"{PHOTOS_FOLDER}/{path.name}")
                    count += 1
    return count


def _backup_database(database_url: str, target: Path) -> None:
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)  # page by page, while others keep writing
        finally:
            copy.close()
            source.close()
        return
    if url.get_backend_name() == "postgresql":
        result = subprocess.run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
             *_pg_args(url), url.database or ""],
            env=_pg_env(url), capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        os.chmod(target, 0o600)
        return
    raise BackupError(f"no backup method for {url.get_backend_name()}")


def restore(database_url: str, source: Path, uploads: Path | None = None) -> int | None:
    """Replace the database's contents with the backup at ``source``, and the photos too.

    With ``uploads``, the photos archive beside ``source`` replaces UPLOAD_FOLDER's
    ``event-photos/`` (it is checked before the database is touched). Returns how many
    photos were put back, or None when there is no photos archive (photos left alone).
    """
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a backup file")
    archive = photos_archive(source)
    names = _photo_names(archive) if uploads is not None and archive.is_file() else None
    _restore_database(database_url, source)
    if names is None or uploads is None:
        return None
    _restore_photos(archive, Path(uploads), names)
    return len(names)


def _photo_names(archive: Path) -> list[str]:
    """The photo files in ``archive``; anything but plain files in ``event-photos/`` refuses it."""
    try:
        with tarfile.open(archive, "r") as tar:
            members = tar.getmembers()
    except (tarfile.TarError, OSError) as exc:
        raise BackupError(f"{archive} is not a photos archive: {exc}") from None
    names = []
    for member in members:
        if member.name == PHOTOS_FOLDER and member.isdir():
            continue
        folder, _, name = member.name.partition("/")
        if (folder != PHOTOS_FOLDER or not member.isfile() or not name or "/" in name
                or name.startswith(".")):
            raise BackupError(f"{archive}: unexpected entry {member.name!r}; nothing restored")
        names.append(name)
    return names


def _restore_photos(archive: Path, uploads: Path, names: list[str]) -> None:
    """Unpack beside the live folder, then swap the two: readers see old or new, not half."""
    uploads.mkdir(parents=True, exist_ok=True)
    token = secrets.token_hex(6)
    fresh, old = uploads / f".restore-{token}", uploads / f".replaced-{token}"
    fresh.mkdir(mode=0o700)
    try:
        with tarfile.open(archive, "r") as tar:
            for name in names:
                member = tar.getmember(f"{PHOTOS_FOLDER}/{name}")
                source = tar.extractfile(member)
                assert source is not None
                with source, open(fresh / name, "xb") as out:
                    shutil.copyfileobj(source, out)
        live = uploads / PHOTOS_FOLDER
        if live.exists():
            live.rename(old)
        fresh.rename(live)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def _restore_database(database_url: str, source: Path) -> None:
    url = sa.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        backup_db = sqlite3.connect(source)
        try:
            if backup_db.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{source} is not a sound SQLite database")
            live = sqlite3.connect(_sqlite_path(url))
            try:
                with live:
                    backup_db.backup(live)
            finally:
                live.close()
        finally:
            backup_db.close()
        return
    if url.get_backend_name() == "postgresql":
        result = subprocess.run(
            [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
             "--dbname", url.database or "", *_pg_args(url), str(source)],
            env=_pg_env(url), capture_output=True, text=True)
        if result.returncode != 0:
            raise BackupError(f"pg_restore failed: {result.stderr.strip()}")
        return
    raise BackupError(f"no restore method for {url.get_backend_name()}")
