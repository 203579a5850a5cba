"""Where generated rows go: SQLite through executemany, PostgreSQL through COPY.

PostgreSQL: before the load every primary key, unique constraint, index and foreign key of the
loaded tables is dropped (their definitions read from the catalog first); each table is then
truncated and filled with ``COPY … (FREEZE)`` on its own connection, and afterwards everything
is recreated under the same names, so the schema matches the migrations again
(``flask db check`` stays clean). Check constraints stay in place: they cost little and catch
a generator bug at the row that breaks them.
"""

from __future__ import annotations

import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

Say = Callable[[str], None]


def conninfo(url: str) -> str:
    """A libpq URL from a SQLAlchemy one (``postgresql+psycopg://`` → ``postgresql://``)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql://" + url[len(prefix):]
    return url


# SQLite -----------------------------------------------------------------------------------------

class SqliteWriter:
    CHUNK = 20_000

    def __init__(self, conn: sqlite3.Connection, table: str, columns: Sequence[str]) -> None:
        self.conn, self.table = conn, table
        marks = ", ".join("?" * len(columns))
        self.sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        self.buf: list[tuple] = []
        self.counter: Any = None

    def add(self, row: tuple) -> None:
        self.buf.append(row)
        if len(self.buf) >= self.CHUNK:
            self.flush()

    def maybe_flush(self) -> None:
        """For callers that append to ``buf`` directly (one Python call less per row)."""
        if len(self.buf) >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.conn.executemany(self.sql, self.buf)
            self.counter.add(len(self.buf))
            self.buf.clear()

    def __enter__(self) -> SqliteWriter:
        return self

    def __exit__(self, exc_type: Any, *_exc: Any) -> None:
        if exc_type is None:
            self.flush()


class SqliteTarget:
    """One big transaction with journaling and syncing off; WAL and ANALYZE afterwards."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF",
                       "cache_size=-262144", "temp_store=MEMORY"):
            self.conn.execute(f"PRAGMA {pragma}")
        self.conn.execute("BEGIN")

    def open(self, table: str, columns: Sequence[str]) -> SqliteWriter:
        return SqliteWriter(self.conn, table, columns)

    def finish(self, say: Say, progress: bool = True) -> list[tuple[str, float]]:
        timings = []
        started = time.perf_counter()
        self.conn.execute("COMMIT")
        problems = self.conn.execute("PRAGMA foreign_key_check").fetchall()
        if problems:
            raise RuntimeError(f"foreign key violations after the load: {problems[:5]}")
        timings.append(("foreign key check", time.perf_counter() - started))
        started = time.perf_counter()
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("ANALYZE")
        self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        timings.append(("ANALYZE", time.perf_counter() - started))
        say(f"SQLite: foreign keys checked, WAL restored, ANALYZE done "
            f"({sum(s for _, s in timings):.1f} s)")
        self.conn.close()
        return timings

    def abort(self) -> None:
        try:
            self.conn.close()
        except sqlite3.Error:
            pass


# PostgreSQL -------------------------------------------------------------------------------------

class PgWriter:
    """COPY into one table on a connection of its own, in text chunks."""

    CHUNK = 10_000

    def __init__(self, dsn: str, table: str, columns: Sequence[str]) -> None:
        self.table = table
        self.conn = psycopg.connect(dsn)
        self.conn.execute("SET synchronous_commit = off")
        self.conn.execute(f"TRUNCATE {table}")  # so that COPY may FREEZE the rows
        self.cursor = self.conn.cursor()
        self._copy_cm = self.cursor.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH (FREEZE)")
        self.copy = self._copy_cm.__enter__()
        self.buf: list[tuple] = []
        self.counter: Any = None

    def add(self, row: tuple) -> None:
        self.buf.append(row)
        if len(self.buf) >= self.CHUNK:
            self.flush()

    def maybe_flush(self) -> None:
        """For callers that append to ``buf`` directly (one Python call less per row)."""
        if len(self.buf) >= self.CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buf:
            self.copy.write("\n".join(map("\t".join, self.buf)) + "\n")
            self.counter.add(len(self.buf))
            self.buf.clear()

    def __enter__(self) -> PgWriter:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.flush()
            self._copy_cm.__exit__(exc_type, exc, tb)
            if exc_type is None:
                self.conn.commit()
        finally:
            self.conn.close()


@dataclass
class Definition:
    table: str
    name: str
    kind: str  # "p" primary key, "u" unique, "f" foreign key, "i" plain index
    sql: str  # ADD CONSTRAINT text, or CREATE INDEX


class PgTarget:
    """Drops keys and indexes of ``tables`` before the load and recreates them after it."""

    def __init__(self, url: str, tables: Sequence[str]) -> None:
        self.dsn = conninfo(url)
        self.tables = list(tables)
        self.definitions: list[Definition] = []

    def _connect(self) -> psycopg.Connection:
        conn = psycopg.connect(self.dsn, autocommit=True)
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET work_mem = '256MB'")
        conn.execute("SET max_parallel_maintenance_workers = 2")
        return conn

    def prepare(self, say: Say) -> None:
        with self._connect() as conn:
            rows = conn.execute(
                """SELECT t.relname, c.conname, c.contype, pg_get_constraintdef(c.oid)
                   FROM pg_constraint c JOIN pg_class t ON t.oid = c.conrelid
                   JOIN pg_namespace n ON n.oid = t.relnamespace
                   WHERE n.nspname = 'public' AND (
                     (c.contype IN ('p', 'u') AND t.relname = ANY(%s))
                     OR (c.contype = 'f' AND (t.relname = ANY(%s)
                                              OR c.confrelid::regclass::text = ANY(%s))))
                   ORDER BY t.relname, c.conname""",
                (self.tables, self.tables, self.tables)).fetchall()
            self.definitions = [Definition(t, name, kind, definition)
                                for t, name, kind, definition in rows]
            rows = conn.execute(
                """SELECT t.relname, i.relname, pg_get_indexdef(i.oid)
                   FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                   JOIN pg_class t ON t.oid = x.indrelid
                   JOIN pg_namespace n ON n.oid = t.relnamespace
                   WHERE n.nspname = 'public' AND t.relname = ANY(%s)
                     AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid
                                     AND c.contype IN ('p', 'u', 'x'))
                   ORDER BY t.relname, i.relname""", (self.tables,)).fetchall()
            self.definitions += [Definition(t, name, "i", sql) for t, name, sql in rows]
            for d in self.definitions:
                if d.kind == "f":
                    conn.execute(f'ALTER TABLE {d.table} DROP CONSTRAINT "{d.name}"')
            for d in self.definitions:
                if d.kind in "pu":
                    conn.execute(f'ALTER TABLE {d.table} DROP CONSTRAINT "{d.name}"')
                elif d.kind == "i":
                    conn.execute(f'DROP INDEX "{d.name}"')
        kinds = defaultdict(int)
        for d in self.definitions:
            kinds[d.kind] += 1
        say(f"PostgreSQL: dropped {kinds['p']} primary keys, {kinds['u']} unique constraints, "
            f"{kinds['i']} indexes and {kinds['f']} foreign keys before the load")

    def open(self, table: str, columns: Sequence[str]) -> PgWriter:
        return PgWriter(self.dsn, table, columns)

    def finish(self, say: Say, progress: bool = True) -> list[tuple[str, float]]:
        """Keys and indexes back (timed per table), sequences moved on, VACUUM ANALYZE."""
        timings: list[tuple[str, float]] = []
        by_table: dict[str, list[Definition]] = defaultdict(list)
        for d in self.definitions:
            by_table[d.table].append(d)
        with self._connect() as conn:
            for table in self.tables:
                defs = [d for d in by_table.get(table, []) if d.kind != "f"]
                if not defs:
                    continue
                started = time.perf_counter()
                for d in sorted(defs, key=lambda d: d.kind != "p"):
                    if d.kind == "i":
                        conn.execute(d.sql)
                    else:
                        conn.execute(f'ALTER TABLE {d.table} ADD CONSTRAINT "{d.name}" {d.sql}')
                seconds = time.perf_counter() - started
                timings.append((f"keys and indexes: {table} ({len(defs)})", seconds))
                if progress:
                    say(f"  keys and indexes on {table:<22} {len(defs):2d} in {seconds:7.1f} s")
            fk_tables = self.tables + sorted({d.table for d in self.definitions} - set(self.tables))
            for table in fk_tables:
                defs = [d for d in by_table.get(table, []) if d.kind == "f"]
                if not defs:
                    continue
                started = time.perf_counter()
                for d in defs:
                    conn.execute(f'ALTER TABLE {d.table} ADD CONSTRAINT "{d.name}" {d.sql}')
                seconds = time.perf_counter() - started
                timings.append((f"foreign keys: {table} ({len(defs)})", seconds))
                if progress:
                    say(f"  foreign keys on {table:<26} {len(defs):2d} in {seconds:7.1f} s")
            started = time.perf_counter()
            for table in self.tables:
                has_id = conn.execute(
                    "SELECT pg_get_serial_sequence(%s, 'id') IS NOT NULL FROM information_schema"
                    ".columns WHERE table_schema = 'public' AND table_name = %s "
                    "AND column_name = 'id'", (table, table)).fetchone()
                if has_id and has_id[0]:
                    conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                 f"COALESCE(MAX(id), 0) + 1, false) FROM {table}")
            conn.execute("VACUUM ANALYZE")
            seconds = time.perf_counter() - started
            timings.append(("sequences + VACUUM ANALYZE", seconds))
            say(f"  sequences and VACUUM ANALYZE in {seconds:.1f} s")
        return timings

    def abort(self) -> None:
        pass


def table_sizes(url: str, tables: Sequence[str]) -> dict[str, int]:
    """pg_total_relation_size of each table (heap, TOAST and indexes), in bytes."""
    with psycopg.connect(conninfo(url)) as conn:
        return {t: conn.execute("SELECT pg_total_relation_size(%s::regclass)", (t,)).fetchone()[0]
                for t in tables}
