"""Figures for the home page and the signed-in landing page, each in a fixed number of queries."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.pagecache import site_version
from consult_hub.core.timefmt import (
    local_month_bounds,
    local_today,
    local_year_bounds,
    month_runs,
    to_local,
)
from consult_hub.departments.models import Department
from consult_hub.events.models import HAPPENED_STATUSES, Event, EventStatus
from consult_hub.events.queries import inactive_clause
from consult_hub.extensions import db
from consult_hub.issues.lifecycle import DEPARTMENT_WORKING
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    Issue,
    IssueStatus,
    IssueUpdate,
)
from consult_hub.issues.queries import WAITING, deadline
from consult_hub.issues.queries import overdue_clause as _overdue_clause
from consult_hub.opinions.access import report_scope
from consult_hub.opinions.models import OpinionReport, OpinionStatus
from consult_hub.platforms.models import Platform, PlatformStatus
from consult_hub.platforms.scopes import platform_filter, platform_read_filter
from consult_hub.proposals.models import (
    HANDLING_STATUSES,
    Proposal,
    ProposalStatus,
    ProposalUpdate,
)
from consult_hub.proposals.scopes import proposal_filter
from consult_hub.tallies import cppcc
from consult_hub.tallies.compute import usable
from consult_hub.tallies.models import MonthlyTally


@dataclass
class Headline:
    year: int
    platforms: int
    events_held: int
    issues_resolved: int
    # The year's opinion reports and proposal review: the seed's other 数读 sentences.
    cppcc: cppcc.YearSummary | None = None


def headline_years(now: datetime | None = None) -> list[int]:
    """The years in which events were held, newest first.

    The first and last such event per happened status, each the end of an index range
    (``ix_events_status_starts_at_platform_id``): one MIN/MAX over both statuses at once read
    every held event's index entry (3 ms on a city's ten years, the home page's largest query).
    """
    now = now or utcnow()

    def end(func: Any, status: EventStatus) -> Any:
        return (sa.select(func(Event.starts_at))
                .where(Event.status == status, Event.starts_at <= now).scalar_subquery())

    statuses = sorted(HAPPENED_STATUSES, key=lambda status: status.value)
    ends = db.session.execute(sa.select(
        *(end(sa.func.min, s) for s in statuses), *(end(sa.func.max, s) for s in statuses))).one()
    firsts = [value for value in ends[:len(statuses)] if value is not None]
    lasts = [value for value in ends[len(statuses):] if value is not None]
    if not firsts:
        return []
    return list(range(to_local(max(lasts)).year, to_local(min(firsts)).year - 1, -1))


def default_headline_year(years: list[int], now: datetime | None = None) -> int:
    """The latest complete year with events, as in an annual review; else the latest one."""
    this_year = to_local(now or utcnow()).year
    complete = [year for year in years if year < this_year]
    if complete:
        return complete[0]
    return years[0] if years else this_year


def headline_figures(year: int) -> Headline:
    """The seed's three figures for one year: frozen months from the monthly tallies (what the
    annual report prints), months not frozen yet counted from the records.

    A nation's year is millions of rows; counting it live took seconds. Frozen, it is twelve
    rows, and the current month's records.
    """
    now = utcnow()
    frozen = {row.month: row.metrics for row in db.session.execute(
        sa.select(MonthlyTally.month, MonthlyTally.metrics, MonthlyTally.computed_at).where(
            MonthlyTally.scope_key == "city", MonthlyTally.month >= date(year, 1, 1),
            MonthlyTally.month <= date(year, 12, 1)))
        if usable(row.month, row.computed_at, now)}
    events = sum(int(metrics["events_held"]) for metrics in frozen.values())
    resolved = sum(int(metrics["issues_resolved"]) for metrics in frozen.values())
    for first, last in month_runs(year, frozen):
        start = local_month_bounds(first.year, first.month)[0]
        end = local_month_bounds(last.year, last.month)[1]
        counted = db.session.execute(sa.select(
            sa.select(sa.func.count(Event.id)).where(
                Event.happened, Event.starts_at >= start, Event.starts_at < end
            ).scalar_subquery(),
            sa.select(sa.func.count(Issue.id)).where(
                Issue.status == IssueStatus.RESOLVED, Issue.resolved_at >= start,
                Issue.resolved_at < end
            ).scalar_subquery())).one()
        events, resolved = events + counted[0], resolved + counted[1]
    december = frozen.get(date(year, 12, 1))
    if december is not None:
        platforms = int(december["platforms_total"])
    else:
        platforms = db.session.scalar(sa.select(sa.func.count(Platform.id)).where(
            Platform.established_on <= date(year, 12, 31),
            Platform.status != PlatformStatus.CLOSED)) or 0
    return Headline(year, platforms, events, resolved, cppcc.year_summary(year, now=now))


HEADLINE_KEEP_SECONDS = 60


def home_headline(requested: int | None) -> tuple[list[int], Headline]:
    """The home page's years and the figures of the ``requested`` year (the default year when
    it has no events): kept in this process while the site version stands, for at most
    ``HEADLINE_KEEP_SECONDS`` (provisional tallies age, the year turns).

    Complete years read twelve stored tallies; a month without one (no scheduler yet, or
    the current month when its count has aged) is counted from the records. Kept, that count
    runs once per write and process, never once per request.
    """
    version = site_version()
    kept: dict[Any, tuple[float, Any]] = current_app.extensions.setdefault("main.headline", {})
    now = time.monotonic()

    def keep(key: Any, compute: Any) -> Any:
        found = kept.get(key)
        if version is not None and found is not None and found[0] > now:
            return found[1]
        value = compute()
        if version is not None:
            if len(kept) > 100:  # only the years with events are asked for: never that many
                kept.clear()
            kept[key] = (now + HEADLINE_KEEP_SECONDS, value)
        return value

    years = keep(("years", version), headline_years)
    year = requested if requested in years else default_headline_year(years)
    return years, keep(("figures", version, year), lambda: headline_figures(year))


@dataclass
class ScopeRow:
    """One line of the landing table: a platform or a district with its live figures."""

    id: int
    name: str
    platforms: int = 0
    events_this_year: int = 0
    upcoming_events: int = 0
    open_issues: int = 0
    overdue_issues: int = 0
    inactive_platforms: int = 0  # filled for district rows only


FIGURES = ("platforms", "events_this_year", "upcoming_events", "open_issues", "overdue_issues",
           "inactive_platforms")


def _totals(rows: list[Any], row: Any, names: tuple[str, ...]) -> Any:
    for line in rows:
        for name in names:
            setattr(row, name, getattr(row, name) + getattr(line, name))
    return row


@dataclass
class LandingSummary:
    title: str  # may be a lazy translation
    rows: list[ScopeRow] = field(default_factory=list)
    row_kind: str = "platform"

    @property
    def totals(self) -> ScopeRow:
        return _totals(self.rows, ScopeRow(0, str(_l("合计"))), FIGURES)


def landing_summary(user: User, now: datetime | None = None) -> LandingSummary:
    """The user's platforms (coordinator) or districts (staff) with this year's figures."""
    now = now or utcnow()
    today = local_today(now)
    start, end = local_year_bounds(today.year)
    if user.role is Role.COORDINATOR:
        group_col = Platform.id
        names = [(p.id, p.name) for p in user.platforms]
        platform_scope = Platform.id.in_([pid for pid, _ in names])
        summary = LandingSummary(_l("我的平台"), row_kind="platform")
    else:
        group_col = Platform.district_id
        districts = (sa.select(Area.id, Area.name).where(Area.parent_id.is_(None))
                     .order_by(Area.code))
        if user.role is Role.DISTRICT_ADMIN:
            districts = districts.where(Area.id == user.district_id)
        names = [(row.id, row.name) for row in db.session.execute(districts)]
        # The city's staff see every district: no list of them to check per platform. (The
        # problems keep theirs: it makes SQLite read them by (district_id, status).)
        platform_scope = (Platform.district_id.in_([did for did, _ in names])
                          if user.role is Role.DISTRICT_ADMIN else sa.true())
        title = _l("本区概况") if user.role is Role.DISTRICT_ADMIN else _l("各区概况")
        summary = LandingSummary(title, row_kind="district")
    rows = {key: ScopeRow(key, name) for key, name in names}
    if not rows:
        return summary

    def fill(stmt: sa.Select, *attrs: str) -> None:
        for key, *counts in db.session.execute(stmt):
            if key in rows:
                for attr, count in zip(attrs, counts, strict=True):
                    setattr(rows[key], attr, count)

    def count_if(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.count(sa.case((condition, 1)))

    # One pass over the platforms: those not closed and (districts) the inactive ones.
    platform_figures = {"platforms": count_if(Platform.status != PlatformStatus.CLOSED)}
    if summary.row_kind == "district":
        platform_figures["inactive_platforms"] = count_if(inactive_clause(now))
    fill(sa.select(group_col, *platform_figures.values()).where(platform_scope)
         .group_by(group_col), *platform_figures)
    # Events by platform need no join; by district, the platform's (index-only on the events'
    # side: ix_events_status_starts_at_platform_id).
    if group_col is Platform.id:
        events = (sa.select(Event.platform_id, sa.func.count())
                  .where(Event.platform_id.in_(list(rows))).group_by(Event.platform_id))
    else:
        events = (sa.select(group_col, sa.func.count()).select_from(Event).join(Platform)
                  .where(platform_scope).group_by(group_col))
    fill(events.where(Event.happened, Event.starts_at >= start, Event.starts_at < end),
         "events_this_year")
    fill(events.where(Event.status == EventStatus.PLANNED, Event.starts_at >= now),
         "upcoming_events")
    # Problems carry their district: group them without the platforms join, and name the open
    # statuses (an IN the (district_id, status) index can answer; NOT IN would read every row).
    issue_col = Issue.platform_id if group_col is Platform.id else Issue.district_id
    fill(sa.select(issue_col, sa.func.count(), count_if(_overdue_clause(today)))
         .where(issue_col.in_(list(rows)), Issue.status.in_(OPEN_STATUSES)).group_by(issue_col),
         "open_issues", "overdue_issues")
    summary.rows = list(rows.values())
    return summary


# --- The dashboard: what needs doing, besides the landing table --------------------------------

UPCOMING_DAYS = 14
LIST_LIMIT = 10


@dataclass
class ItemList:
    """The first few rows of a list, and how many rows there are in all."""

    items: list[sa.Row[Any]]
    total: int

    @classmethod
    def fetch(cls, stmt: sa.Select, limit: int = LIST_LIMIT) -> ItemList:
        """Run ``stmt`` once: its first ``limit`` rows and, by a window count, the total."""
        items = list(db.session.execute(stmt.add_columns(sa.func.count().over().label("total"))
                                        .limit(limit)))
        return cls(items, items[0].total if items else 0)


@dataclass
class CoordinatorBoard:
    """A coordinator's to-do: minutes to write, problems to chase, events coming up."""

    missing_minutes: ItemList
    overdue_issues: ItemList
    upcoming_events: ItemList
    open_issues: ItemList
    upcoming_days: int = UPCOMING_DAYS


@dataclass
class MonthRow:
    """This month's activity in one district (or the whole city, as the total)."""

    id: int
    name: str
    events_held: int = 0
    issues_raised: int = 0
    resolved: int = 0
    planned: int = 0
    constrained: int = 0
    rejected: int = 0
    new_platforms: int = 0


MONTH_FIGURES = ("events_held", "issues_raised", "resolved", "planned", "constrained", "rejected",
                 "new_platforms")


@dataclass
class Waiting:
    """What waits on district or city staff: submissions to review (待受理), replies to
    confirm, extension requests to decide, problems departments sent back."""

    pending: int = 0
    replied: int = 0
    extension: int = 0
    returned: int = 0

    @property
    def total(self) -> int:
        return self.pending + self.replied + self.extension + self.returned


@dataclass
class StaffBoard:
    """District or city staff: what waits on them, overdue problems by department, idle
    platforms, this month."""

    overdue_by_department: list[sa.Row[Any]]
    inactive_platforms: ItemList
    inactive_days: int
    month: date  # its first day
    month_rows: list[MonthRow]
    waiting: Waiting = field(default_factory=Waiting)

    @property
    def overdue_total(self) -> int:
        return sum(row.overdue for row in self.overdue_by_department)

    @property
    def month_totals(self) -> MonthRow:
        return _totals(self.month_rows, MonthRow(0, str(_l("合计"))), MONTH_FIGURES)


def _issue_rows() -> sa.Select:
    return (
        sa.select(Issue.id, Issue.reference, Issue.title, Issue.status,
                  deadline().label("due_on"),
                  Platform.name.label("platform"), Department.name.label("department"))
        .join(Platform, Issue.platform_id == Platform.id)
        .outerjoin(Department, Issue.department_id == Department.id)
    )


def _event_rows() -> sa.Select:
    return (sa.select(Event.id, Event.topic, Event.starts_at, Event.ends_at, Event.location,
                      Platform.name.label("platform"))
            .join(Platform, Event.platform_id == Platform.id))


def coordinator_board(platform_ids: list[int], now: datetime | None = None) -> CoordinatorBoard:
    """The lists on a coordinator's dashboard, for ``platform_ids``, in four queries."""
    now = now or utcnow()
    today = local_today(now)
    due = deadline()
    mine_e, mine_i = Event.platform_id.in_(platform_ids), Issue.platform_id.in_(platform_ids)
    return CoordinatorBoard(
        # Held but not written up: still planned after its end time.
        missing_minutes=ItemList.fetch(_event_rows().where(
            mine_e, Event.status == EventStatus.PLANNED, Event.ends_at < now,
        ).order_by(Event.ends_at.desc(), Event.id)),
        overdue_issues=ItemList.fetch(_issue_rows().where(
            mine_i, _overdue_clause(today)).order_by(due, Issue.id)),
        upcoming_events=ItemList.fetch(_event_rows().where(
            mine_e, Event.status == EventStatus.PLANNED, Event.starts_at >= now,
            Event.starts_at < now + timedelta(days=UPCOMING_DAYS),
        ).order_by(Event.starts_at, Event.id)),
        # Open and not overdue: every open status has its date in ``due`` (NULL: none yet).
        open_issues=ItemList.fetch(_issue_rows().where(
            mine_i, Issue.status.not_in(CLOSED_STATUSES), sa.or_(due.is_(None), due >= today),
        ).order_by(due.is_(None), due, Issue.created_at, Issue.id)),
    )


def _overdue_by_department(user: User, today: date) -> list[sa.Row[Any]]:
    """Overdue problems per department (unassigned ones together), most first."""
    due = deadline()
    count = sa.func.count(Issue.id)
    stmt = (
        sa.select(Issue.department_id, Department.name, Area.name.label("district"),
                  count.label("overdue"), sa.func.min(due).label("oldest_on"))
        .select_from(Issue)
        .outerjoin(Department, Issue.department_id == Department.id)
        .outerjoin(Area, Department.district_id == Area.id)
        .where(_overdue_clause(today))
        .group_by(Issue.department_id, Department.name, Area.name)
        .order_by(count.desc(), sa.func.min(due), Department.name)
    )
    if user.role is Role.DISTRICT_ADMIN:
        stmt = stmt.where(Issue.district_id == user.district_id)
    return list(db.session.execute(stmt))


def _inactive_platforms(user: User, now: datetime) -> ItemList:
    """The platforms idle longest (never held an event first), with their last held event."""
    last_held = (sa.select(sa.func.max(Event.starts_at))
                 .where(Event.platform_id == Platform.id, Event.happened)
                 .correlate(Platform).scalar_subquery().label("last_held_at"))
    stmt = (
        sa.select(Platform.id, Platform.name, Area.name.label("district"), last_held)
        .join(Area, Platform.district_id == Area.id)
        .where(platform_filter(user), inactive_clause(now))
        .order_by(last_held.nulls_first(), Platform.name, Platform.id)
    )
    return ItemList.fetch(stmt)


MONTH_ISSUE_FIGURES = ("issues_raised", "resolved", "constrained", "rejected")


@functools.cache
def _month_statements() -> dict[str, sa.Select[Any]]:
    """The month's statements, built once per process: the month and the districts are bound
    at each run (``start``/``end`` the month's UTC bounds, ``first``/``following`` its local
    days, ``districts`` the ids). Building these expressions anew took a dashboard longer than
    the database took to answer them."""
    start, end = sa.bindparam("start"), sa.bindparam("end")
    districts = sa.bindparam("districts", expanding=True)

    def in_month(when: Any, *also: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.count(sa.case((sa.and_(*also, when >= start, when < end), 1)))

    # The problem figures follow the monthly tallies (tallies/compute.py), so that the two agree:
    # each problem counts in the status it is in now, dated by when it got there.
    figures = {
        "issues_raised": in_month(Issue.created_at),
        "resolved": in_month(Issue.resolved_at, Issue.status == IssueStatus.RESOLVED),
        "constrained": in_month(Issue.closed_at, Issue.status == IssueStatus.CONSTRAINED),
        "rejected": in_month(Issue.closed_at, Issue.status == IssueStatus.REJECTED),
    }
    assert tuple(figures) == MONTH_ISSUE_FIGURES
    # Only problems the month could count: raised or closed since it began. Two index ranges,
    # where their OR would read every problem of the districts.
    touched = Issue.id.in_(sa.union(
        sa.select(Issue.id).where(Issue.created_at >= start),
        sa.select(Issue.id).where(Issue.closed_at >= start)))
    later_plan = aliased(IssueUpdate)
    return {
        "events_held": sa.select(Platform.district_id, sa.func.count(Event.id))
        .join(Platform, Event.platform_id == Platform.id)
        .where(Platform.district_id.in_(districts), Event.happened, Event.starts_at >= start,
               Event.starts_at < end)
        .group_by(Platform.district_id),
        "issues": sa.select(Issue.district_id, *(column.label(name)
                                                 for name, column in figures.items()))
        .where(Issue.district_id.in_(districts), touched).group_by(Issue.district_id),
        # Planned: planned now, and the latest move to "planned" falls in the month (as the
        # tally counts it), from the month's timeline entries.
        "planned": sa.select(Issue.district_id, sa.func.count(sa.distinct(Issue.id)))
        .select_from(IssueUpdate).join(Issue, Issue.id == IssueUpdate.issue_id)
        .where(IssueUpdate.to_status == IssueStatus.PLANNED, IssueUpdate.created_at >= start,
               IssueUpdate.created_at < end, Issue.status == IssueStatus.PLANNED,
               Issue.district_id.in_(districts),
               ~sa.exists().where(later_plan.issue_id == IssueUpdate.issue_id,
                                  later_plan.to_status == IssueStatus.PLANNED,
                                  later_plan.created_at > IssueUpdate.created_at))
        .group_by(Issue.district_id),
        "new_platforms": sa.select(Platform.district_id, sa.func.count(Platform.id))
        .where(Platform.district_id.in_(districts),
               Platform.established_on >= sa.bindparam("first"),
               Platform.established_on < sa.bindparam("following"))
        .group_by(Platform.district_id),
    }


def _month_rows(districts: list[ScopeRow], today: date) -> list[MonthRow]:
    """This month's figures per district, in four grouped queries."""
    rows = {row.id: MonthRow(row.id, row.name) for row in districts}
    start, end = local_month_bounds(today.year, today.month)
    bound = {"start": start, "end": end, "first": to_local(start).date(),
             "following": to_local(end).date(), "districts": list(rows)}
    statements = _month_statements()
    for name, stmt in statements.items():
        for key, *counts in db.session.execute(stmt, bound):
            if key in rows:
                attrs = MONTH_ISSUE_FIGURES if name == "issues" else (name,)
                for attr, count in zip(attrs, counts, strict=True):
                    setattr(rows[key], attr, count)
    return list(rows.values())


def _waiting(user: User) -> Waiting:
    """The counts of what waits on staff in the user's district (the city's, for city staff),
    in one query over the problems still open."""
    def count(condition: sa.ColumnElement[bool]) -> sa.ColumnElement[int]:
        return sa.func.count(sa.case((condition, 1)))

    stmt = sa.select(
        count(Issue.status == IssueStatus.PENDING).label("pending"),
        count(Issue.status == IssueStatus.REPLIED).label("replied"),
        count(WAITING["extension"]()).label("extension"),
        count(WAITING["returned"]()).label("returned"),
    ).where(Issue.status.in_([IssueStatus.PENDING, IssueStatus.REPLIED, IssueStatus.RECEIVED,
                              *DEPARTMENT_WORKING]))
    if user.role is Role.DISTRICT_ADMIN:
        stmt = stmt.where(Issue.district_id == user.district_id)
    row = db.session.execute(stmt).one()
    return Waiting(pending=row.pending, replied=row.replied, extension=row.extension,
                   returned=row.returned)


def staff_board(user: User, summary: LandingSummary, now: datetime | None = None) -> StaffBoard:
    """The lists on a district's or the city's dashboard; ``summary`` gives the districts."""
    now = now or utcnow()
    today = local_today(now)
    return StaffBoard(
        overdue_by_department=_overdue_by_department(user, today),
        inactive_platforms=_inactive_platforms(user, now),
        inactive_days=current_app.config["INACTIVE_DAYS"],
        month=today.replace(day=1),
        month_rows=_month_rows(summary.rows, today),
        waiting=_waiting(user),
    )


# --- A department's contact: the problems assigned to their department ------------------------


@dataclass
class DepartmentBoard:
    """A department's to-do (承办单位工作台): new assignments to acknowledge, problems due soon
    and overdue, replies sent back for rework; and how many replies wait for confirmation."""

    department: str
    new_assignments: ItemList
    due_soon: ItemList
    overdue: ItemList
    rework: ItemList
    replied: int
    soon_days: int


def _department_rows() -> sa.Select:
    return (sa.select(Issue.id, Issue.reference, Issue.title, Issue.status,
                      deadline().label("due_on"), Issue.rework_reason, Issue.requested_due_on,
                      Issue.assigned_at, Platform.name.label("platform"))
            .join(Platform, Issue.platform_id == Platform.id))


def department_board(user: User, now: datetime | None = None) -> DepartmentBoard:
    """The lists on a department contact's dashboard, for their department, in five queries."""
    now = now or utcnow()
    today = local_today(now)
    soon = current_app.config["DUE_SOON_DAYS"]
    mine = Issue.department_id == user.department_id
    holding = Issue.status.in_(DEPARTMENT_WORKING)
    due = deadline()
    replied = db.session.scalar(sa.select(sa.func.count(Issue.id)).where(
        mine, Issue.status == IssueStatus.REPLIED)) or 0
    return DepartmentBoard(
        department=user.department.name if user.department else "",
        new_assignments=ItemList.fetch(_department_rows().where(
            mine, Issue.status == IssueStatus.ASSIGNED,
        ).order_by(Issue.due_on, Issue.id)),
        due_soon=ItemList.fetch(_department_rows().where(
            mine, holding, Issue.due_on >= today, Issue.due_on <= today + timedelta(days=soon),
        ).order_by(Issue.due_on, Issue.id)),
        overdue=ItemList.fetch(_department_rows().where(
            mine, _overdue_clause(today)).order_by(due, Issue.id)),
        rework=ItemList.fetch(_department_rows().where(
            mine, holding, Issue.rework_reason.is_not(None)).order_by(Issue.due_on, Issue.id)),
        replied=replied,
        soon_days=soon,
    )


# --- A member (政协委员): their own proposals and reports, the platforms they serve ------------


# A member plans their visits further ahead than a coordinator's fortnight.
MEMBER_UPCOMING_DAYS = 30


@dataclass
class MemberPlatform:
    """A platform the member serves at (下沉委员), with what is coming up and still open there."""

    id: int
    name: str
    district: str
    status: PlatformStatus
    upcoming_events: int = 0
    open_issues: int = 0


@dataclass
class MemberBoard:
    """A member's to-do (委员工作台): their proposals and opinion reports by what they wait
    for, and the platforms they serve with those platforms' events and published problems.
    Nothing beyond their own records and their platforms: no city or district figures."""

    member: str
    district: str | None
    proposal_counts: dict[ProposalStatus, int]
    drafts: ItemList  # proposals not submitted yet
    to_rate: ItemList  # answered (办复): the proposer's rating is due
    handling: ItemList  # accepted, with a department, with its due date
    not_accepted: ItemList  # 不予立案, turned into opinion letters (转为意见建议)
    report_counts: dict[OpinionStatus, int]
    report_drafts: ItemList  # drafts, those sent back for revision first
    reports_adopted: ItemList  # adopted (编发), forwarded, with a leader's instruction
    platforms: list[MemberPlatform]
    upcoming_events: ItemList
    open_issues: ItemList
    upcoming_days: int = 0

    @property
    def proposals_total(self) -> int:
        return sum(self.proposal_counts.values())

    @property
    def reports_total(self) -> int:
        return sum(self.report_counts.values())


def _proposal_rows(user: User) -> sa.Select:
    return (sa.select(Proposal.id, Proposal.reference, Proposal.title, Proposal.status,
                      Proposal.due_on, Proposal.rehandled, Proposal.is_key, Proposal.review_note,
                      Proposal.replied_at, Proposal.outcome, Proposal.updated_at,
                      Department.name.label("department"))
            .outerjoin(Department, Proposal.lead_department_id == Department.id)
            .where(proposal_filter(user)))


def _report_rows(user: User) -> sa.Select:
    return (sa.select(OpinionReport.id, OpinionReport.reference, OpinionReport.title,
                      OpinionReport.status, OpinionReport.decision_note,
                      OpinionReport.bulletin_issue, OpinionReport.forwarded_to,
                      OpinionReport.instruction_leader, OpinionReport.instructed_on,
                      OpinionReport.decided_at, OpinionReport.updated_at)
            .where(report_scope(user)))


def _counts(stmt: sa.Select, enum_cls: Any) -> dict[Any, int]:
    found = dict(db.session.execute(stmt).all())
    return {status: found.get(status, 0) for status in enum_cls}


def member_board(user: User, now: datetime | None = None) -> MemberBoard:
    """The lists on a member's dashboard, from their own proposals and reports and the
    platforms their Member record serves (platform_members)."""
    now = now or utcnow()
    member = user.member
    # The not-accepted proposal's reason and the department its letter went to, if any.
    letter_to = (sa.select(Department.name).select_from(ProposalUpdate)
                 .join(Department, ProposalUpdate.department_id == Department.id)
                 .where(ProposalUpdate.proposal_id == Proposal.id,
                        ProposalUpdate.action == "not_accept")
                 .order_by(ProposalUpdate.id.desc()).limit(1)
                 .correlate(Proposal).scalar_subquery().label("letter_department"))
    platforms = {row.id: MemberPlatform(row.id, row.name, row.district, row.status)
                 for row in db.session.execute(
                     sa.select(Platform.id, Platform.name, Platform.status,
                               Area.name.label("district"))
                     .join(Area, Platform.district_id == Area.id)
                     .where(platform_read_filter(user)).order_by(Platform.name, Platform.id))}
    ids = list(platforms)
    upcoming = sa.and_(Event.platform_id.in_(ids), Event.status == EventStatus.PLANNED,
                       Event.starts_at >= now)
    # What a member reads of a platform's problems: the published ones (auth/scopes.reads_issue).
    open_published = sa.and_(Issue.platform_id.in_(ids), Issue.published_at.is_not(None),
                             Issue.status.in_(OPEN_STATUSES))
    if ids:
        for key, count in db.session.execute(sa.select(Event.platform_id, sa.func.count())
                                             .where(upcoming).group_by(Event.platform_id)):
            platforms[key].upcoming_events = count
        for key, count in db.session.execute(sa.select(Issue.platform_id, sa.func.count())
                                             .where(open_published).group_by(Issue.platform_id)):
            platforms[key].open_issues = count
    soon = now + timedelta(days=MEMBER_UPCOMING_DAYS)
    due = deadline()
    return MemberBoard(
        member=member.name if member else user.name,
        district=member.district.name if member and member.district else None,
        proposal_counts=_counts(sa.select(Proposal.status, sa.func.count())
                                .where(proposal_filter(user)).group_by(Proposal.status),
                                ProposalStatus),
        drafts=ItemList.fetch(_proposal_rows(user).where(Proposal.status == ProposalStatus.DRAFT)
                              .order_by(Proposal.updated_at.desc(), Proposal.id.desc())),
        to_rate=ItemList.fetch(_proposal_rows(user).where(
            Proposal.status == ProposalStatus.REPLIED).order_by(Proposal.replied_at, Proposal.id)),
        handling=ItemList.fetch(_proposal_rows(user).where(
            Proposal.status.in_(HANDLING_STATUSES)).order_by(Proposal.due_on, Proposal.id)),
        not_accepted=ItemList.fetch(_proposal_rows(user).add_columns(letter_to).where(
            Proposal.status == ProposalStatus.NOT_ACCEPTED)
            .order_by(Proposal.reviewed_at.desc(), Proposal.id.desc()), limit=5),
        report_counts=_counts(sa.select(OpinionReport.status, sa.func.count())
                              .where(report_scope(user)).group_by(OpinionReport.status),
                              OpinionStatus),
        report_drafts=ItemList.fetch(_report_rows(user).where(
            OpinionReport.status == OpinionStatus.DRAFT).order_by(
            OpinionReport.decision_note.is_(None), OpinionReport.updated_at.desc(),
            OpinionReport.id.desc())),
        reports_adopted=ItemList.fetch(_report_rows(user).where(
            OpinionReport.status == OpinionStatus.ADOPTED).order_by(
            OpinionReport.instructed_on.is_(None), OpinionReport.decided_at.desc(),
            OpinionReport.id.desc()), limit=5),
        platforms=list(platforms.values()),
        upcoming_events=ItemList.fetch(_event_rows().where(upcoming, Event.starts_at < soon)
                                       .order_by(Event.starts_at, Event.id)),
        open_issues=ItemList.fetch(_issue_rows().where(open_published).order_by(
            due.is_(None), due, Issue.id)),
        upcoming_days=MEMBER_UPCOMING_DAYS,
    )
