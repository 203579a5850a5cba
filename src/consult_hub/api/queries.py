"""The API's lists: the features' filters and public loaders, ordered by id for stable paging.

Every list is two statements (the count and one page, with what each item shows joined in),
whatever the page size.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from consult_hub.areas.models import Area
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.timefmt import local_midnight
from consult_hub.departments.models import Department
from consult_hub.events.models import Event, EventStatus
from consult_hub.extensions import db
from consult_hub.issues.models import PUBLIC_STATUS, Issue, IssueKind, IssueStatus
from consult_hub.issues.queries import overdue_clause
from consult_hub.platforms.models import Platform
from consult_hub.platforms.queries import PlatformFilters
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    Proposal,
    ProposalDepartment,
    ProposalMember,
    ProposalOutcome,
    ProposerKind,
)
from consult_hub.public.queries import EVENT_PLACE, PUBLISHED

# A platform as the API shows it: with its district, community and street.
PLATFORM_PLACE = (joinedload(Platform.district),
                  joinedload(Platform.area).joinedload(Area.parent))


def platform_list(filters: PlatformFilters) -> sa.Select[tuple[Platform]]:
    return (sa.select(Platform).where(*filters.clauses()).options(*PLATFORM_PLACE)
            .order_by(Platform.id))


@dataclass(frozen=True)
class EventQuery:
    platform_id: int | None = None
    district_id: int | None = None
    status: EventStatus | None = None
    category: Category | None = None
    date_from: date | None = None  # local dates, both inclusive
    date_to: date | None = None


def event_list(query: EventQuery) -> sa.Select[tuple[Event]]:
    stmt = sa.select(Event).options(EVENT_PLACE).order_by(Event.id)
    if query.platform_id is not None:
        stmt = stmt.where(Event.platform_id == query.platform_id)
    if query.district_id is not None:
        stmt = stmt.where(Event.platform_id.in_(
            sa.select(Platform.id).where(Platform.district_id == query.district_id)))
    if query.status is not None:
        stmt = stmt.where(Event.status == query.status)
    if query.category is not None:
        stmt = stmt.where(Event.category == query.category)
    if query.date_from is not None:
        stmt = stmt.where(Event.starts_at >= local_midnight(query.date_from))
    if query.date_to is not None:
        stmt = stmt.where(Event.starts_at < local_midnight(query.date_to + timedelta(days=1)))
    return stmt


@dataclass(frozen=True)
class IssueQuery:
    status: IssueStatus | None = None
    kind: IssueKind | None = None
    category: Category | None = None
    district_id: int | None = None
    platform_id: int | None = None
    overdue: bool | None = None


# What an issue shows beside itself: all public (offices, not people).
ISSUE_PLACE = (joinedload(Issue.platform).joinedload(Platform.district),
               joinedload(Issue.event), joinedload(Issue.department),
               joinedload(Issue.duplicate_of))


def _public_status_clause(status: IssueStatus) -> sa.ColumnElement[bool]:
    """Problems whose public status is ``status``: 办理中 includes replies not yet confirmed,
    and a status the public never reads (待受理, 已答复待确认) matches nothing."""
    shown_as = [stored for stored, public in PUBLIC_STATUS.items() if public is status]
    if status in PUBLIC_STATUS:
        return sa.false()
    return Issue.status.in_([status, *shown_as]) if shown_as else Issue.status == status


def issue_list(query: IssueQuery, today: date) -> sa.Select[tuple[Issue]]:
    """Published problems only, for every reader (anonymous or with a token): the API has no
    staff reads."""
    stmt = sa.select(Issue).where(PUBLISHED).options(*ISSUE_PLACE).order_by(Issue.id)
    if query.status is not None:
        stmt = stmt.where(_public_status_clause(query.status))
    for column, value in ((Issue.kind, query.kind),
                          (Issue.category, query.category),
                          (Issue.district_id, query.district_id),
                          (Issue.platform_id, query.platform_id)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.overdue is not None:
        # NULL dates make the clause NULL, which counts as "not overdue".
        overdue = sa.func.coalesce(overdue_clause(today), sa.false())
        stmt = stmt.where(overdue if query.overdue else sa.not_(overdue))
    return stmt


def issue_for_action(reference: str) -> Issue | None:
    """The problem with this (canonical) receipt, published or not, for a write: staff act
    on submissions waiting for review (受理) through the API too, and the scope check that
    follows answers 403 as for any other problem. Reads use ``public.queries.issue_by_reference``
    (published only)."""
    return db.session.scalar(
        sa.select(Issue).where(Issue.reference == reference).options(*ISSUE_PLACE))


def department_list(district_id: int | None, active: bool | None) -> sa.Select[tuple[Department]]:
    """Departments of the city and, with ``district_id``, that district's own."""
    stmt = sa.select(Department).options(joinedload(Department.district)).order_by(Department.id)
    if district_id is not None:
        stmt = stmt.where(sa.or_(Department.district_id.is_(None),
                                 Department.district_id == district_id))
    if active is not None:
        stmt = stmt.where(Department.is_active.is_(active))
    return stmt


@dataclass(frozen=True)
class ProposalQuery:
    year: int | None = None
    category: Category | None = None
    outcome: ProposalOutcome | None = None
    proposer_kind: ProposerKind | None = None
    is_key: bool | None = None
    department_id: int | None = None
    text: str | None = None


# What a proposal shows beside itself: its proposers' names and the departments (public);
# two more statements per page (selectin: a joined collection would break the page's LIMIT).
PROPOSAL_PARTS = (selectinload(Proposal.proposers).joinedload(ProposalMember.member),
                  joinedload(Proposal.lead_department),
                  selectinload(Proposal.departments).joinedload(ProposalDepartment.department))


def proposal_list(query: ProposalQuery) -> sa.Select[tuple[Proposal]]:
    """Accepted proposals (立案) only, as on the public list; drafts, proposals waiting for
    review and those not accepted are never read."""
    stmt = (sa.select(Proposal).where(Proposal.status.in_(ACCEPTED_STATUSES))
            .options(*PROPOSAL_PARTS).order_by(Proposal.id))
    for column, value in ((Proposal.year, query.year), (Proposal.category, query.category),
                          (Proposal.proposer_kind, query.proposer_kind)):
        if value is not None:
            stmt = stmt.where(column == value)
    if query.outcome is not None:
        # An answer sent back for re-handling is not an outcome any more (办理中 again).
        stmt = stmt.where(Proposal.outcome == query.outcome,
                          Proposal.status.in_(ANSWERED_STATUSES))
    if query.is_key is not None:
        stmt = stmt.where(Proposal.is_key.is_(query.is_key))
    if query.department_id is not None:
        stmt = stmt.where(Proposal.id.in_(sa.select(ProposalDepartment.proposal_id).where(
            ProposalDepartment.department_id == query.department_id)))
    if query.text:
        stmt = stmt.where(contains_text(Proposal.title, query.text))
    return stmt


def proposal_detail(proposal_id: int) -> Proposal | None:
    """An accepted proposal with its parts and the problems it grew from, or None."""
    return db.session.scalar(
        sa.select(Proposal).where(Proposal.id == proposal_id,
                                  Proposal.status.in_(ACCEPTED_STATUSES))
        .options(*PROPOSAL_PARTS, selectinload(Proposal.issues)))


def department_by_code(code: str) -> Department | None:
    return db.session.scalar(sa.select(Department).where(Department.code == code))
