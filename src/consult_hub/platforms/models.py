from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.prose import keep_html


class PlatformKind(LabelledEnum):
    CONSULT_ROOM = "consult_room", _l("协商议事室")
    MEMBER_STUDIO = "member_studio", _l("委员工作室")
    LIAISON_POINT = "liaison_point", _l("社情民意联系点")
    CONSULT_HOME = "consult_home", _l("协商议事之家")


class PlatformStatus(LabelledEnum):
    ACTIVE = "active", _l("运行中")
    SUSPENDED = "suspended", _l("暂停")
    CLOSED = "closed", _l("已撤销")


platform_members = sa.Table(
    "platform_members",
    Base.metadata,
    sa.Column("platform_id", sa.ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("member_id", sa.ForeignKey("members.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_platform_members_member_id", "member_id"),
)

platform_coordinators = sa.Table(
    "platform_coordinators",
    Base.metadata,
    sa.Column("platform_id", sa.ForeignKey("platforms.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Index("ix_platform_coordinators_user_id", "user_id"),
)


class Platform(TimestampMixin, Base):
    """A consultation platform (协商平台) or opinion liaison point."""

    __tablename__ = "platforms"
    __table_args__ = (
        sa.CheckConstraint(
            "NOT is_demonstration OR demonstration_year IS NOT NULL",
            name="demonstration_has_year",
        ),
        sa.CheckConstraint("latitude IS NULL OR (latitude BETWEEN -90 AND 90)", name="latitude"),
        sa.CheckConstraint(
            "longitude IS NULL OR (longitude BETWEEN -180 AND 180)", name="longitude"
        ),
        sa.Index("ix_platforms_district_id_status", "district_id", "status"),
        # The public directory's order (public.queries.platform_directory).
        sa.Index("ix_platforms_directory", "status", "district_id", "name", "id"),
        # The directory's 示范点 filter, alone or with a kind (counted from the index).
        sa.Index("ix_platforms_is_demonstration_kind", "is_demonstration", "kind"),
        # The first month there is (reports, the tally catch-up): min(established_on).
        sa.Index("ix_platforms_established_on", "established_on"),
        # Substring search on PostgreSQL (pg_trgm; migration 0009): a nation's platforms.
        sa.Index("ix_platforms_search_trgm", "name", "address", "code", postgresql_using="gin",
                 postgresql_ops={column: "gin_trgm_ops" for column in ("name", "address", "code")},
                 ).ddl_if(dialect="postgresql"),
        # Two-character searches on PostgreSQL: migration 0011 adds a generated column with
        # the text's characters doubled, and its trigram index (platforms.queries.PairedSearch).
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    kind: Mapped[PlatformKind] = mapped_column(enum_column(PlatformKind, "platform_kind"))
    # The community (or street) the platform sits in, and its district, kept
    # alongside so that district filters never walk the area tree.
    area_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"))
    address: Mapped[str] = mapped_column(sa.String(200))
    latitude: Mapped[float | None] = mapped_column(sa.Float)
    longitude: Mapped[float | None] = mapped_column(sa.Float)
    convener: Mapped[str | None] = mapped_column(sa.String(64))  # 召集人, a public role
    description: Mapped[str | None] = mapped_column(sa.Text)
    description_html: Mapped[str | None] = mapped_column(sa.Text)  # core/prose.py
    established_on: Mapped[date] = mapped_column(sa.Date)
    is_demonstration: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    demonstration_year: Mapped[int | None] = mapped_column(sa.SmallInteger)
    status: Mapped[PlatformStatus] = mapped_column(
        enum_column(PlatformStatus, "platform_status"), default=PlatformStatus.ACTIVE
    )
    # The day the platform was closed (撤销), while it is closed; its status history is in
    # platform_status_changes (operations.status_change writes both).
    closed_on: Mapped[date | None] = mapped_column(sa.Date)
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    area = relationship("Area", foreign_keys=[area_id])
    district = relationship("Area", foreign_keys=[district_id])
    members = relationship("Member", secondary=platform_members, back_populates="platforms")
    coordinators = relationship("User", secondary=platform_coordinators, back_populates="platforms")

    def __repr__(self) -> str:
        return f"<Platform {self.code} {self.name}>"


keep_html(Platform, "description")


class PlatformStatusChange(Base):
    """One change of a platform's status, from the day it takes effect: the opening (no
    ``from_status``), suspensions, closings and reactivations. The monthly tallies read a
    platform's status at a month's end from here (docs/metrics.md), so a past month can be
    recomputed as it was. Written only through ``operations.status_change``."""

    __tablename__ = "platform_status_changes"
    __table_args__ = (
        # A platform's history in order.
        sa.Index("ix_platform_status_changes_platform_id", "platform_id", "effective_on", "id"),
        # The tallies' "changes after a month's end": the openings (most rows) left out.
        sa.Index("ix_platform_status_changes_effective_on", "effective_on",
                 sqlite_where=sa.text("from_status IS NOT NULL"),
                 postgresql_where=sa.text("from_status IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    platform_id: Mapped[int] = mapped_column(
        sa.ForeignKey("platforms.id", ondelete="CASCADE"))
    from_status: Mapped[PlatformStatus | None] = mapped_column(
        enum_column(PlatformStatus, "platform_from_status"))
    to_status: Mapped[PlatformStatus] = mapped_column(
        enum_column(PlatformStatus, "platform_to_status"))
    effective_on: Mapped[date] = mapped_column(sa.Date)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    platform = relationship("Platform")
    actor = relationship("User")
