"""The platforms a user may manage, as SQL: the WHERE-clause side of ``auth/scopes.py``.

``can_manage_platform`` there decides for one platform in Python; these filters select the
same platforms (tests/accounts/test_auth.py checks that they agree). They sit here, above
``auth``, because they need the platform tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.auth.models import Role, User
from consult_hub.platforms.models import Platform, platform_coordinators


def platform_filter(user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting ``Platform`` rows to those ``user`` may manage."""
    if user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.DISTRICT_ADMIN:
        return Platform.district_id == user.district_id
    return Platform.id.in_(
        sa.select(platform_coordinators.c.platform_id).where(
            platform_coordinators.c.user_id == user.id
        )
    )


def platform_id_filter(user: User, column: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """Limit rows that carry a ``platform_id`` column (events, problems) to the user's scope."""
    if user.role is Role.ADMIN:
        return sa.true()
    return column.in_(sa.select(Platform.id).where(platform_filter(user)))
