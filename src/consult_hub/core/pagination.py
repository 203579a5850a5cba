"""Pagination that counts only as far as anyone can click.

A public list of a nation's outcomes holds millions of rows; counting them all for "共 N 项"
took longer than the page itself. ``paginate`` counts the rows up to ``COUNT_AHEAD`` past the
current page and stops: below that the total is exact, above it the page says "N+" and the
links still reach every page one step at a time.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import SelectPagination
from sqlalchemy import orm

from consult_hub.extensions import db

COUNT_AHEAD = 10_000


class CappedPagination(SelectPagination):
    """``total`` is exact when ``capped`` is false; otherwise at least ``total`` rows exist."""

    capped: bool = False

    def _query_count(self) -> int:
        select = self._query_args["select"]
        limit = self._query_offset + COUNT_AHEAD
        sub = (select.options(orm.lazyload("*")).order_by(None)
               .limit(limit + 1).subquery())
        counted = int(self._query_args["session"].execute(
            sa.select(sa.func.count()).select_from(sub)).scalar() or 0)
        self.capped = counted > limit
        return min(counted, limit)


def paginate(select: sa.Select[Any], *, per_page: int) -> CappedPagination:
    """One page of ``select`` (``?page=`` from the request); past the end is an empty page."""
    return CappedPagination(select=select, session=db.session(), page=None, per_page=per_page,
                            max_per_page=per_page, error_out=False, count=True)
