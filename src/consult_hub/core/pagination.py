"""Pagination that counts, and browses, only as far as anyone reads.

A public list of a nation's outcomes holds millions of rows: counting them all for "共 N 项"
took longer than the page itself, and page 150,000 made the database walk 4.5 million rows.
``paginate`` counts at most ``BROWSE_LIMIT`` rows (the page then says "10,000+") and serves
pages within them; a page beyond is empty and says to narrow the list with its filters,
which reach every record (as search engines and large sites cap deep paging).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import orm

from consult_hub.core.pagecache import remembered
from consult_hub.extensions import db

BROWSE_LIMIT = 10_000
DEFERRED_FROM = 300  # offsets below this are cheap either way


class CappedPagination(SelectPagination):
    """``total`` is exact when ``capped`` is false; otherwise at least ``total`` rows exist.

    Items are fetched in two steps: the page's ids first (the OFFSET walks only the ordering
    index), then those rows with their eager loads. Page 300 of a nation's events read 9,000
    whole rows to throw them away; now it reads 9,000 index entries.
    """

    capped: bool = False
    beyond: bool = False  # asked for a page past BROWSE_LIMIT

    def __init__(self, *, total_key: Any = None, **kwargs: Any) -> None:
        """``total_key`` (the list's name and every filter that made the query): the total is
        counted once per site version (``pagecache.remembered``), so only for lists whose rows
        depend on the records alone, not on the clock."""
        self.total_key = total_key
        super().__init__(**kwargs)

    def _query_items(self) -> list[Any]:
        if self._query_offset >= BROWSE_LIMIT:
            self.beyond = True
            return []
        select = self._query_args["select"]
        session = self._query_args["session"]
        entity = select.column_descriptions[0]["entity"] if select.column_descriptions else None
        key = getattr(entity, "id", None)
        if (self._query_offset < DEFERRED_FROM or key is None
                or len(select.column_descriptions) != 1
                or select.column_descriptions[0]["expr"] is key):  # ids alone: one step
            return super()._query_items()
        ids = list(session.scalars(select.options(orm.lazyload("*")).with_only_columns(key)
                                   .limit(self.per_page).offset(self._query_offset)))
        if not ids:
            return []
        rows = {row.id: row for row in session.execute(
            select.where(key.in_(ids)).order_by(None)).unique().scalars()}
        return [rows[item] for item in ids if item in rows]

    def _query_count(self) -> int:
        if self.total_key is None:
            return self._count()
        total, self.capped = remembered(self.total_key, lambda: (self._count(), self.capped))
        return total

    def _count(self) -> int:
        select = self._query_args["select"].options(orm.lazyload("*")).order_by(None)
        limit = BROWSE_LIMIT
        entity = select.column_descriptions[0]["entity"] if select.column_descriptions else None
        key = getattr(entity, "id", None)
        if key is not None and len(select.column_descriptions) == 1:
            # Only the key: SQLite would otherwise copy every column of 10,001 rows.
            select = select.with_only_columns(key)
        sub = select.limit(limit + 1).subquery()
        counted = int(self._query_args["session"].execute(
            sa.select(sa.func.count()).select_from(sub)).scalar() or 0)
        self.capped = counted > limit
        return min(counted, limit)


def paginate(select: sa.Select[Any], *, per_page: int, page: int | None = None,
             total_key: Any = None) -> CappedPagination:
    """One page of ``select`` (``page``, else ``?page=`` read by core/params.py); past the end
    is an empty page. ``total_key``: see ``CappedPagination``."""
    if page is None:
        from consult_hub.core.params import arg_page  # params reads BROWSE_LIMIT from here

        page = arg_page()
    return CappedPagination(select=select, session=db.session(), page=page, per_page=per_page,
                            max_per_page=per_page, error_out=False, count=True,
                            total_key=total_key)
