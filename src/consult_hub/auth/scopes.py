"""Who may act on what: the one place the role rules live.

Views and operations call these; nothing else compares roles by hand. The SQL filters that
need a higher folder's tables sit above it: ``platforms/scopes.py`` (platforms and what is
held there), ``accounts/queries.py`` (the accounts a user may manage).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from consult_hub.auth.models import Role, User

if TYPE_CHECKING:
    from consult_hub.issues.models import Issue
    from consult_hub.platforms.models import Platform


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


def require(allowed: bool, what: str = "") -> None:
    """Abort with 403 unless ``allowed``; the refusal is written to the audit log."""
    if allowed:
        return
    from consult_hub.audit.operations import record_denied

    record_denied(what or request.path)
    abort(403)


def require_platform(platform: Platform) -> None:
    require(can_manage_platform(current_user, platform), f"platform:{platform.id}")


def district_id_filter(user: User, column: sa.ColumnElement[int | None]) -> sa.ColumnElement[bool]:
    """Limit rows that belong to a district (members, departments) to the user's district."""
    if user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.DISTRICT_ADMIN:
        return column == user.district_id
    return sa.false()


def can_manage_user(actor: User, user: User) -> bool:
    """Admins manage every account; district staff those whose whole scope is their district.

    That is their district's staff, and coordinators all of whose platforms (at least one)
    lie in it. A coordinator who also serves a platform elsewhere is city staff's to manage:
    otherwise resetting their password would let one district act in another.
    """
    if not actor.is_active:
        return False
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.DISTRICT_ADMIN:
        return False
    if user.role is Role.DISTRICT_ADMIN:
        return user.district_id == actor.district_id
    return (user.role is Role.COORDINATOR and bool(user.platforms)
            and all(p.district_id == actor.district_id for p in user.platforms))


def grantable_roles(actor: User) -> tuple[Role, ...]:
    """The roles ``actor`` may give an account: city staff any, district staff coordinators only."""
    if not actor.is_active:
        return ()
    if actor.role is Role.ADMIN:
        return tuple(Role)
    if actor.role is Role.DISTRICT_ADMIN:
        return (Role.COORDINATOR,)
    return ()


def can_choose_district(user: User) -> bool:
    """City staff pick any district in lists and forms; everyone else has theirs fixed."""
    return user.is_active and user.role is Role.ADMIN


def staff_district_id(user: User) -> int | None:
    """The one district a district admin works in; None for city staff and coordinators."""
    return user.district_id if user.role is Role.DISTRICT_ADMIN else None


# What a platform's coordinator may do on its problems besides reading them: record progress
# (notes), correct the text, note a phone rating; and settle a problem still at "received"
# (fixed on the spot, or not for the platform) before any department is involved.
COORDINATOR_ISSUE_ACTIONS = frozenset({"note", "edit", "rate"})
COORDINATOR_TRIAGE_ACTIONS = frozenset({"resolve", "reject"})


def can_take_action(user: User, issue: Issue, action: str) -> bool:
    """Whether ``user`` may take ``action`` (a lifecycle action, "edit" or "rate") on ``issue``.

    District and city staff assign problems and follow them to an outcome, so they take every
    action; coordinators record problems and their progress (see the sets above).
    """
    if can_assign_issue(user, issue):
        return True
    if not can_update_issue(user, issue):
        return False
    if action in COORDINATOR_ISSUE_ACTIONS:
        return True
    return action in COORDINATOR_TRIAGE_ACTIONS and issue.status.value == "received"
