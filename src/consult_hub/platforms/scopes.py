"""The platforms a user may manage, as SQL: the WHERE-clause side of ``auth/scopes.py``.

``can_manage_platform`` there decides for one platform in Python; these filters select the
same platforms (tests/accounts/test_auth.py checks that they agree). They sit here, above
``auth``, because they need the platform tables.
"""

from __future__ import annotations

import sqlalchemy as sa

from consult_hub.auth.models import Role, User
from consult_hub.platforms.models import Platform, platform_coordinators, platform_members


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


def platform_id_filter(user: User, column: sa.ColumnElement[int], *,
                       reading: bool = False) -> sa.ColumnElement[bool]:
    """Limit rows that carry a ``platform_id`` column (events, problems) to the user's scope:
    the platforms they may manage, or with ``reading`` those they may read
    (``platform_read_filter``: a member's too; only for read-only pages)."""
    if user.role is Role.ADMIN:
        return sa.true()
    scope = platform_read_filter(user) if reading else platform_filter(user)
    return column.in_(sa.select(Platform.id).where(scope))


def platform_read_filter(user: User) -> sa.ColumnElement[bool]:
    """A WHERE clause limiting ``Platform`` rows to those ``user`` may read: those they may
    manage and, for a member (政协委员), the platforms they serve (``auth/scopes.py``
    ``can_read_platform``). Only the read-only pages use it: never a write's scope."""
    if user.role is Role.MEMBER:
        if not user.is_active or user.member_id is None:
            return sa.false()
        return Platform.id.in_(
            sa.select(platform_members.c.platform_id).where(
                platform_members.c.member_id == user.member_id
            )
        )
    return platform_filter(user)
