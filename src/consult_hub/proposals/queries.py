"""Reads for the proposal pages: the staff list, one proposal, the public pages and the
year's review (提案办理回顾)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import joinedload, selectinload

from consult_hub.auth.models import Role, User
from consult_hub.core.categories import Category
from consult_hub.core.db import contains_text
from consult_hub.core.pagecache import remembered
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.issues.queries import issue_scope
from consult_hub.members.models import Member
from consult_hub.opinions.models import OpinionReport
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    HANDLING_STATUSES,
    CollectiveKind,
    Proposal,
    ProposalDepartment,
    ProposalMember,
    ProposalOutcome,
    ProposalStatus,
    ProposalUpdate,
    ProposerKind,
)
from consult_hub.proposals.scopes import proposal_filter

PER_PAGE = 25


@dataclass
class ProposalFilters:
    """What the staff list is narrowed to; empty fields do not filter."""

    year: int | None = None
    status: ProposalStatus | None = None
    category: Category | None = None
    proposer_kind: ProposerKind | None = None
    key: bool = False
    department_id: int | None = None
    overdue: bool = False
    text: str = ""


def _list_options() -> list[Any]:
    return [selectinload(Proposal.proposers).selectinload(ProposalMember.member),
            selectinload(Proposal.lead_department)]


def _where(user: User, filters: ProposalFilters, today: date) -> list[sa.ColumnElement[bool]]:
    where = [proposal_filter(user)]
    if filters.year is not None:
        where.append(Proposal.year == filters.year)
    if filters.status is not None:
        where.append(Proposal.status == filters.status)
    if filters.category is not None:
        where.append(Proposal.category == filters.category)
    if filters.proposer_kind is not None:
        where.append(Proposal.proposer_kind == filters.proposer_kind)
    if filters.key:
        where.append(Proposal.is_key.is_(True))
    if filters.department_id is not None:
        where.append(Proposal.id.in_(sa.select(ProposalDepartment.proposal_id).where(
            ProposalDepartment.department_id == filters.department_id)))
    if filters.overdue:
        where.append(overdue_clause(today))
    if filters.text:
        where.append(sa.or_(contains_text(Proposal.title, filters.text),
                            Proposal.reference == filters.text.strip().upper(),
                            Proposal.number == filters.text.strip()))
    return where


def overdue_clause(today: date) -> sa.ColumnElement[bool]:
    """Still with the lead department after its due date."""
    return sa.and_(Proposal.status.in_(HANDLING_STATUSES), Proposal.due_on < today)


def proposal_page(user: User, filters: ProposalFilters, today: date, page: int) -> Pagination:
    stmt = (sa.select(Proposal).options(*_list_options())
            .where(*_where(user, filters, today))
            .order_by(Proposal.year.desc(), Proposal.updated_at.desc(), Proposal.id.desc()))
    return db.paginate(stmt, page=page, per_page=PER_PAGE, error_out=False)


def status_counts(user: User, filters: ProposalFilters, today: date) -> dict[ProposalStatus, int]:
    unfiltered = ProposalFilters(**{**filters.__dict__, "status": None})
    rows = db.session.execute(sa.select(Proposal.status, sa.func.count())
                              .where(*_where(user, unfiltered, today))
                              .group_by(Proposal.status)).all()
    found = {ProposalStatus(status): n for status, n in rows}
    return {status: found.get(status, 0) for status in ProposalStatus}


def years(user: User | None = None) -> list[int]:
    """The years that have proposals (a user's own, when given; accepted ones for the public,
    remembered while the site version stands), newest first."""
    stmt = sa.select(Proposal.year).distinct().order_by(Proposal.year.desc())
    if user is not None:
        return list(db.session.scalars(stmt.where(proposal_filter(user))))
    stmt = stmt.where(Proposal.status.in_(ACCEPTED_STATUSES))
    return list(remembered(("proposals.years",), lambda: tuple(db.session.scalars(stmt))))


def proposal_for_page(proposal_id: int) -> Proposal | None:
    return db.session.scalars(
        sa.select(Proposal).where(Proposal.id == proposal_id).options(
            *_list_options(), selectinload(Proposal.lead_member),
            selectinload(Proposal.departments).selectinload(ProposalDepartment.department),
            selectinload(Proposal.updates).selectinload(ProposalUpdate.actor),
            selectinload(Proposal.updates).selectinload(ProposalUpdate.department),
            selectinload(Proposal.issues).selectinload(Issue.platform),
            selectinload(Proposal.opinion_reports))).first()


def updates_after(proposal: Proposal, seen_id: int) -> list[ProposalUpdate]:
    return [u for u in proposal.updates if u.id > seen_id]


# --- choices and evidence ------------------------------------------------------------------


def member_choices(include: Iterable[int | None] = ()) -> list[sa.Row[Any]]:
    """Active members (and any already chosen), by name: proposers to choose from, as ``id``
    and ``name`` rows (a city's 800 members as ORM objects took a third of the proposal
    form's time, and its garbage collection put one request in twenty past 100 ms)."""
    ids = [i for i in include if i is not None]
    return list(db.session.execute(sa.select(Member.id, Member.name).where(
        sa.or_(Member.is_active.is_(True), Member.id.in_(ids)))
        .order_by(Member.name, Member.id)))


def department_choices(include: Iterable[int | None] = ()) -> list[Department]:
    """Active departments (and any already handling it), city ones first."""
    ids = [i for i in include if i is not None]
    return list(db.session.scalars(sa.select(Department).where(
        sa.or_(Department.is_active.is_(True), Department.id.in_(ids)))
        .order_by(Department.district_id.is_not(None), Department.name, Department.id)))


def report_scope(user: User) -> sa.ColumnElement[bool]:
    """The opinion reports ``user`` may name as a proposal's evidence: a member their own,
    district staff their district's, city staff any (``opinions/access.py``'s writers and
    office, for reading)."""
    if user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.DISTRICT_ADMIN:
        return OpinionReport.district_id == user.district_id
    if user.role is Role.MEMBER and user.member_id is not None:
        return sa.or_(OpinionReport.member_id == user.member_id,
                      OpinionReport.author_id == user.id)
    return sa.false()


def evidence_issues(user: User, ids: Iterable[int]) -> list[Issue]:
    """The problems among ``ids`` that ``user`` may read (others are dropped)."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(Issue).where(Issue.id.in_(wanted),
                                                          issue_scope(user))
                                   .order_by(Issue.id)))


def evidence_reports(user: User, ids: Iterable[int]) -> list[OpinionReport]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return list(db.session.scalars(sa.select(OpinionReport).where(
        OpinionReport.id.in_(wanted), report_scope(user)).order_by(OpinionReport.id)))


def recent_issues(user: User, limit: int = 30) -> list[Issue]:
    """Problems the user may read, newest first: to start a proposal from (a member: those
    of the platforms they serve)."""
    return list(db.session.scalars(
        sa.select(Issue).options(selectinload(Issue.platform))
        .where(issue_scope(user), Issue.published_at.is_not(None))
        .order_by(Issue.created_at.desc(), Issue.id.desc()).limit(limit)))


# --- public pages --------------------------------------------------------------------------


def public_list(year: int | None = None, category: Category | None = None,
                outcome: ProposalOutcome | None = None, text: str = "") -> sa.Select:
    """The ids of accepted proposals (立案), newest first, for the public list (each page's
    proposals then read by ``listed``)."""
    stmt = (sa.select(Proposal.id).where(Proposal.status.in_(ACCEPTED_STATUSES))
            .order_by(Proposal.year.desc(), Proposal.number.desc(), Proposal.id.desc()))
    if year is not None:
        stmt = stmt.where(Proposal.year == year)
    if category is not None:
        stmt = stmt.where(Proposal.category == category)
    if outcome is not None:
        stmt = stmt.where(Proposal.outcome == outcome,
                          Proposal.status.in_(ANSWERED_STATUSES))
    if text:
        stmt = stmt.where(contains_text(Proposal.title, text))
    return stmt


@dataclass(frozen=True, slots=True)
class ListedName:
    """A member or a department as a public list names it."""

    name: str


@dataclass(frozen=True, slots=True)
class ListedProposer:
    """What the ``proposers`` macro reads of a proposer (a ``ProposalMember``)."""

    member: ListedName
    is_lead: bool


@dataclass(frozen=True, slots=True)
class ListedProposal:
    """A proposal as the public list and the year's key proposals show it."""

    id: int
    title: str
    category: Category
    status: ProposalStatus
    outcome: ProposalOutcome | None
    proposer_kind: ProposerKind
    collective_name: str | None
    collective_kind: CollectiveKind | None
    lead_department: ListedName | None
    proposers: tuple[ListedProposer, ...]


def listed(ids: Iterable[int]) -> list[ListedProposal]:
    """The proposals ``ids`` (in that order) as plain rows, their proposers lead first: a page
    of 25 loaded as ORM proposals with their proposers, members and lead departments took
    3 ms of the public list's 9 on the city demo."""
    ids = list(ids)
    if not ids:
        return []
    connection = db.session.connection()
    names: dict[int, list[ListedProposer]] = {}
    for proposal_id, name, is_lead in connection.execute(_PROPOSERS, {"ids": ids}):
        names.setdefault(proposal_id, []).append(ListedProposer(ListedName(name), is_lead))
    found = {row.id: ListedProposal(
        row.id, row.title, row.category, row.status, row.outcome, row.proposer_kind,
        row.collective_name, row.collective_kind,
        ListedName(row.department) if row.department is not None else None,
        tuple(names.get(row.id, ()))) for row in connection.execute(_LISTED, {"ids": ids})}
    return [found[i] for i in ids if i in found]


_IDS = sa.bindparam("ids", expanding=True)
_LISTED = (sa.select(Proposal.id, Proposal.title, Proposal.category, Proposal.status,
                     Proposal.outcome, Proposal.proposer_kind, Proposal.collective_name,
                     Proposal.collective_kind, Department.name.label("department"))
           .outerjoin(Department, Department.id == Proposal.lead_department_id)
           .where(Proposal.id.in_(_IDS)))
_PROPOSERS = (sa.select(ProposalMember.proposal_id, Member.name, ProposalMember.is_lead)
              .join(Member, Member.id == ProposalMember.member_id)
              .where(ProposalMember.proposal_id.in_(_IDS))
              .order_by(ProposalMember.proposal_id, ProposalMember.is_lead.desc(),
                        ProposalMember.position))


def public_proposal(proposal_id: int) -> Proposal | None:
    """An accepted proposal with what its public page shows: each one-to-one joined into the
    query that loads its side (four queries, not seven: 3.8 → 2.5 ms on the city demo)."""
    return db.session.scalars(
        sa.select(Proposal).where(Proposal.id == proposal_id,
                                  Proposal.status.in_(ACCEPTED_STATUSES))
        .options(joinedload(Proposal.lead_department),
                 selectinload(Proposal.proposers).joinedload(ProposalMember.member),
                 selectinload(Proposal.departments).joinedload(ProposalDepartment.department))
    ).first()


def key_proposals(year: int, limit: int = 20) -> list[ListedProposal]:
    """The year's key proposals (重点提案), accepted, for the review page (remembered while
    the site version stands)."""
    return list(remembered(("proposals.key", year, limit), lambda: tuple(listed(
        db.session.scalars(sa.select(Proposal.id)
                           .where(Proposal.year == year, Proposal.is_key.is_(True),
                                  Proposal.status.in_(ACCEPTED_STATUSES))
                           .order_by(Proposal.number, Proposal.id).limit(limit))))))
