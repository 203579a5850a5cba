"""SQLite connection settings: foreign keys on, WAL, and a busy timeout.

Transactions are left to pysqlite's default ("legacy") control: it sends BEGIN just before
the first INSERT/UPDATE/DELETE, and reads before that run outside any transaction. So every
write transaction starts with its write, waits up to the busy timeout for another process's
write to finish, and several gunicorn workers never show "database is locked". Do not switch
to a BEGIN (deferred) at the first statement — SQLAlchemy's "own BEGIN" recipe, or Python
3.12's ``autocommit=False``: a transaction that reads and then writes fails at once with
SQLITE_BUSY when another worker wrote in between (the busy timeout does not cover upgrading
a stale read snapshot). Measured under tests/loadgen.py's load, four workers: about one
request in five answered 500 that way, none as it is. Such a change needs BEGIN IMMEDIATE for
every transaction that may write.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

BUSY_TIMEOUT_MS = 15_000


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    if cursor.execute("PRAGMA database_list").fetchone()[2]:  # a file, not :memory:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
