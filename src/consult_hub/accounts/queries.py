"""Read the accounts a user may manage, for the account pages."""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.auth.models import Role, User
from consult_hub.platforms.models import Platform, platform_coordinators


def user_filter(actor: User) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting ``User`` rows to the accounts ``actor`` may manage."""
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
    )
