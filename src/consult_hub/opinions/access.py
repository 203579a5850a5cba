"""Who may see, write and act on public-opinion reports (社情民意信息).

- Writers: a member (their own reports), a platform's coordinator (the platform's own reports
  and those they wrote; a member's report written at the platform stays the member's),
  district staff (their district's) and city staff (every report). A writer edits and sends
  a draft; district and city staff edit any report of their scope until it is decided.
- Decisions (采用, 不予采用, 退回修改) and an instruction with its follow-up: district staff of
  the report's district and city staff. 报送上级 (to the province or the national CPPCC):
  city staff only.
- A department's contact has nothing to do with reports.

The SQL twin of ``can_view`` is ``report_scope``; the views, the list and the links on event
and problem pages ask these, nothing compares roles by hand.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consult_hub.auth.models import Role, User
from consult_hub.auth.scopes import can_manage_district, can_manage_platform
from consult_hub.opinions.lifecycle import TRANSITIONS
from consult_hub.opinions.models import OpinionReport, OpinionSource, OpinionStatus
from consult_hub.platforms.models import Platform
from consult_hub.platforms.scopes import platform_id_filter

# The roles that write reports: staff, coordinators and members (not departments' contacts).
WRITER_ROLES = (Role.ADMIN, Role.DISTRICT_ADMIN, Role.COORDINATOR, Role.MEMBER)
# Before a decision, district and city staff may still correct the text.
EDITABLE_BY_STAFF = frozenset({OpinionStatus.DRAFT, OpinionStatus.SUBMITTED})


def _coordinates(user: User, platform_id: int | None) -> bool:
    return (user.role is Role.COORDINATOR and platform_id is not None
            and any(p.id == platform_id for p in user.platforms))


def is_writer(user: User, report: OpinionReport) -> bool:
    """The report's own side: its author, the member it belongs to, or a coordinator of the
    platform it came from."""
    if not user.is_active:
        return False
    if user.role is Role.MEMBER:
        return user.member_id is not None and report.member_id == user.member_id
    if user.role is Role.COORDINATOR:
        return report.author_id == user.id or (report.source is OpinionSource.PLATFORM
                                               and _coordinates(user, report.platform_id))
    return False


def is_office(user: User, report: OpinionReport) -> bool:
    """District staff of the report's district, or city staff."""
    return can_manage_district(user, report.district_id)


def can_view(user: User, report: OpinionReport) -> bool:
    return is_writer(user, report) or is_office(user, report)


def can_edit(user: User, report: OpinionReport) -> bool:
    """The writer while it is a draft; district and city staff until it is decided."""
    if is_office(user, report):
        return report.status in EDITABLE_BY_STAFF
    return is_writer(user, report) and report.status is OpinionStatus.DRAFT


def can_take_action(user: User, report: OpinionReport, action: str) -> bool:
    """Whether ``user`` may take ``action`` on ``report`` (whether it fits the report's status
    is the transition table's question)."""
    transition = TRANSITIONS.get(action)
    if transition is None or not user.is_active:
        return False
    if transition.by == "writer":
        return is_writer(user, report) or is_office(user, report)
    if transition.by == "city":
        return user.role is Role.ADMIN
    return is_office(user, report)


def can_write_for(user: User, platform: Platform | None) -> bool:
    """Whether ``user`` may write a report for ``platform`` (None: without a platform)."""
    if not user.is_active or user.role not in WRITER_ROLES:
        return False
    if platform is None:
        # A coordinator writes for one of their platforms; the others may write without one.
        return user.role is not Role.COORDINATOR
    if user.role is Role.MEMBER:
        return any(m.id == user.member_id for m in platform.members)
    return can_manage_platform(user, platform)


def report_scope(user: User) -> sa.ColumnElement[bool]:
    """The reports ``user`` may see on the list (SQL twin of ``can_view``)."""
    if not user.is_active:
        return sa.false()
    if user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.DISTRICT_ADMIN:
        return OpinionReport.district_id == user.district_id
    if user.role is Role.MEMBER:
        if user.member_id is None:
            return sa.false()
        return OpinionReport.member_id == user.member_id
    if user.role is Role.COORDINATOR:
        return sa.or_(OpinionReport.author_id == user.id, sa.and_(
            OpinionReport.source == OpinionSource.PLATFORM,
            platform_id_filter(user, OpinionReport.platform_id)))
    return sa.false()


def visible(user: User, reports: list[Any]) -> list[Any]:
    """Those of ``reports`` that ``user`` may open."""
    return [report for report in reports if can_view(user, report)]
