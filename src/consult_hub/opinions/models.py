"""Public-opinion reports (社情民意信息, docs/design.md § Proposals and opinion reports).

A report is written by a member or a liaison point's coordinator, from scratch or from an
event's opinions or a problem (linked both ways), edited by district or city staff, and moves
草稿 → 已报送 → 已采用 (编发, in an issue of the bulletin) / 未采用; an adopted report may then
be forwarded to the province or the national CPPCC (报送上级) and receive a leader's
instruction (获批示: who, what, when, then what was done about it).
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, LabelledEnum, TimestampMixin, UTCDateTime, enum_column
from consult_hub.core.i18n import lazy_gettext as _l


class OpinionStatus(LabelledEnum):
    DRAFT = "draft", _l("草稿")
    SUBMITTED = "submitted", _l("已报送")
    ADOPTED = "adopted", _l("已采用")
    NOT_ADOPTED = "not_adopted", _l("未采用")


# Reports that left their author: the year's "submitted" figure counts these.
SENT_STATUSES = frozenset({OpinionStatus.SUBMITTED, OpinionStatus.ADOPTED,
                           OpinionStatus.NOT_ADOPTED})


class OpinionSource(LabelledEnum):
    """Where a report came from, for the figures by source."""

    PLATFORM = "platform", _l("协商平台")
    MEMBER = "member", _l("委员")
    DISTRICT = "district", _l("区政协")


class ForwardLevel(LabelledEnum):
    PROVINCE = "province", _l("省政协")
    NATIONAL = "national", _l("全国政协")


opinion_report_events = sa.Table(
    "opinion_report_events",
    Base.metadata,
    sa.Column("report_id", sa.ForeignKey("opinion_reports.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)

opinion_report_issues = sa.Table(
    "opinion_report_issues",
    Base.metadata,
    sa.Column("report_id", sa.ForeignKey("opinion_reports.id", ondelete="CASCADE"),
              primary_key=True),
    sa.Column("issue_id", sa.ForeignKey("issues.id", ondelete="CASCADE"), primary_key=True,
              index=True),
)


class OpinionReport(TimestampMixin, Base):
    """One 社情民意信息 report."""

    __tablename__ = "opinion_reports"
    __table_args__ = (
        sa.CheckConstraint("status = 'draft' OR submitted_at IS NOT NULL",
                           name="sent_has_time"),
        sa.CheckConstraint("status NOT IN ('adopted', 'not_adopted') OR decided_at IS NOT NULL",
                           name="decided_has_time"),
        sa.CheckConstraint("forwarded_to IS NULL OR status = 'adopted'",
                           name="only_adopted_forwarded"),
        sa.CheckConstraint("instructed_on IS NULL OR instruction_text IS NOT NULL",
                           name="instruction_has_text"),
        # Monthly and annual figures: reports sent (or decided) in a span of time.
        sa.Index("ix_opinion_reports_submitted_at", "submitted_at"),
        sa.Index("ix_opinion_reports_decided_at", "decided_at"),
        # The staff list's order (opinions.queries.report_day, then id), newest first, and the
        # years its filter offers (the first and last day): read from the index, not sorted
        # (migration 0026).
        sa.Index("ix_opinion_reports_report_day", sa.text("coalesce(submitted_at, created_at)"),
                 "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # "SQ2024-0001": the year it was written and a number within it (operations assign it).
    reference: Mapped[str] = mapped_column(sa.String(20), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    body: Mapped[str] = mapped_column(sa.Text)
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    is_livelihood: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    source: Mapped[OpinionSource] = mapped_column(enum_column(OpinionSource, "opinion_source"))
    status: Mapped[OpinionStatus] = mapped_column(
        enum_column(OpinionStatus, "opinion_status"), default=OpinionStatus.DRAFT,
        server_default=OpinionStatus.DRAFT.value)
    # Who wrote it: the account (a member's or a coordinator's) and, for a member, the member.
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("platforms.id"), index=True)
    # The district it belongs to (the platform's, the member's or the writer's): district
    # staff edit and decide on their district's reports.
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 编发: the bulletin issue an adopted report appeared in, e.g. 《社情民意》2024年第12期.
    bulletin_issue: Mapped[str | None] = mapped_column(sa.String(64))
    decision_note: Mapped[str | None] = mapped_column(sa.Text)
    forwarded_to: Mapped[ForwardLevel | None] = mapped_column(
        enum_column(ForwardLevel, "forward_level"))
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # 获批示: the leader who wrote the instruction, its text and date, and what followed.
    instruction_leader: Mapped[str | None] = mapped_column(sa.String(64))
    instruction_text: Mapped[str | None] = mapped_column(sa.Text)
    instructed_on: Mapped[date | None] = mapped_column(sa.Date)
    follow_up: Mapped[str | None] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    author = relationship("User")
    member = relationship("Member")
    platform = relationship("Platform")
    district = relationship("Area")
    events = relationship("Event", secondary=opinion_report_events, order_by="Event.starts_at")
    issues = relationship("Issue", secondary=opinion_report_issues, order_by="Issue.id")

    def __repr__(self) -> str:
        return f"<OpinionReport {self.reference} {self.status.value}>"
