"""Markdown fields stored beside their HTML, rendered and sanitised once, when they are saved.

An event's agenda, minutes, opinions and outcome and a platform's description are Markdown.
Converting them on every view cost an event's page 1.8 ms of its 6 (measured on the city
dataset with the page cache off): more than the rest of the page's rendering. Each such field
``name`` has a column ``name_html`` holding ``render_markdown(name)`` (NULL when the field is
empty), kept by every way a row is written:

- the ORM (forms, the API, lifecycle actions): ``keep_html`` listens for the field being set;
- bulk writers (the spreadsheet imports, the demo loader): ``with_html`` on each row dict;
- rows written before the column existed or by a loader that skips it (the bench generator):
  ``render_missing``, which the migration that added the columns ran too.

Pages show the stored HTML (the ``prose`` template filter), rendering the field only if its
HTML is missing. When the Markdown rules (``core/markdown.py``) change, a migration calls
``render_missing(connection, ..., everything=True)`` so that stored pages follow.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa

from consult_hub.core.markdown import render_markdown

# table name → its Markdown fields, filled by keep_html as the models are defined.
PROSE: dict[str, tuple[str, ...]] = {}


def html_column(name: str) -> str:
    return f"{name}_html"


def stored_html(text: str | None) -> str | None:
    """What ``name_html`` holds for a field's text: its sanitised HTML, NULL when empty."""
    return str(render_markdown(text)) if text else None


def keep_html(model: Any, *fields: str) -> None:
    """Register ``model``'s Markdown ``fields`` and keep each one's HTML column in step with
    it whenever the ORM sets it (constructor, form, API or lifecycle change alike)."""
    PROSE[model.__tablename__] = fields
    for name in fields:
        target_column = html_column(name)

        def on_set(target: Any, value: str | None, _old: Any, _initiator: Any,
                   column: str = target_column) -> None:
            setattr(target, column, stored_html(value))

        sa.event.listen(getattr(model, name), "set", on_set)


def with_html(table: str, row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (a dict for a bulk INSERT or UPDATE of ``table``) with the HTML of each Markdown
    field it sets; other rows as they are."""
    for name in PROSE.get(table, ()):
        if name in row:
            row[html_column(name)] = stored_html(row[name])
    return row


def render_missing(connection: sa.Connection, tables: Mapping[str, Iterable[str]] | None = None,
                   *, everything: bool = False, batch: int = 1000) -> int:
    """Fill each HTML column left NULL beside a non-empty field (all of them with
    ``everything``), ``batch`` rows per statement; returns how many rows changed."""
    changed = 0
    for table_name, fields in (tables or PROSE).items():
        fields = tuple(fields)
        table = sa.table(table_name, sa.column("id"), *(sa.column(f) for f in fields),
                         *(sa.column(html_column(f)) for f in fields))
        wanted = sa.or_(*(sa.and_(table.c[f].is_not(None), table.c[f] != "",
                                  *(() if everything else (table.c[html_column(f)].is_(None),)))
                          for f in fields))
        last = 0
        while True:
            rows = connection.execute(
                sa.select(table.c.id, *(table.c[f] for f in fields))
                .where(wanted, table.c.id > last).order_by(table.c.id).limit(batch)).all()
            if not rows:
                break
            last = rows[-1].id
            connection.execute(
                sa.update(table).where(table.c.id == sa.bindparam("row_id")),
                [{"row_id": row.id, **{html_column(f): stored_html(getattr(row, f))
                                       for f in fields}} for row in rows])
            changed += len(rows)
    return changed
