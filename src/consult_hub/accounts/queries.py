"""Read the accounts a user may manage, for the account pages."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.core.i18n import gettext as _
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform, platform_coordinators


def user_filter(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting ``User`` rows to the accounts ``actor`` may manage (the SQL twin
    of ``auth/scopes.can_manage_user``)."""
    if actor.role is Role.ADMIN:
        return sa.true()
    if actor.role is not Role.DISTRICT_ADMIN:
        return sa.false()
    def coordinates(where: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
        return User.id.in_(
            sa.select(platform_coordinators.c.user_id)
            .join(Platform, Platform.id == platform_coordinators.c.platform_id)
            .where(where)
        )

    return sa.or_(
        sa.and_(User.role == Role.DISTRICT_ADMIN, User.district_id == actor.district_id),
        sa.and_(User.role == Role.COORDINATOR,
                coordinates(Platform.district_id == actor.district_id),
                sa.not_(coordinates(Platform.district_id != actor.district_id))),
        sa.and_(User.role == Role.DEPARTMENT, User.department_id.in_(
            sa.select(Department.id).where(Department.district_id == actor.district_id))),
        sa.and_(User.role == Role.MEMBER, User.member_id.in_(
            sa.select(Member.id).where(Member.district_id == actor.district_id))),
    )


def department_choices(actor: User, include: list[int] | None = None) -> list[tuple[int, str]]:
    """The departments ``actor`` may make someone a contact of, as (id, label): city staff
    every active one (labelled with its district), district staff their own district's; plus
    ``include`` (an account's current department, shown even when stopped)."""
    if actor.role is Role.ADMIN:
        wanted: sa.ColumnElement[bool] = sa.true()
    elif actor.role is Role.DISTRICT_ADMIN:
        wanted = Department.district_id == actor.district_id
    else:
        wanted = sa.false()
    wanted = sa.and_(wanted, Department.is_active)
    if include:
        wanted = sa.or_(wanted, Department.id.in_(include))
    rows = db.session.execute(
        sa.select(Department.id, Department.name, Area.name.label("district"))
        .outerjoin(Area, Department.district_id == Area.id).where(wanted)
        .order_by(Department.district_id.is_not(None), Area.code, Department.name))
    if actor.role is not Role.ADMIN:
        return [(row.id, row.name) for row in rows]
    return [(row.id, f"{row.district or _('市直')} · {row.name}") for row in rows]


def member_choices(actor: User, include: list[int] | None = None) -> list[tuple[int, str]]:
    """The members (政协委员) ``actor`` may give an account, as (id, label): serving members
    without an account yet, every district's for city staff, their own district's for district
    staff; plus ``include`` (an account's current member, shown even when no longer serving).
    Labelled with the district (city staff), the code and the level, to tell namesakes apart."""
    if actor.role is Role.ADMIN:
        wanted: sa.ColumnElement[bool] = sa.true()
    elif actor.role is Role.DISTRICT_ADMIN:
        wanted = Member.district_id == actor.district_id
    else:
        wanted = sa.false()
    taken = sa.select(User.member_id).where(User.member_id.is_not(None))
    wanted = sa.and_(wanted, Member.is_active, Member.id.not_in(taken))
    if include:
        wanted = sa.or_(wanted, Member.id.in_(include))
    rows = db.session.execute(
        sa.select(Member.id, Member.name, Member.code, Member.level,
                  Area.name.label("district"))
        .outerjoin(Area, Member.district_id == Area.id).where(wanted)
        .order_by(Member.district_id.is_not(None), Area.code, Member.name, Member.id))
    labels = []
    for row in rows:
        parts = [row.district or _("全市")] if actor.role is Role.ADMIN else []
        parts += [row.name, *([row.code] if row.code else []), str(row.level.label)]
        labels.append((row.id, " · ".join(parts)))
    return labels
