"""Opinion reports and proposals built straight into the database, in any state, for the
figures' tests (tests/reports/test_cppcc_*.py)."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from consult_hub.extensions import db
from consult_hub.opinions.models import OpinionReport, OpinionSource, OpinionStatus
from consult_hub.proposals.models import (
    Proposal,
    ProposalOutcome,
    ProposalStatus,
    ProposalTiming,
    ProposerKind,
)
from tests.support import factories

_numbers = itertools.count(1)


def at(year: int, month: int, day: int = 10, hour: int = 4) -> datetime:
    """A UTC instant (04:00 UTC is noon in Wuhan: well inside the local day)."""
    return datetime(year, month, day, hour, tzinfo=UTC)


def report(status: OpinionStatus | str = OpinionStatus.SUBMITTED, *,
           submitted: datetime | None = None, decided: datetime | None = None,
           district_id: int | None = None, category: str = "society",
           source: OpinionSource | str = OpinionSource.PLATFORM, livelihood: bool = False,
           forwarded: datetime | None = None, instructed: date | None = None,
           created: datetime | None = None) -> OpinionReport:
    status = OpinionStatus(status)
    n = next(_numbers)
    when = submitted or at(2024, 3)
    obj = OpinionReport(
        reference=f"SQT-{n:06d}", title=f"关于第{n}个问题的建议", body="情况和建议。",
        category=category, source=OpinionSource(source), status=status,
        is_livelihood=livelihood, district_id=district_id,
        submitted_at=None if status is OpinionStatus.DRAFT else when,
        decided_at=(decided or when + timedelta(days=3))
        if status in (OpinionStatus.ADOPTED, OpinionStatus.NOT_ADOPTED) else None)
    if forwarded is not None:
        obj.forwarded_to, obj.forwarded_at = "province", forwarded
    if instructed is not None:
        obj.instruction_leader, obj.instruction_text = "市领导", "请有关部门研究办理。"
        obj.instructed_on = instructed
    db.session.add(obj)
    db.session.flush()
    if created is not None:
        obj.created_at = created
    return obj


def proposal(status: ProposalStatus | str = ProposalStatus.SUBMITTED, *, year: int = 2024,
             kind: ProposerKind | str = ProposerKind.MEMBER, member: Any = None,
             district_id: int | None = None, category: str = "economy",
             outcome: ProposalOutcome | str | None = None, is_key: bool = False,
             submitted: datetime | None = None, reviewed: datetime | None = None,
             replied: datetime | None = None, rating: str | None = None,
             rated: datetime | None = None, department: Any = None) -> Proposal:
    status, kind = ProposalStatus(status), ProposerKind(kind)
    n = next(_numbers)
    submitted = submitted or at(year, 1, 15)
    values: dict[str, Any] = dict(
        year=year, reference=f"TAT-{n:06d}", title=f"关于第{n}项工作的提案", reasons="案由。",
        suggestions="建议。", category=category, timing=ProposalTiming.SESSION,
        proposer_kind=kind, status=status, is_key=is_key,
        submitted_at=None if status is ProposalStatus.DRAFT else submitted)
    if kind is ProposerKind.COLLECTIVE:
        values.update(collective_kind="party", collective_name="民建测试市委员会")
    else:
        values["lead_member_id"] = (member or factories.member(district_id=district_id)).id
    if status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        values["reviewed_at"] = reviewed or submitted + timedelta(days=20)
    if status is ProposalStatus.NOT_ACCEPTED:
        values["review_note"] = "不属于提案范围。"
    if status in (ProposalStatus.ACCEPTED, ProposalStatus.ACKNOWLEDGED,
                  ProposalStatus.REPLIED, ProposalStatus.CLOSED):
        values.update(number=f"T{n:06d}",
                      lead_department_id=(department or factories.department()).id,
                      due_on=date(year, 12, 31))
    if status in (ProposalStatus.REPLIED, ProposalStatus.CLOSED):
        values.update(outcome=ProposalOutcome(outcome or ProposalOutcome.RESOLVED),
                      reply="答复意见。",
                      replied_at=replied or values["reviewed_at"] + timedelta(days=30))
    if rating is not None:
        values.update(rating=rating, rated_at=rated or values["replied_at"] + timedelta(days=5))
    obj = Proposal(**values)
    db.session.add(obj)
    db.session.flush()
    return obj
