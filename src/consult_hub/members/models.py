from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, LabelledEnum, TimestampMixin, enum_column
from consult_hub.core.i18n import lazy_gettext as _l


class MemberLevel(LabelledEnum):
    CITY = "city", _l("市政协委员")
    DISTRICT = "district", _l("区政协委员")


class Member(TimestampMixin, Base):
    """A CPPCC member (政协委员) who serves at platforms (下沉委员)."""

    __tablename__ = "members"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str | None] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64), index=True)
    sector: Mapped[str] = mapped_column(sa.String(64))  # 界别
    level: Mapped[MemberLevel] = mapped_column(enum_column(MemberLevel, "member_level"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    district = relationship("Area")
    platforms = relationship(
        "Platform", secondary="platform_members", back_populates="members", viewonly=True
    )
