from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.hybrid import hybrid_property
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
from consult_hub.core.prose import keep_html


class EventFormat(LabelledEnum):
    ONSITE = "onsite", _l("现场")
    ONLINE = "online", _l("线上")
    HYBRID = "hybrid", _l("线上线下结合")


class EventAttendance(LabelledEnum):
    """Whether residents can come to a planned event (null: the coordinator did not say)."""

    OPEN = "open", _l("欢迎居民参加")
    INVITED = "invited", _l("邀请参加")


class EventStatus(LabelledEnum):
    PLANNED = "planned", _l("计划中")
    HELD = "held", _l("已举行")
    CONCLUDED = "concluded", _l("已反馈成果")
    CANCELLED = "cancelled", _l("已取消")


# Held and concluded events count as held in every figure, and only they show photos publicly.
HAPPENED_STATUSES = frozenset({EventStatus.HELD, EventStatus.CONCLUDED})


event_attendees = sa.Table(
    "event_attendees",
    Base.metadata,
    sa.Column("event_id", sa.ForeignKey("events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("member_id", sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_event_attendees_member_id", "member_id"),
)


class Event(TimestampMixin, Base):
    """A consultation event (协商议事活动) held at a platform."""

    __tablename__ = "events"
    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        sa.CheckConstraint(
            "resident_count >= 0 AND department_count >= 0 AND expert_count >= 0",
            name="counts_not_negative",
        ),
        sa.CheckConstraint(
            "status != 'cancelled' OR cancel_reason IS NOT NULL", name="cancel_has_reason"
        ),
        sa.CheckConstraint("status = 'planned' OR status = 'cancelled' OR held_at IS NOT NULL",
                           name="held_has_time"),
        sa.Index("ix_events_platform_id_starts_at", "platform_id", "starts_at"),
        # Its platform_id too: a year's held events per district counted from the index alone.
        sa.Index("ix_events_status_starts_at_platform_id", "status", "starts_at", "platform_id"),
        # Held within a year (inactive platforms), a platform's last held event (0023).
        sa.Index("ix_events_platform_id_status_starts_at", "platform_id", "status", "starts_at"),
        # The staff list filtered by status and category, counted and ordered from the index.
        sa.Index("ix_events_status_category_starts_at", "status", "category", "starts_at"),
        # Newest first across the city: the public list of past events and its deep pages.
        sa.Index("ix_events_starts_at_id", "starts_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    platform_id: Mapped[int] = mapped_column(sa.ForeignKey("platforms.id"))
    topic: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[Category] = mapped_column(enum_column(Category, "category"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location: Mapped[str] = mapped_column(sa.String(200))
    format: Mapped[EventFormat] = mapped_column(
        enum_column(EventFormat, "event_format"), default=EventFormat.ONSITE
    )
    agenda: Mapped[str | None] = mapped_column(sa.Text)
    agenda_html: Mapped[str | None] = mapped_column(sa.Text)  # core/prose.py, as the rest below
    # Who may come and how (报名方式); null on events planned before it was asked (0020).
    attendance: Mapped[EventAttendance | None] = mapped_column(
        enum_column(EventAttendance, "event_attendance"))
    attendance_note: Mapped[str | None] = mapped_column(sa.String(200))
    status: Mapped[EventStatus] = mapped_column(
        enum_column(EventStatus, "event_status"), default=EventStatus.PLANNED
    )
    # Filled in once the event has been held.
    minutes: Mapped[str | None] = mapped_column(sa.Text)  # 纪要
    minutes_html: Mapped[str | None] = mapped_column(sa.Text)
    opinions: Mapped[str | None] = mapped_column(sa.Text)  # 协商意见
    opinions_html: Mapped[str | None] = mapped_column(sa.Text)
    resident_count: Mapped[int] = mapped_column(default=0, server_default="0")
    department_count: Mapped[int] = mapped_column(default=0, server_default="0")
    expert_count: Mapped[int] = mapped_column(default=0, server_default="0")
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(sa.Text)  # 成果转化
    outcome_html: Mapped[str | None] = mapped_column(sa.Text)
    concluded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancel_reason: Mapped[str | None] = mapped_column(sa.Text)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Bumped on every reschedule so that calendar clients notice (iCal SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    platform = relationship("Platform")
    attendees = relationship("Member", secondary=event_attendees)
    issues = relationship("Issue", back_populates="event")
    created_by = relationship("User")
    photos: Mapped[list[EventPhoto]] = relationship(
        back_populates="event", order_by="EventPhoto.id", cascade="all, delete-orphan",
        passive_deletes=True,
    )

    @hybrid_property
    def happened(self) -> bool:
        """Whether the event took place (held or concluded); in a query, the same as SQL."""
        return self.status in HAPPENED_STATUSES

    @happened.inplace.expression
    @classmethod
    def _happened_expression(cls) -> sa.ColumnElement[bool]:
        return cls.status.in_(HAPPENED_STATUSES)

    def __repr__(self) -> str:
        return f"<Event {self.id} {self.topic}>"


keep_html(Event, "agenda", "minutes", "opinions", "outcome")


class EventPhoto(Base):
    """A photo of an event; the file lives in UPLOAD_FOLDER under a random name."""

    __tablename__ = "event_photos"
    __table_args__ = (
        sa.CheckConstraint("size > 0 AND width > 0 AND height > 0", name="positive_dimensions"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("events.id", ondelete="CASCADE"),
                                          index=True)
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The uploader's file name: kept for the record, never shown (it may name people).
    original_name: Mapped[str | None] = mapped_column(sa.String(255))
    caption: Mapped[str | None] = mapped_column(sa.String(200))
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size: Mapped[int]
    width: Mapped[int]
    height: Mapped[int]
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    event: Mapped[Event] = relationship(back_populates="photos")
    uploaded_by = relationship("User")

    def __repr__(self) -> str:
        return f"<EventPhoto {self.id} of event {self.event_id}>"
