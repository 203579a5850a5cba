"""Proposals (提案, docs/design.md § Proposals and opinion reports).

Proposers: one member, several members jointly (联名, one of them the lead proposer), or a
collective body (a party, the federation of industry and commerce, a people's organisation, a
sector, a special committee); submitted in the annual session (大会期间) or between sessions
(平时). Review (审查) accepts it (立案: lead and co-handling departments, due date) or does not
(不予立案, with the reason; it becomes an opinion letter, 转为意见建议). The lead department
签收 and replies (办复) with an outcome class; the proposer rates the reply, and 不满意 sends
it back for re-handling. The transitions are one table (``proposals/lifecycle.py``).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.categories import Category
from consult_hub.core.db import (
    Base,
    LabelledEnum,
    TimestampMixin,
    UTCDateTime,
    enum_column,
    utcnow,
)
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.models import Satisfaction


class ProposalStatus(LabelledEnum):
    DRAFT = "draft", _l("草稿")
    SUBMITTED = "submitted", _l("待审查")
    ACCEPTED = "accepted", _l("已立案")
    NOT_ACCEPTED = "not_accepted", _l("不予立案")
    ACKNOWLEDGED = "acknowledged", _l("已签收")
    REPLIED = "replied", _l("已办复")
    CLOSED = "closed", _l("已办结")


# Accepted (立案) and still with it or past it: the year's "accepted" figure counts these.
ACCEPTED_STATUSES = frozenset({ProposalStatus.ACCEPTED, ProposalStatus.ACKNOWLEDGED,
                               ProposalStatus.REPLIED, ProposalStatus.CLOSED})
# Where the lead department holds it: due-soon and overdue reminders, its work list.
HANDLING_STATUSES = frozenset({ProposalStatus.ACCEPTED, ProposalStatus.ACKNOWLEDGED})
# Answered (办复) at least once: the reply and outcome class are public.
ANSWERED_STATUSES = frozenset({ProposalStatus.REPLIED, ProposalStatus.CLOSED})


class ProposerKind(LabelledEnum):
    MEMBER = "member", _l("委员个人")
    JOINT = "joint", _l("委员联名")
    COLLECTIVE = "collective", _l("集体")


# Individual or joint proposals count together in the review ("委员个人或联名提案").
MEMBER_KINDS = frozenset({ProposerKind.MEMBER, ProposerKind.JOINT})


class CollectiveKind(LabelledEnum):
    PARTY = "party", _l("民主党派")
    FEDERATION = "federation", _l("工商联")
    ORGANISATION = "organisation", _l("人民团体")
    SECTOR = "sector", _l("界别")
    COMMITTEE = "committee", _l("专门委员会")


class ProposalTiming(LabelledEnum):
    SESSION = "session", _l("大会期间")
    INTERIM = "interim", _l("平时")


class ProposalOutcome(LabelledEnum):
    """The reply's outcome class (办复结果)."""

    RESOLVED = "resolved", _l("已解决或采纳")  # A
    PLANNED = "planned", _l("列入计划正在解决")  # B
    CONSTRAINED = "constrained", _l("因条件所限一时难以解决")  # C

    @property
    def letter(self) -> str:
        return {"resolved": "A", "planned": "B", "constrained": "C"}[self.value]


class HandlingRole(LabelledEnum):
    LEAD = "lead", _l("主办")
    CO = "co", _l("会办")


proposal_issues = sa.Table(
    "proposal_issues",
    Base.metadata,
    sa.Column("proposal_id", sa.ForeignKey("proposals.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("issue_id", sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

proposal_opinion_reports = sa.Table(
    "proposal_opinion_reports",
    Base.metadata,
    sa.Column("proposal_id", sa.ForeignKey("proposals.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("report_id", sa.ForeignKey("opinion_reports.id", ondelete="CASCADE"),
              primary_key=True, index=True),
)


class Proposal(TimestampMixin, Base):
    """One 提案."""

    __tablename__ = "proposals"
    __table_args__ = (
        sa.CheckConstraint("proposer_kind != 'collective' OR collective_name IS NOT NULL",
                           name="collective_has_name"),
        sa.CheckConstraint("proposer_kind = 'collective' OR lead_member_id IS NOT NULL",
                           name="member_proposal_has_lead"),
        sa.CheckConstraint(
            "status NOT IN ('accepted', 'acknowledged', 'replied', 'closed') OR "
            "(lead_department_id IS NOT NULL AND due_on IS NOT NULL AND number IS NOT NULL)",
            name="accepted_has_department"),
        sa.CheckConstraint("status NOT IN ('replied', 'closed') OR "
                           "(outcome IS NOT NULL AND reply IS NOT NULL)",
                           name="replied_has_outcome"),
        sa.CheckConstraint("status != 'not_accepted' OR review_note IS NOT NULL",
                           name="not_accepted_has_reason"),
        sa.CheckConstraint("rating IS NULL OR rated_at IS NOT NULL", name="rating_has_time"),
        sa.Index("ix_proposals_year_status", "year", "status"),
        # The public list's order, with the status it is narrowed by (migration 0025).
        sa.Index("ix_proposals_year_number_id_status", "year", "number", "id", "status"),
        sa.Index("ix_proposals_lead_department_id_status", "lead_department_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The session year it belongs to (届次年度): submissions between sessions count in the year.
    year: Mapped[int] = mapped_column(sa.SmallInteger)
    # "TA2024-0001": given when it is submitted. 案号 ("第0001号") on 立案.
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    number: Mapped[str | None] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    reasons: Mapped[str] = mapped_column(sa.Text)  # 案由: the situation and the problem
    suggestions: Mapped[str] = mapped_column(sa.Text)  # 建议: what should be done
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    timing: Mapped[ProposalTiming] = mapped_column(
        enum_column(ProposalTiming, "proposal_timing"))
    proposer_kind: Mapped[ProposerKind] = mapped_column(enum_column(ProposerKind, "proposer_kind"))
    # A member's or a joint proposal: the lead proposer (also a row of proposal_members).
    lead_member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)
    # A collective proposal: the body's kind and name (e.g. 民建武汉市委员会).
    collective_kind: Mapped[CollectiveKind | None] = mapped_column(
        enum_column(CollectiveKind, "collective_kind"))
    collective_name: Mapped[str | None] = mapped_column(sa.String(100))
    status: Mapped[ProposalStatus] = mapped_column(
        enum_column(ProposalStatus, "proposal_status"), default=ProposalStatus.DRAFT,
        server_default=ProposalStatus.DRAFT.value)
    is_key: Mapped[bool] = mapped_column(default=False, server_default=sa.false())  # 重点提案
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 不予立案: the reason; the proposal then goes on as an opinion letter (转为意见建议).
    review_note: Mapped[str | None] = mapped_column(sa.Text)
    lead_department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"),
                                                           index=True)
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[ProposalOutcome | None] = mapped_column(
        enum_column(ProposalOutcome, "proposal_outcome"))
    reply: Mapped[str | None] = mapped_column(sa.Text)
    # Whether the reply is published with the proposal (办复公开); most are.
    reply_public: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    rating: Mapped[Satisfaction | None] = mapped_column(enum_column(Satisfaction, "rating"))
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rating_note: Mapped[str | None] = mapped_column(sa.Text)
    # How many times 不满意 sent it back for re-handling.
    rehandled: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    lead_member = relationship("Member")
    lead_department = relationship("Department")
    created_by = relationship("User")
    proposers: Mapped[list[ProposalMember]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan",
        order_by="(ProposalMember.is_lead.desc(), ProposalMember.position)")
    departments: Mapped[list[ProposalDepartment]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan",
        order_by="(ProposalDepartment.role, ProposalDepartment.id)")
    updates: Mapped[list[ProposalUpdate]] = relationship(
        back_populates="proposal", cascade="all, delete-orphan",
        order_by="(ProposalUpdate.created_at, ProposalUpdate.id)")
    issues = relationship("Issue", secondary=proposal_issues, order_by="Issue.id")
    opinion_reports = relationship("OpinionReport", secondary=proposal_opinion_reports,
                                   order_by="OpinionReport.id")

    def __repr__(self) -> str:
        return f"<Proposal {self.reference} {self.status.value}>"


class ProposalMember(Base):
    """A member among a proposal's proposers (the lead one first)."""

    __tablename__ = "proposal_members"

    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), primary_key=True,
                                           index=True)
    is_lead: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    position: Mapped[int] = mapped_column(default=0, server_default="0")

    proposal: Mapped[Proposal] = relationship(back_populates="proposers")
    member = relationship("Member")


class ProposalDepartment(Base):
    """A department handling an accepted proposal: the lead one (主办) or a co-handling one (会办).

    The lead department replies for all; a co-handling one signs for it and sends its opinion
    (会办意见) to the lead one.
    """

    __tablename__ = "proposal_departments"
    __table_args__ = (sa.UniqueConstraint("proposal_id", "department_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    role: Mapped[HandlingRole] = mapped_column(enum_column(HandlingRole, "handling_role"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opinion: Mapped[str | None] = mapped_column(sa.Text)
    opinion_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    proposal: Mapped[Proposal] = relationship(back_populates="departments")
    department = relationship("Department")


class ProposalUpdate(Base):
    """One step of a proposal's handling: its timeline."""

    __tablename__ = "proposal_updates"
    __table_args__ = (
        sa.Index("ix_proposal_updates_proposal_id_created_at", "proposal_id", "created_at"),
        # Monthly figures: a month's reviews, replies and ratings.
        sa.Index("ix_proposal_updates_action_created_at", "action", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[ProposalStatus | None] = mapped_column(
        enum_column(ProposalStatus, "from_status"))
    to_status: Mapped[ProposalStatus] = mapped_column(enum_column(ProposalStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[Proposal] = relationship(back_populates="updates")
    actor = relationship("User")
    department = relationship("Department")
