from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow
from consult_hub.core.i18n import lazy_gettext as _l


class IssueKind(LabelledEnum):
    URGENT = "urgent", _l("群众急难愁盼问题")
    DOORSTEP = "doorstep", _l("房前屋后实事")
    GOVERNANCE = "governance", _l("基层治理难事")


class IssueSource(LabelledEnum):
    EVENT = "event", _l("协商议事活动")
    RESIDENT = "resident", _l("居民提交")
    LIAISON_POINT = "liaison_point", _l("社情民意联系点")
    MEMBER = "member", _l("委员反映")


class IssueStatus(LabelledEnum):
    # A resident's submission (web or Open311) waits here, private, until staff review it.
    PENDING = "pending", _l("待受理")
    RECEIVED = "received", _l("已受理")
    ASSIGNED = "assigned", _l("已交办")
    ACKNOWLEDGED = "acknowledged", _l("已签收")
    IN_PROGRESS = "in_progress", _l("办理中")
    # The department has answered and proposed an outcome; district staff confirm it.
    REPLIED = "replied", _l("已答复待确认")
    RESOLVED = "resolved", _l("已解决或采纳")
    PLANNED = "planned", _l("列入计划正在解决")
    CONSTRAINED = "constrained", _l("因条件所限一时难以解决")
    REJECTED = "rejected", _l("不予受理")

    @property
    def is_closed(self) -> bool:
        return self in CLOSED_STATUSES

    @property
    def is_open(self) -> bool:
        return self not in CLOSED_STATUSES


CLOSED_STATUSES = frozenset({IssueStatus.RESOLVED, IssueStatus.CONSTRAINED, IssueStatus.REJECTED})
OPEN_STATUSES = frozenset(IssueStatus) - CLOSED_STATUSES
# Statuses whose due date counts towards "overdue": the problem waits on triage or a department
# (a reply waiting for confirmation has been given in time or not; the clock stops there).
DUE_STATUSES = frozenset({IssueStatus.RECEIVED, IssueStatus.ASSIGNED, IssueStatus.ACKNOWLEDGED,
                          IssueStatus.IN_PROGRESS})
# Statuses in which a department holds the problem: it needs a department and a due date.
DEPARTMENT_STATUSES = frozenset({IssueStatus.ASSIGNED, IssueStatus.ACKNOWLEDGED,
                                 IssueStatus.IN_PROGRESS, IssueStatus.REPLIED})
# Outcomes a department may propose in its reply (答复), confirmed by district staff.
PROPOSABLE_STATUSES = (IssueStatus.RESOLVED, IssueStatus.PLANNED, IssueStatus.CONSTRAINED)
# Statuses whose public answer (``resolution``) is shown wherever the public reads a problem
# (public/_progress.html, the API, Open311, open data).
ANSWERED_STATUSES = frozenset({IssueStatus.RESOLVED, IssueStatus.PLANNED, IssueStatus.CONSTRAINED,
                               IssueStatus.REJECTED})
# A problem's description is published once it has been taken up (public/issue.html).
DESCRIPTION_WITHHELD_STATUSES = frozenset({IssueStatus.PENDING, IssueStatus.RECEIVED,
                                           IssueStatus.REJECTED})
# What the public reads for a status: an unconfirmed reply is still "in progress" to residents.
PUBLIC_STATUS = {IssueStatus.REPLIED: IssueStatus.IN_PROGRESS}
# Outcomes a resident can rate; a rejected problem is answered, not solved.
RATEABLE_STATUSES = frozenset({IssueStatus.RESOLVED, IssueStatus.CONSTRAINED})

# Problems with a public outcome, in the order the public filter lists them. The literal SQL is
# shared by ix_issues_outcome_time and the public outcome list (a partial index is only used
# where the query repeats its condition).
OUTCOME_STATUSES = (IssueStatus.RESOLVED, IssueStatus.PLANNED, IssueStatus.CONSTRAINED)
# Only published problems (reviewed by staff) are ever public.
OUTCOME_WHERE = (f"issues.status IN ({', '.join(repr(s.value) for s in OUTCOME_STATUSES)})"
                 " AND issues.published_at IS NOT NULL")


class Satisfaction(LabelledEnum):
    SATISFIED = "satisfied", _l("满意")
    BASICALLY = "basically", _l("基本满意")
    UNSATISFIED = "unsatisfied", _l("不满意")


class Issue(TimestampMixin, Base):
    """A residents' problem (群众诉求) followed from receipt to an outcome."""

    __tablename__ = "issues"
    __table_args__ = (
        sa.CheckConstraint(
            "status NOT IN ('assigned', 'acknowledged', 'in_progress', 'replied') OR "
            "(department_id IS NOT NULL AND due_on IS NOT NULL)",
            name="assigned_has_department_and_due_date",
        ),
        sa.CheckConstraint(
            "status != 'replied' OR (reply IS NOT NULL AND proposed_status IS NOT NULL)",
            name="replied_has_reply",
        ),
        sa.CheckConstraint("status != 'pending' OR published_at IS NULL",
                           name="pending_is_unpublished"),
        # A submission relayed without a platform (an Open311 hotline with only an address)
        # gets one from staff when they accept it: nothing public lacks a place.
        sa.CheckConstraint("published_at IS NULL OR (platform_id IS NOT NULL AND "
                           "district_id IS NOT NULL)", name="published_has_platform"),
        sa.CheckConstraint(
            "status NOT IN ('resolved', 'constrained', 'rejected') OR resolution IS NOT NULL",
            name="closed_has_resolution",
        ),
        sa.CheckConstraint("status != 'planned' OR planned_on IS NOT NULL",
                           name="planned_has_date"),
        sa.CheckConstraint("status != 'resolved' OR resolved_at IS NOT NULL",
                           name="resolved_has_time"),
        sa.CheckConstraint("satisfaction IS NULL OR rated_at IS NOT NULL", name="rating_has_time"),
        # A resident's submission waits unclassified; staff give it a kind and category when
        # they accept it, and a public problem always has both.
        sa.CheckConstraint("published_at IS NULL OR (kind IS NOT NULL AND category IS NOT NULL)",
                           name="published_is_classified"),
        sa.Index("ix_issues_status_due_on", "status", "due_on"),
        sa.Index("ix_issues_status_planned_on", "status", "planned_on"),
        sa.Index("ix_issues_platform_id_created_at", "platform_id", "created_at"),
        sa.Index("ix_issues_district_id_status_id", "district_id", "status", "id"),
        sa.Index("ix_issues_department_id_status", "department_id", "status"),
        sa.Index("ix_issues_resolved_at", "resolved_at"),
        # The staff list, newest first, and the month's problems raised (tallies).
        sa.Index("ix_issues_created_at_id", "created_at", "id"),
        # Outcomes newest first (public list, home page, Atom feed): the same expression and
        # condition as public.queries.outcome_list, so both databases walk only outcomes, in
        # order, instead of sorting (or skipping the open problems, which change most lately).
        sa.Index("ix_issues_outcome_time", sa.text("coalesce(closed_at, updated_at)"), "id",
                 sqlite_where=sa.text(OUTCOME_WHERE), postgresql_where=sa.text(OUTCOME_WHERE)),
        # Monthly tallies: closed in the month by status, open at the month's end, rated.
        sa.Index("ix_issues_closed_at_status", "closed_at", "status"),
        sa.Index("ix_issues_district_id_closed_at", "district_id", "closed_at"),
        sa.Index("ix_issues_rated_at", "rated_at"),
        # SQLite: a staff text search reads this narrow index, not every row (0023).
        sa.Index("ix_issues_status_title_reference", "status", "title", "reference"
                 ).ddl_if(dialect="sqlite"),
        # The retention sweep: closed problems that still hold contact details.
        sa.Index("ix_issues_closed_at_contact", "closed_at",
                 sqlite_where=sa.text("contact_erased_at IS NULL"),
                 postgresql_where=sa.text("contact_erased_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The public receipt, e.g. WH24-00123: short enough to read out on the phone.
    reference: Mapped[str] = mapped_column(sa.String(16), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text)
    # None only while a resident's submission waits for review (published_is_classified).
    kind: Mapped[IssueKind | None] = mapped_column(enum_column(IssueKind, "issue_kind"))
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "category"))
    # The everyday subject (常见问题) the resident picked, if any: issues/subjects.py's code.
    subject: Mapped[str | None] = mapped_column(sa.String(32))
    # None only while a submission that named no platform waits for review (Open311).
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("platforms.id"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    event_id: Mapped[int | None] = mapped_column(sa.ForeignKey("events.id"), index=True)
    source: Mapped[IssueSource] = mapped_column(enum_column(IssueSource, "issue_source"))
    # Private: kept for follow-up, never shown on a public surface.
    submitter_name: Mapped[str | None] = mapped_column(sa.String(64))
    submitter_phone: Mapped[str | None] = mapped_column(sa.String(32))
    submitter_email: Mapped[str | None] = mapped_column(sa.String(254))
    # Where the problem is, as reported (Open311 address_string / address_id): private, like
    # the resident's words; ``address`` is what staff publish when they accept it.
    submitted_address: Mapped[str | None] = mapped_column(sa.String(200))
    address_id: Mapped[str | None] = mapped_column(sa.String(64))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    # A photo link the relaying system sent (Open311 media_url): for staff only, never
    # fetched by the server and never public.
    media_url: Mapped[str | None] = mapped_column(sa.String(2048))
    tracking_token: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    planned_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[IssueStatus] = mapped_column(
        enum_column(IssueStatus, "issue_status"), default=IssueStatus.RECEIVED
    )
    resolution: Mapped[str | None] = mapped_column(sa.Text)  # public text
    duplicate_of_id: Mapped[int | None] = mapped_column(sa.ForeignKey("issues.id"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    satisfaction: Mapped[Satisfaction | None] = mapped_column(
        enum_column(Satisfaction, "satisfaction")
    )
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    # Review before public: set when staff publish the (edited) title and description; a
    # problem is on no public surface before. Staff-raised problems are published as raised.
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Private: the resident's own words as submitted, kept beside the public text staff write.
    submitted_title: Mapped[str | None] = mapped_column(sa.String(200))
    submitted_text: Mapped[str | None] = mapped_column(sa.Text)
    # The version of the privacy notice (个人信息保护说明) the submitter consented to.
    consent_version: Mapped[str | None] = mapped_column(sa.String(16))
    # When the resident asked for a text message (短信) on each public step, with their phone.
    sms_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When the retention sweep erased the submitter's contact details.
    contact_erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Department handling (承办): when it was last assigned, acknowledged (签收) and answered.
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The department's reply (答复) and proposed outcome: private until staff confirm it.
    reply: Mapped[str | None] = mapped_column(sa.Text)
    proposed_status: Mapped[IssueStatus | None] = mapped_column(
        enum_column(IssueStatus, "proposed_status"))
    proposed_planned_on: Mapped[date | None] = mapped_column(sa.Date)
    # A pending request for a later due date (申请延期), with its reason.
    requested_due_on: Mapped[date | None] = mapped_column(sa.Date)
    extension_reason: Mapped[str | None] = mapped_column(sa.Text)
    # Why staff sent the reply back (退回重办); cleared by the next reply.
    rework_reason: Mapped[str | None] = mapped_column(sa.Text)
    # When a department sent the problem back as not theirs (退回); cleared by the next 交办.
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    platform = relationship("Platform")
    district = relationship("Area")
    event = relationship("Event", back_populates="issues")
    department = relationship("Department")
    duplicate_of = relationship("Issue", remote_side=[id])
    created_by = relationship("User")
    updates: Mapped[list[IssueUpdate]] = relationship(
        back_populates="issue", order_by="IssueUpdate.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[IssuePhoto]] = relationship(
        back_populates="issue", order_by="IssuePhoto.id", cascade="all, delete-orphan"
    )

    @property
    def is_published(self) -> bool:
        return self.published_at is not None

    @property
    def public_status(self) -> IssueStatus:
        """The status residents read (an unconfirmed reply shows as in progress)."""
        return PUBLIC_STATUS.get(self.status, self.status)

    def is_overdue(self, today: date) -> bool:
        """Whether the due (or planned) date has passed while the problem is still open."""
        if self.status in DUE_STATUSES:
            return self.due_on is not None and self.due_on < today
        if self.status is IssueStatus.PLANNED:
            return self.planned_on is not None and self.planned_on < today
        return False

    def __repr__(self) -> str:
        return f"<Issue {self.reference} {self.status}>"


class IssueUpdate(Base):
    """One status change or progress note: the problem's timeline."""

    __tablename__ = "issue_updates"
    __table_args__ = (
        sa.Index("ix_issue_updates_issue_id_created_at", "issue_id", "created_at"),
        # Monthly tallies: the month's moves to "planned".
        sa.Index("ix_issue_updates_to_status_created_at", "to_status", "created_at"),
        # Per-department figures: a month's entries of each department.
        sa.Index("ix_issue_updates_department_id_created_at", "department_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"))
    action: Mapped[str] = mapped_column(sa.String(32))
    from_status: Mapped[IssueStatus | None] = mapped_column(enum_column(IssueStatus, "from_status"))
    to_status: Mapped[IssueStatus] = mapped_column(enum_column(IssueStatus, "to_status"))
    note: Mapped[str | None] = mapped_column(sa.Text)
    is_public: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The department the entry concerns (the one holding the problem after it, or for 退回
    # the one sending it back) and the due date in force after it: per-department figures
    # read them (docs/metrics.md), since the problem itself only keeps the latest.
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"))
    due_on: Mapped[date | None] = mapped_column(sa.Date)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="updates")
    actor = relationship("User")


class IssuePhoto(Base):
    """A photo a resident sent with their problem; the file lives in UPLOAD_FOLDER under a
    random name (core/images.py). Staff see it from the start; the public only once the
    problem is published and while ``is_public`` (staff may withhold one at review)."""

    __tablename__ = "issue_photos"
    __table_args__ = (
        sa.CheckConstraint("size > 0 AND width > 0 AND height > 0", name="positive_dimensions"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(sa.ForeignKey("issues.id", ondelete="CASCADE"),
                                          index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    is_public: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    issue: Mapped[Issue] = relationship(back_populates="photos")

    @property
    def shown_publicly(self) -> bool:
        return self.is_public and self.issue.is_published

    def __repr__(self) -> str:
        return f"<IssuePhoto {self.id} of issue {self.issue_id}>"


class ReferenceCounter(Base):
    """The last number handed out for one reference prefix (e.g. ``WH24``)."""

    __tablename__ = "reference_counters"

    prefix: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    last_value: Mapped[int] = mapped_column(default=0)
