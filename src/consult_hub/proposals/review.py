"""The session year's proposals counted by their current state: the 提案办理回顾.

Read by the proposals' review page, the annual report (``tallies/cppcc.py``), the API and the
open-data archive, so every place prints the same numbers.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from consult_hub.core.categories import Category
from consult_hub.core.numbers import percent, share
from consult_hub.core.pagecache import remembered
from consult_hub.extensions import db
from consult_hub.issues.models import Satisfaction
from consult_hub.members.models import Member
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    MEMBER_KINDS,
    Proposal,
    ProposalOutcome,
    ProposalStatus,
    ProposerKind,
)


def proposal_district() -> tuple[Any, Any]:
    """A proposal's district: its lead member's, for a member's or a joint proposal."""
    joined = sa.outerjoin(Proposal, Member, sa.and_(
        Member.id == Proposal.lead_member_id,
        Proposal.proposer_kind != ProposerKind.COLLECTIVE))
    return joined, Member.district_id


@dataclass
class ProposalReview:
    """The proposals of one session year, by their current state (the 提案办理回顾)."""

    year: int
    submitted: int = 0
    accepted: int = 0
    accepted_member: int = 0
    accepted_collective: int = 0
    not_accepted: int = 0
    replied: int = 0
    key: int = 0
    rated: int = 0
    outcomes: dict[ProposalOutcome, int] = field(
        default_factory=lambda: dict.fromkeys(ProposalOutcome, 0))
    categories: dict[Category, int] = field(default_factory=lambda: dict.fromkeys(Category, 0))
    ratings: dict[Satisfaction, int] = field(
        default_factory=lambda: dict.fromkeys(Satisfaction, 0))

    def add(self, other: ProposalReview) -> None:
        """Add another review's counts (a district's) to this one."""
        for name in ("submitted", "accepted", "accepted_member", "accepted_collective",
                     "not_accepted", "replied", "key", "rated"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for mine, theirs in ((self.outcomes, other.outcomes),
                             (self.categories, other.categories),
                             (self.ratings, other.ratings)):
            for member, n in theirs.items():
                mine[member] += n

    def of_accepted(self, n: int) -> str | None:
        """``n`` as a share of the accepted proposals, one decimal ("94.5%")."""
        return percent(n, self.accepted)

    @property
    def all_replied(self) -> bool:
        return self.accepted > 0 and self.replied == self.accepted

    def as_dict(self) -> dict[str, Any]:
        """The review's figures by name, for the API and the open-data archive."""
        return {
            "year": self.year, "submitted": self.submitted, "accepted": self.accepted,
            "accepted_member": self.accepted_member,
            "accepted_collective": self.accepted_collective,
            "not_accepted": self.not_accepted, "replied": self.replied, "key": self.key,
            "rated": self.rated,
            "outcome": {o.value: n for o, n in self.outcomes.items()},
            "category": {c.value: n for c, n in self.categories.items()},
            "rating": {r.value: n for r, n in self.ratings.items()},
            "shares": {
                "accepted_member": share(self.accepted_member, self.accepted),
                "accepted_collective": share(self.accepted_collective, self.accepted),
                "replied": share(self.replied, self.accepted),
                **{f"outcome.{o.value}": share(n, self.accepted)
                   for o, n in self.outcomes.items()},
                **{f"category.{c.value}": share(n, self.accepted)
                   for c, n in self.categories.items()},
            },
        }


def proposal_review(year: int, district_ids: Collection[int] | None = None) -> ProposalReview:
    """The session year's proposals (``year`` column) counted by their current state."""
    return proposal_reviews(year, district_ids, by_district=False).get(None) or \
        ProposalReview(year)


def read_review(year: int, district_ids: Collection[int] | None = None) -> ProposalReview:
    """``proposal_review`` for pages that only read it (the review page, the year report),
    counted once while the site version stands: grouping the city's 744 proposals of 2024 took
    2–3 ms of every such page. The same object is handed to every reader: never change it."""
    key = ("proposals.review", year, None if district_ids is None else tuple(sorted(district_ids)))
    return remembered(key, lambda: proposal_review(year, district_ids))


def proposal_reviews(year: int, district_ids: Collection[int] | None = None, *,
                     by_district: bool = True) -> dict[int | None, ProposalReview]:
    """The session year's review by district (``None``: collective proposals and lead members
    without a district), from one grouped query; without ``by_district``, all of them together
    under ``None`` (a third of the groups, and the city's without joining the lead members:
    the city's year report 1 ms sooner)."""
    where: list[Any] = [Proposal.year == year, Proposal.status != ProposalStatus.DRAFT]
    source: Any = Proposal
    keys: list[Any] = []
    if by_district or district_ids is not None:
        source, district = proposal_district()
        keys = [district] if by_district else []
        if district_ids is not None:
            where.append(district.in_(sorted(set(district_ids))))
    counted = (Proposal.status, Proposal.proposer_kind, Proposal.category, Proposal.outcome,
               Proposal.is_key, Proposal.rating)
    reviews: dict[int | None, ProposalReview] = {}
    for *key, status, kind, category, outcome, is_key, rating, n in db.session.execute(
            sa.select(*keys, *counted, sa.func.count()).select_from(source).where(*where)
            .group_by(*keys, *counted)):
        district_id = key[0] if key else None
        review = reviews.setdefault(district_id, ProposalReview(year))
        status = ProposalStatus(status)
        review.submitted += n
        if status is ProposalStatus.NOT_ACCEPTED:
            review.not_accepted += n
        if status not in ACCEPTED_STATUSES:
            continue
        review.accepted += n
        if ProposerKind(kind) in MEMBER_KINDS:
            review.accepted_member += n
        else:
            review.accepted_collective += n
        review.categories[Category(category)] += n
        if is_key:
            review.key += n
        if status in ANSWERED_STATUSES:
            review.replied += n
            if outcome is not None:
                review.outcomes[ProposalOutcome(outcome)] += n
            if rating is not None:
                review.rated += n
                review.ratings[Satisfaction(rating)] += n
    return reviews
