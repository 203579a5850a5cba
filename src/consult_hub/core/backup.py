"""Online backups and restores: SQLite's backup API, PostgreSQL's pg_dump / pg_restore."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
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


def backup(database_url: str, target: Path) -> Path:
    """Write a consistent copy of the live database to ``target`` (which must not exist)."""
    url = sa.make_url(database_url)
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file")
    target.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source = sqlite3.connect(_sqlite_path(url))
        copy = sqlite3.connect(target)
        try:
            with copy:
                source.backup(copy)  # page by page, while others keep writing
        finally:
            copy.close()
            source.close()
        return target
    if url.get_backend_name() == "postgresql":
        result = subprocess.run(
            [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(target),
             *_pg_args(url), url.database or ""],
            env=_pg_env(url), capture_output=True, text=True)
        if result.returncode != 0:
            target.unlink(missing_ok=True)
            raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
        return target
    raise BackupError(f"no backup method for {url.get_backend_name()}")


def restore(database_url: str, source: Path) -> None:
    """Replace the database's contents with the backup at ``source``."""
    url = sa.make_url(database_url)
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"{source} is not a backup file")
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
