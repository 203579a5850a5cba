"""Who may see and do what with proposals (提案): the role rules of this folder.

``auth/scopes.py`` holds the rules of the lower features; these need the proposal tables, so
they sit here, above them, as ``platforms/scopes.py`` does for platforms.

- City staff (市政协工作人员): every proposal, every staff action; only they mark key
  proposals (重点提案).
- District staff: the proposals of their district (the lead proposer's district) and those
  they entered themselves; review (立案 / 不予立案) and reassign those.
- A member (政协委员): the proposals they are among the proposers of (lead or joint),
  drafts included; they write, submit and rate those (the proposer's actions).
- A department's contact: proposals whose lead (主办) or co-handling (会办) department is
  theirs; the lead one's 签收 and 办复, a co-handling one's 签收 and 会办意见. And, to read
  only, a proposal not accepted (不予立案) whose opinion letter (意见建议) went to their
  department (``letter_department_id``): no action, no reply required.
- Coordinators have no part in proposals.

Staff may take the proposer's actions for a collective body (it has no account) and for a
proposal they entered on a member's behalf.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from consult_hub.auth.models import Role, User
from consult_hub.members.models import Member
from consult_hub.proposals.lifecycle import Party, Transition
from consult_hub.proposals.models import (
    HandlingRole,
    Proposal,
    ProposalDepartment,
    ProposalMember,
    ProposalStatus,
    ProposalUpdate,
    ProposerKind,
)

# The roles with proposal pages at all.
PROPOSAL_ROLES = (Role.ADMIN, Role.DISTRICT_ADMIN, Role.MEMBER, Role.DEPARTMENT)
# Who starts a proposal: members for themselves, staff for members and collective bodies.
AUTHOR_ROLES = (Role.ADMIN, Role.DISTRICT_ADMIN, Role.MEMBER)


def proposal_district_id(proposal: Proposal) -> int | None:
    """The district a proposal belongs to: its lead proposer's (None: the city's)."""
    member = proposal.lead_member
    return member.district_id if member is not None else None


def is_office(user: User, proposal: Proposal) -> bool:
    """City staff, or district staff of the proposal's district (or who entered it)."""
    if not user.is_active:
        return False
    if user.role is Role.ADMIN:
        return True
    return user.role is Role.DISTRICT_ADMIN and (
        proposal.created_by_id == user.id
        or (proposal_district_id(proposal) or -1) == user.district_id)


def is_proposer(user: User, proposal: Proposal) -> bool:
    """A member among the proposal's proposers (lead or joint)."""
    return (user.is_active and user.role is Role.MEMBER and user.member_id is not None
            and any(p.member_id == user.member_id for p in proposal.proposers))


def handling_role(user: User, proposal: Proposal) -> HandlingRole | None:
    """Whether the user's department handles the proposal: as lead (主办) or co (会办)."""
    if not (user.is_active and user.role is Role.DEPARTMENT and user.department_id):
        return None
    return next((row.role for row in proposal.departments
                 if row.department_id == user.department_id), None)


def letter_review(proposal: Proposal) -> ProposalUpdate | None:
    """A proposal not accepted (不予立案): its review's timeline entry, which carries the
    department its opinion letter (意见建议) went to, if any
    (``lifecycle.handling_departments``)."""
    if proposal.status is not ProposalStatus.NOT_ACCEPTED:
        return None
    return next((u for u in reversed(proposal.updates) if u.action == "not_accept"), None)


def letter_department_id(proposal: Proposal) -> int | None:
    """The department a proposal not accepted went to as an opinion letter (转为意见建议)."""
    review = letter_review(proposal)
    return review.department_id if review is not None else None


def reads_letter(user: User, proposal: Proposal) -> bool:
    """A contact of the department an opinion letter went to: they read it, nothing more."""
    return (user.is_active and user.role is Role.DEPARTMENT and user.department_id is not None
            and letter_department_id(proposal) == user.department_id)


def can_view(user: User, proposal: Proposal) -> bool:
    """Whether ``user`` may open the proposal's staff page."""
    if is_office(user, proposal) or is_proposer(user, proposal) or reads_letter(user, proposal):
        return True
    return handling_role(user, proposal) is not None and proposal.status not in (
        ProposalStatus.DRAFT, ProposalStatus.SUBMITTED)


def can_create(user: User) -> bool:
    return user.is_active and user.role in AUTHOR_ROLES and (
        user.role is not Role.MEMBER or user.member_id is not None)


def can_enter_for_others(user: User) -> bool:
    """Staff enter proposals for any member or a collective body; a member only their own."""
    return user.is_active and user.role in (Role.ADMIN, Role.DISTRICT_ADMIN)


def _speaks_for_proposer(user: User, proposal: Proposal) -> bool:
    if is_proposer(user, proposal):
        return True
    return is_office(user, proposal) and (
        proposal.proposer_kind is ProposerKind.COLLECTIVE or proposal.created_by_id == user.id)


def can_edit(user: User, proposal: Proposal) -> bool:
    """A draft: its proposers and the staff who may act for them; a submitted one waiting for
    review: staff (correcting it before 立案)."""
    if proposal.status is ProposalStatus.DRAFT:
        return _speaks_for_proposer(user, proposal) or is_office(user, proposal)
    return proposal.status is ProposalStatus.SUBMITTED and is_office(user, proposal)


def can_take(user: User, proposal: Proposal, transition: Transition) -> bool:
    """Whether ``user`` is the party ``transition`` names, for this proposal."""
    if not user.is_active:
        return False
    party = transition.party
    if party == Party.PROPOSER:
        if transition.action == "submit":
            return _speaks_for_proposer(user, proposal) or is_office(user, proposal)
        return _speaks_for_proposer(user, proposal)
    if party == Party.STAFF:
        return is_office(user, proposal)
    if party == Party.CITY:
        return user.role is Role.ADMIN
    if party == Party.LEAD:
        return (handling_role(user, proposal) is HandlingRole.LEAD
                and user.department_id == proposal.lead_department_id)
    if party == Party.CO:
        return handling_role(user, proposal) is HandlingRole.CO
    return False


def proposal_filter(user: User) -> sa.ColumnElement[bool]:
    """The SQL twin of ``can_view``: the proposals ``user``'s lists show."""
    if not user.is_active:
        return sa.false()
    if user.role is Role.ADMIN:
        return sa.true()
    if user.role is Role.DISTRICT_ADMIN:
        return sa.or_(Proposal.created_by_id == user.id, Proposal.lead_member_id.in_(
            sa.select(Member.id).where(Member.district_id == user.district_id)))
    if user.role is Role.MEMBER and user.member_id is not None:
        return Proposal.id.in_(sa.select(ProposalMember.proposal_id)
                               .where(ProposalMember.member_id == user.member_id))
    if user.role is Role.DEPARTMENT and user.department_id is not None:
        handled = sa.and_(
            Proposal.id.in_(sa.select(ProposalDepartment.proposal_id)
                            .where(ProposalDepartment.department_id == user.department_id)),
            Proposal.status.not_in([ProposalStatus.DRAFT, ProposalStatus.SUBMITTED]))
        # Opinion letters (意见建议) sent to the department, to read (``reads_letter``).
        letters = sa.and_(
            Proposal.status == ProposalStatus.NOT_ACCEPTED,
            Proposal.id.in_(sa.select(ProposalUpdate.proposal_id).where(
                ProposalUpdate.action == "not_accept",
                ProposalUpdate.department_id == user.department_id)))
        return sa.or_(handled, letters)
    return sa.false()


def what(proposal: Any, action: str = "") -> str:
    """The audit log's name of a refused target."""
    return f"proposal:{getattr(proposal, 'id', proposal)}{':' + action if action else ''}"
