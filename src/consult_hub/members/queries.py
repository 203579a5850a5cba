"""Read-side queries on members, for the staff pages."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from consult_hub.auth.models import User
from consult_hub.auth.scopes import district_id_filter
from consult_hub.extensions import db
from consult_hub.members.models import Member, MemberLevel


def member_query(user: User, *, q: str = "", level: str = "", sector: str = "",
                 district: int | None = None, active: str = "1") -> sa.Select[tuple[Member]]:
    """Members ``user`` may manage, filtered; ``q`` matches any part of the name or code."""
    query = sa.select(Member).where(district_id_filter(user, Member.district_id))
    if q:
        query = query.where(sa.or_(Member.name.icontains(q, autoescape=True),
                                   Member.code.icontains(q, autoescape=True)))
    if level in {m.value for m in MemberLevel}:
        query = query.where(Member.level == MemberLevel(level))
    if sector:
        query = query.where(Member.sector == sector)
    if district:
        query = query.where(Member.district_id == district)
    if active in ("1", "0"):
        query = query.where(Member.is_active.is_(active == "1"))
    return query.options(selectinload(Member.district), selectinload(Member.platforms)).order_by(
        Member.name, Member.id)


def sectors(user: User) -> list[str]:
    """The sectors of the members ``user`` may see, for the filter."""
    return list(db.session.scalars(
        sa.select(Member.sector).where(district_id_filter(user, Member.district_id))
        .distinct().order_by(Member.sector)
    ))


def member_with_district(member_id: int) -> Member | None:
    """One member for their edit and status pages (the detail page: ``platforms/queries.py``)."""
    return db.session.scalar(
        sa.select(Member).where(Member.id == member_id).options(
            selectinload(Member.district), selectinload(Member.platforms))
    )
