"""Read-side queries on departments, for the staff list and for pickers elsewhere."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.auth.models import User
from consult_hub.auth.scopes import district_id_filter
from consult_hub.departments.models import Department


def readable(user: User) -> sa.ColumnElement[bool]:
    """Departments ``user`` may see: their district's and the city-level ones."""
    return sa.or_(district_id_filter(user, Department.district_id),
                  Department.district_id.is_(None))


def department_query(user: User, *, q: str = "", scope: str = "",
                     active: str = "1") -> sa.Select[tuple[Department]]:
    """The list, filtered: ``scope`` is "city", a district id, or empty for all."""
    query = sa.select(Department).where(readable(user))
    if q:
        query = query.where(sa.or_(Department.name.icontains(q, autoescape=True),
                                   Department.code.icontains(q, autoescape=True)))
    if scope == "city":
        query = query.where(Department.district_id.is_(None))
    elif scope.isdigit():
        query = query.where(Department.district_id == int(scope))
    if active in ("1", "0"):
        query = query.where(Department.is_active.is_(active == "1"))
    return query.order_by(Department.district_id.is_not(None), Department.district_id,
                          Department.code)


