"""Many cases on one world: an outer transaction never committed, a savepoint rolled back per case.

Building a world and deleting every table afterwards costs more than most cases themselves.
``RolledBack`` opens one connection and one transaction for a module; every session the app
opens (one per request, through the test client) is bound to that connection with
``join_transaction_mode="create_savepoint"``, so its ``commit()`` only releases a savepoint.
``case()`` wraps one case in a savepoint of its own and rolls it back, so each case starts
from the module's world exactly. Nothing is ever committed: mark such tests ``rolled_back``
so that the per-test DELETEs (tests/conftest.py) are skipped — on SQLite they would wait on
the open transaction.

``db.engine`` answers with the same connection while this runs: code that writes beside the
request's session (``audit.operations.record_denied``) would otherwise use a second
connection, which waits on the open write transaction on SQLite and cannot see the world's
rows on PostgreSQL. The page cache's site-version reader keeps the real engine (it reads only
committed state, as another worker would).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy.session import Session

from consult_hub.extensions import db


class _SameConnection:
    """Stands in for ``db.engine``: ``begin()`` and ``connect()`` hand out the test's connection."""

    def __init__(self, engine: sa.Engine, connection: sa.Connection) -> None:
        self._engine = engine
        self._connection = connection

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        with self._connection.begin_nested():
            yield self._connection

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        yield self._connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)


class RolledBack:
    def __init__(self, app: Flask) -> None:
        self.app = app
        with app.app_context():
            clock = app.extensions.get("site_version")
            if clock is not None:
                clock.read()  # it keeps the engine it first saw: the real one
            self.engine = db.engine
        self.connection = self.engine.connect()
        self._outer = self.connection.begin()
        if self.connection.dialect.name == "sqlite":
            # pysqlite sends no BEGIN of its own before a SAVEPOINT, and a SAVEPOINT outside
            # a transaction is the transaction: its RELEASE would commit.
            self.connection.exec_driver_sql("BEGIN")
        connection = self.connection

        class BoundSession(Session):
            def get_bind(self, *args: Any, **kwargs: Any) -> sa.Connection:
                return connection

        self._saved_session = db.session
        db.session = db._make_scoped_session(
            {"class_": BoundSession, "bind": connection,
             "join_transaction_mode": "create_savepoint"})
        self._engines = db._app_engines[app]
        self._engines[None] = _SameConnection(self.engine, connection)

    @contextmanager
    def case(self) -> Iterator[None]:
        savepoint = self.connection.begin_nested()
        try:
            yield
        finally:
            with self.app.app_context():
                db.session.remove()
            if savepoint.is_active:
                savepoint.rollback()

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
        self._engines[None] = self.engine
        db.session = self._saved_session
        self._outer.rollback()
        self.connection.close()
