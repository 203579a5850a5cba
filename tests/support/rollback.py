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
committed state, as another worker would). The caches keyed by the site version are emptied
before and after each case and at the end: a version seen inside the transaction is rolled
back and comes round again with other rows.

``as_if_committed`` makes a case see what it would see on a committed world of its own, for
modules whose tests check that:

- the site-version reader reads through the test's connection, so a case that writes and then
  reads sees the version move, as a worker sees its own writes;
- a statement counter (tests/support/querycount.py) sees what it would see there: the
  savepoints standing in for a request's BEGIN and COMMIT are sent to the driver unseen;
- a write beside the request's session (``db.engine.begin()``) made while the request's own
  savepoint is open is done again when that savepoint is rolled back: on the same connection
  it lies inside the request's savepoint, whereas committed on its own it would outlive the
  request's rollback (a refused request's ``access_denied`` row).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask_sqlalchemy.session import Session
from sqlalchemy.engine import NestedTransaction

from consult_hub.core import pagecache
from consult_hub.extensions import db


class _Recording:
    """The test's connection, noting what is executed on it (to be done again)."""

    def __init__(self, connection: sa.Connection) -> None:
        self._connection = connection
        self.executed: list[tuple[Any, tuple[Any, ...], dict[str, Any]]] = []

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        self.executed.append((args[0], args[1:], kwargs))
        return self._connection.execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


class _QuietSavepoints(sa.Connection):
    """The test's connection, its savepoints sent straight to the driver: a statement counter
    (tests/support/querycount.py) sees a request's queries as on a committed world, where its
    BEGIN and COMMIT are no statements either, not the savepoints standing in for them."""

    def __init__(self, engine: sa.Engine, on_rollback: Any) -> None:
        super().__init__(engine)
        self._quiet_sequence = 0
        self._on_rollback = on_rollback

    def _driver(self, sql: str) -> None:
        cursor = self.connection.dbapi_connection.cursor()
        try:
            cursor.execute(sql)
        finally:
            cursor.close()

    def _savepoint_impl(self, name: str | None = None) -> str:
        if name is None:
            self._quiet_sequence += 1
            name = f"sa_savepoint_{self._quiet_sequence}"
        self._driver(f"SAVEPOINT {name}")
        return name

    def _rollback_to_savepoint_impl(self, name: str) -> None:
        self._on_rollback(name)
        self._driver(f"ROLLBACK TO SAVEPOINT {name}")

    def _release_savepoint_impl(self, name: str) -> None:
        self._driver(f"RELEASE SAVEPOINT {name}")


class _SameConnection:
    """Stands in for ``db.engine``: ``begin()`` and ``connect()`` hand out the test's connection."""

    def __init__(self, engine: sa.Engine, connection: sa.Connection,
                 owner: RolledBack | None = None) -> None:
        self._engine = engine
        self._connection = connection
        self._owner = owner

    @contextmanager
    def begin(self) -> Iterator[Any]:
        if self._owner is None:
            with self._connection.begin_nested():
                yield self._connection
            return
        enclosing = self._connection.get_nested_transaction()
        recording = _Recording(self._connection)
        with self._connection.begin_nested():
            yield recording
        self._owner._beside(enclosing, recording.executed)

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        yield self._connection

    def __getattr__(self, name: str) -> Any:
        return getattr(self._engine, name)

    def __setattr__(self, name: str, value: Any) -> None:
        # ``sa.event.listen(db.engine, ...)`` marks its target as having listeners: the engine,
        # whose flag the test's connection checks.
        if name in ("_engine", "_connection", "_owner"):
            object.__setattr__(self, name, value)
        else:
            setattr(self._engine, name, value)


def forget_caches(app: Flask) -> None:
    """Empty the process's caches of what the records say (the page cache, the home page's
    figures, what is remembered per site version: lists' totals, district choices…, the
    reports' final months).

    They are keyed by the site version, which neither the per-test DELETEs (tests/conftest.py)
    nor a rolled-back case move: without this, the next test could be shown the last one's."""
    app.extensions.pop(pagecache.REMEMBERED, None)
    app.extensions.pop("tallies.final_parts", None)
    app.extensions.get("main.headline", {}).clear()
    if "page_cache" in app.extensions:
        app.extensions["page_cache"].clear()


class RolledBack:
    def __init__(self, app: Flask, *, as_if_committed: bool = False) -> None:
        self.app = app
        with app.app_context():
            self._clock = app.extensions.get("site_version")
            if self._clock is not None:
                self._clock.read()  # it keeps the engine it first saw: the real one
            self.engine = db.engine
        self._rolled_back_savepoints: set[str] = set()
        self.connection = (_QuietSavepoints(self.engine, self._rolled_back_savepoints.add)
                           if as_if_committed else self.engine.connect())
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
        self._case: NestedTransaction | None = None
        # Writes beside a request's session, with the savepoint (the request's) they lie in.
        self._kept: list[tuple[NestedTransaction, list[Any]]] = []
        self._engines[None] = _SameConnection(self.engine, connection,
                                              self if as_if_committed else None)
        if as_if_committed:
            if self._clock is not None:
                self._clock._engine = self._engines[None]
            sa.event.listen(BoundSession, "after_transaction_end", self._after_session)
        forget_caches(app)

    # --- writes beside the request's session (as_if_committed) ---------------------------------

    def _beside(self, enclosing: NestedTransaction | None, executed: list[Any]) -> None:
        if enclosing is not None and enclosing is not self._case and executed:
            self._kept.append((enclosing, executed))

    def _after_session(self, _session: Any, _transaction: Any) -> None:
        """Do again the writes whose request savepoint was rolled back, outside it."""
        ended = [(savepoint, executed) for savepoint, executed in self._kept
                 if not savepoint.is_active]
        self._kept = [kept for kept in self._kept if kept[0].is_active]
        for savepoint, executed in ended:
            if savepoint._savepoint in self._rolled_back_savepoints:
                with self._engines[None].begin() as connection:
                    for statement, args, kwargs in executed:
                        connection.execute(statement, *args, **kwargs)

    # --- cases ---------------------------------------------------------------------------------

    @contextmanager
    def case(self) -> Iterator[None]:
        forget_caches(self.app)
        savepoint = self._case = self.connection.begin_nested()
        try:
            yield
        finally:
            with self.app.app_context():
                db.session.remove()
            if savepoint.is_active:
                savepoint.rollback()
            self._case = None
            self._kept.clear()
            self._rolled_back_savepoints.clear()
            forget_caches(self.app)

    def close(self) -> None:
        with self.app.app_context():
            db.session.remove()
        self._engines[None] = self.engine
        if self._clock is not None:
            self._clock._engine = self.engine
            self._clock.forget()
        db.session = self._saved_session
        self._outer.rollback()
        self.connection.close()
        forget_caches(self.app)
