from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column

from consult_hub.core.db import Base, LabelledEnum, UTCDateTime, enum_column, utcnow


class TallyScope(LabelledEnum):
    CITY = "city", _l("全市")
    DISTRICT = "district", _l("区")
    PLATFORM = "platform", _l("平台")


class MonthlyTally(Base):
    """Frozen figures for one month and one scope; derived, never typed in."""

    __tablename__ = "monthly_tallies"
    __table_args__ = (
        sa.UniqueConstraint("month", "scope_key"),
        # One scope's months (the home page's year, a report's months): a nation freezes
        # 300,000 platform rows a month, which a month-first index walks through.
        sa.Index("ix_monthly_tallies_scope_key_month", "scope_key", "month"),
        sa.Index("ix_monthly_tallies_scope_month", "scope", "month"),
        sa.CheckConstraint(
            "(scope = 'city' AND area_id IS NULL AND platform_id IS NULL) OR "
            "(scope = 'district' AND area_id IS NOT NULL AND platform_id IS NULL) OR "
            "(scope = 'platform' AND platform_id IS NOT NULL)",
            name="scope_matches_target",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(sa.Date)  # first day of the month
    scope: Mapped[TallyScope] = mapped_column(enum_column(TallyScope, "tally_scope"))
    # "city", "district:12", "platform:345": one unique key whatever the scope.
    scope_key: Mapped[str] = mapped_column(sa.String(40))
    area_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"))
    platform_id: Mapped[int | None] = mapped_column(sa.ForeignKey("platforms.id"), index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
