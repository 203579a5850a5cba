from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, LabelledEnum, enum_column
from consult_hub.core.i18n import lazy_gettext as _l


class AreaLevel(LabelledEnum):
    DISTRICT = "district", _l("区")
    STREET = "street", _l("街道/乡镇")
    COMMUNITY = "community", _l("社区/村")


class Area(Base):
    """One node of the district → street → community tree."""

    __tablename__ = "areas"
    __table_args__ = (
        sa.CheckConstraint(
            "(level = 'district') = (parent_id IS NULL)", name="district_is_root"
        ),
        # Every district list, in code order (a nation has 270,000 areas, 3,000 districts).
        sa.Index("ix_areas_level_code", "level", "code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    level: Mapped[AreaLevel] = mapped_column(enum_column(AreaLevel, "area_level"))
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)

    parent: Mapped[Area | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Area]] = relationship(back_populates="parent")

    def __repr__(self) -> str:
        return f"<Area {self.code} {self.name}>"
