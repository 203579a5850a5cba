"""Who may act on what: the one place the role rules live.

Views and operations call these; nothing else compares roles by hand. The SQL filters that
need a higher folder's tables sit above it: ``platforms/scopes.py`` (platforms and what is
held there), ``accounts/queries.py`` (the accounts a user may manage).

Five roles: city staff (everything), district staff (their district), a platform's
coordinator (their platforms' events and problems), a department's contact (承办单位联系人:
the problems assigned to their department, nothing else: no platforms, events or reports) and
a member (政协委员: their own proposals and reports; the platforms they serve, their events and
published problems, read-only).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import abort, request
from flask_login import current_user

from consult_hub.auth.models import Role, User

if TYPE_CHECKING:
    from consult_hub.departments.models import Department
    from consult_hub.issues.models import Issue
    from consult_hub.members.models import Member
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
        user.is_active and user.role is Role.COORDINATOR
        and issue.platform_id in _coordinated_ids(user)
    )


def is_department_contact(user: User) -> bool:
    """A department's contact (承办单位联系人): their own dashboard and problems, nothing else."""
    return user.role is Role.DEPARTMENT


def handles_issue(user: User, issue: Issue) -> bool:
    """Whether ``user`` is a contact of the department the problem is assigned to.

    A department's contact (承办单位联系人) sees only problems whose department is theirs:
    those it holds now, and those it handled (their history), however they ended.
    """
    return (user.is_active and user.role is Role.DEPARTMENT and user.department_id is not None
            and issue.department_id == user.department_id)


def can_view_issue(user: User, issue: Issue) -> bool:
    """Whether ``user`` may open the problem's staff page (its facts and timeline)."""
    return can_update_issue(user, issue) or handles_issue(user, issue)


def serves_platform(user: User, platform_id: int | None) -> bool:
    """Whether ``user`` is a member (政协委员) serving at the platform (下沉委员)."""
    return (user.is_active and user.role is Role.MEMBER and user.member is not None
            and platform_id is not None
            and any(p.id == platform_id for p in user.member.platforms))


def can_read_platform(user: User, platform: Platform) -> bool:
    """Whether ``user`` may open the platform's staff page and its events' pages: those who
    manage it, and the members serving there, who read them only (no write is theirs)."""
    return can_manage_platform(user, platform) or serves_platform(user, platform.id)


def reads_issue(user: User, issue: Issue) -> bool:
    """A member (政协委员) reads the published problems of the platforms they serve (下沉委员):
    the facts, public text and timeline, never a resident's contact details or words as
    submitted, and no action; they may start a proposal from them (proposals/views.py)."""
    return issue.is_published and serves_platform(user, issue.platform_id)


# The statuses in which a department holds a problem (issues/models.py DEPARTMENT_STATUSES,
# named here by value: auth sits below issues; tests/issues/test_departments.py checks that
# the two agree).
DEPARTMENT_HELD_STATUSES = frozenset({"assigned", "acknowledged", "in_progress", "replied"})


def can_see_contact(user: User, issue: Issue) -> bool:
    """Whether the submitter's name and phone are shown to ``user``.

    Staff and the platform's coordinator always (they call residents back). A department's
    contact only while the problem is assigned to the department: it may need to ask the
    resident where exactly the lamp is, but a problem it handled long ago, or one taken away
    from it, is no reason to keep reading a resident's phone number.
    """
    if can_update_issue(user, issue):
        return True
    return handles_issue(user, issue) and issue.status.value in DEPARTMENT_HELD_STATUSES


def department_issue_filter(user: User,
                            column: sa.ColumnElement[int | None]) -> sa.ColumnElement[bool] | None:
    """The SQL twin of ``handles_issue`` for a department's contact (``column``: the problem's
    department); None for the roles whose problems are scoped by platform
    (``platforms/scopes.platform_id_filter``)."""
    if user.role is not Role.DEPARTMENT:
        return None
    if not user.is_active or user.department_id is None:
        return sa.false()
    return column == user.department_id


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

    That is their district's staff, coordinators all of whose platforms (at least one) lie in
    it, and the contacts of the district's own departments (a city department's contacts are
    city staff's). A coordinator who also serves a platform elsewhere is city staff's to
    manage: otherwise resetting their password would let one district act in another.
    """
    if not actor.is_active:
        return False
    if actor.role is Role.ADMIN:
        return True
    if actor.role is not Role.DISTRICT_ADMIN:
        return False
    if user.role is Role.DISTRICT_ADMIN:
        return user.district_id == actor.district_id
    if user.role is Role.DEPARTMENT:
        return can_grant_department(actor, user.department)
    if user.role is Role.MEMBER:
        return can_grant_member(actor, user.member)
    return (user.role is Role.COORDINATOR and bool(user.platforms)
            and all(p.district_id == actor.district_id for p in user.platforms))


def can_grant_department(actor: User, department: Department | None) -> bool:
    """Whether ``actor`` may make someone a contact of ``department``:
    city staff for any, district staff for their own district's departments only."""
    if not actor.is_active or department is None:
        return False
    if actor.role is Role.ADMIN:
        return True
    return (actor.role is Role.DISTRICT_ADMIN and department.district_id is not None
            and department.district_id == actor.district_id)


def can_grant_member(actor: User, member: Member | None) -> bool:
    """Whether ``actor`` may give ``member`` (政协委员) an account, or manage theirs:
    city staff for any member, district staff for the members of their district."""
    if not actor.is_active or member is None:
        return False
    if actor.role is Role.ADMIN:
        return True
    return (actor.role is Role.DISTRICT_ADMIN and member.district_id is not None
            and member.district_id == actor.district_id)


def grantable_roles(actor: User) -> tuple[Role, ...]:
    """The roles ``actor`` may give an account: city staff any; district staff coordinators,
    their departments' contacts and their district's members."""
    if not actor.is_active:
        return ()
    if actor.role is Role.ADMIN:
        return tuple(Role)
    if actor.role is Role.DISTRICT_ADMIN:
        return (Role.COORDINATOR, Role.DEPARTMENT, Role.MEMBER)
    return ()


def can_choose_district(user: User) -> bool:
    """City staff pick any district in lists and forms; everyone else has theirs fixed."""
    return user.is_active and user.role is Role.ADMIN


def staff_district_id(user: User) -> int | None:
    """The one district a district admin works in; None for city staff and coordinators."""
    return user.district_id if user.role is Role.DISTRICT_ADMIN else None


# What a platform's coordinator may do on its problems besides reading them: record progress
# (notes), correct the text, note a phone rating; and settle a problem still at "received"
# (fixed on the spot, or not for the platform) before any department is involved. Reviewing
# a resident's submission (受理, "accept" from "pending") is not among them: publishing is
# district or city staff's decision.
COORDINATOR_ISSUE_ACTIONS = frozenset({"note", "edit", "rate"})
COORDINATOR_TRIAGE_ACTIONS = frozenset({"resolve", "reject"})
# What a department's contact does on a problem its department holds: issues/lifecycle.py's
# DEPARTMENT_ACTIONS (named here: auth sits below issues; tests/issues/test_departments.py
# checks that they agree).
DEPARTMENT_ISSUE_ACTIONS = frozenset({"acknowledge", "start", "reply", "request_extension",
                                      "return", "note"})
# The department's own word (签收, 答复, 申请延期, 退回): staff do not speak for a department,
# so that a reply is never confirmed by the person who wrote it. Staff may still mark work
# started and write notes, as before departments had accounts, and record an outcome
# themselves (resolve, plan, constrain) for a department without one.
DEPARTMENT_ONLY_ACTIONS = frozenset({"acknowledge", "reply", "request_extension", "return"})


def can_take_action(user: User, issue: Issue, action: str) -> bool:
    """Whether ``user`` may take ``action`` (a lifecycle action, "edit" or "rate") on ``issue``.

    Whether the action fits the problem's status is the transition table's question; this is
    who may ask. District and city staff review submissions (accept), assign, confirm or send
    back replies, decide on extensions and follow problems to an outcome: every action but the
    department's own. Coordinators record problems and their progress (see the sets above).
    A department's contact takes the department's actions while its department holds the
    problem, and nothing on any other problem. The web forms and the API (bearer tokens) ask
    the same question.
    """
    if not user.is_active:
        return False
    if user.role is Role.DEPARTMENT:
        return (handles_issue(user, issue) and action in DEPARTMENT_ISSUE_ACTIONS
                and issue.status.value in DEPARTMENT_HELD_STATUSES)
    if can_assign_issue(user, issue):
        return action not in DEPARTMENT_ONLY_ACTIONS
    if not can_update_issue(user, issue):
        return False
    if action in COORDINATOR_ISSUE_ACTIONS:
        return True
    return action in COORDINATOR_TRIAGE_ACTIONS and issue.status.value == "received"
