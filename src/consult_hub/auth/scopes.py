"""Who may act on what: the one place the role rules live.

Views and operations call these; nothing else compares roles by hand.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from consult_hub.auth.models import Role, User
from consult_hub.platforms.models import Platform, platform_coordinators

if TYPE_CHECKING:
    from consult_hub.issues.models import Issue


def _coordinated_ids(user: User) -> set[int]:
    return {p.id for p in user.platforms}


def can_manage_platform(user: User, platform: Platform) -> bool:
    """Whether ``user`` may write to ``platform`` and everything held there."""
    if not user.is_active:
        return False
    if user.role is Role.ADMIN:
        return True
    if user.role is Role.DISTRICT_ADMIN:
        return platform.district_id == user.district_id
    return platform.id in _coordinated_ids(user)


def can_manage_district(user: User, district_id: int | None) -> bool:
    """Whether ``user`` may manage platforms, staff and problems of a district."""
    if not user.is_active:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.DISTRICT_ADMIN and district_id == user.district_id


def can_assign_issue(user: User, issue: Issue) -> bool:
    """Assigning to departments is district or city staff work, not a coordinator's."""
    return can_manage_district(user, issue.district_id)


def can_update_issue(user: User, issue: Issue) -> bool:
    """Progress notes and outcomes: staff of the district, or the platform's coordinator."""
    return can_manage_district(user, issue.district_id) or (
        user.role is Role.COORDINATOR and issue.platform_id in _coordinated_ids(user)
    )


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


def require(allowed: bool, what: str = "") -> None:
    """Abort with 403 unless ``allowed``; the refusal is written to the audit log."""
    if allowed:
        return
    from consult_hub.audit.operations import record_denied

    record_denied(what or request.path)
    abort(403)


def require_platform(platform: Platform) -> None:
    require(can_manage_platform(current_user, platform), f"platform:{platform.id}")
