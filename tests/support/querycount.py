"""Count the SQL statements sent while a block runs: ``with count_queries(app) as sql: ...``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from flask import Flask

from consult_hub.extensions import db


class Statements(list[str]):
    """The statements seen, in order; ``str()`` lists them for a failure message."""

    def __str__(self) -> str:
        return "\n".join(f"{n:3}. {' '.join(sql.split())[:300]}" for n, sql in enumerate(self, 1))


@contextmanager
def count_queries(app: Flask) -> Iterator[Statements]:
    """Record every statement the app's engine executes inside the ``with`` block."""
    with app.app_context():
        engine = db.engine
    statements = Statements()

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
