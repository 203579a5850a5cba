from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, LabelledEnum, UTCDateTime, enum_column, utcnow
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.models import IssueKind, Satisfaction
from consult_hub.opinions.models import OpinionSource
from consult_hub.proposals.models import ProposalOutcome

# The metrics of docs/metrics.md, as stored: counts, their splits, and derived figures.
COUNTS = (
    "platforms_total", "platforms_new", "platforms_active", "platforms_demonstration",
    "events_held", "events_cancelled", "member_attendance", "resident_attendance",
    "issues_raised", "issues_resolved", "issues_planned", "issues_constrained",
    "issues_rejected", "issues_backlog_end", "issues_overdue_end",
    "satisfaction_rated", "satisfaction_satisfied", "satisfaction_basically",
    "satisfaction_unsatisfied",
)
SPLITS = (
    ("events_held", "category", Category), ("issues_raised", "category", Category),
    ("issues_raised", "kind", IssueKind), ("issues_resolved", "category", Category),
    ("issues_resolved", "kind", IssueKind),
)
# Opinion reports and proposals (docs/metrics.md § Opinion reports, § Proposals): counted by
# tallies/cppcc.py into the city and district rows only (a platform's row has none of them).
CPPCC_COUNTS = (
    "opinions_written", "opinions_submitted", "opinions_livelihood", "opinions_adopted",
    "opinions_not_adopted", "opinions_forwarded", "opinions_instructed",
    "proposals_submitted", "proposals_accepted", "proposals_accepted_member",
    "proposals_accepted_collective", "proposals_key", "proposals_not_accepted",
    "proposals_replied", "proposals_rated",
)
CPPCC_SPLITS = (
    ("opinions_submitted", "category", Category), ("opinions_submitted", "source", OpinionSource),
    ("proposals_accepted", "category", Category), ("proposals_replied", "outcome", ProposalOutcome),
    ("proposals_rated", "rating", Satisfaction),
)
CPPCC_DERIVED = ("opinions_livelihood_share",)
DERIVED = ("resolution_share", "median_days_to_resolve", "satisfaction_share") + CPPCC_DERIVED
COUNT_KEYS = COUNTS + tuple(f"{metric}.{dimension}.{member.value}"
                            for metric, dimension, enum_cls in SPLITS for member in enum_cls)
CPPCC_KEYS = CPPCC_COUNTS + tuple(f"{metric}.{dimension}.{member.value}"
                                  for metric, dimension, enum_cls in CPPCC_SPLITS
                                  for member in enum_cls)
COUNT_KEYS += CPPCC_KEYS

# A department's figures (承办单位, docs/metrics.md § Departments), stored in its own rows
# (scope "department"): counts, one sum (days from assignment to reply, for the average over
# any span of months) and the figures derived from them.
DEPARTMENT_COUNTS = (
    "assigned", "acknowledged_in_time", "replied", "replied_on_time", "confirmed", "reworked",
    "extensions_requested", "extensions_approved", "rated", "rated_satisfied",
    "rated_basically", "rated_unsatisfied", "open_end", "overdue_end",
)
DEPARTMENT_SUMS = ("reply_days_total",)
DEPARTMENT_DERIVED = ("acknowledged_share", "on_time_share", "average_days_to_reply",
                      "satisfaction_share")
DEPARTMENT_KEYS = DEPARTMENT_COUNTS + DEPARTMENT_SUMS + DEPARTMENT_DERIVED


_EMPTY: dict[str, Any] = {**dict.fromkeys(COUNT_KEYS, 0), **dict.fromkeys(DERIVED)}


class StoredMetrics(sa.TypeDecorator[dict[str, Any]]):
    """A month's metrics as JSON, stored without their empty values.

    A count of 0 and a derived figure that does not exist (``None``) are left out when
    written and put back when read, so every reader sees every metric. Most platforms do
    little in a given month: a nation freezes 300,000 platform rows a month, and the full
    form was ~1.3 KB each (400 MB a month); the compact one is a few dozen bytes.
    """

    impl = sa.JSON
    cache_ok = True

    def process_bind_param(self, value: dict[str, Any] | None, dialect: Any) -> Any:
        if value is None:
            return None
        # Kept: every figure but a count of 0 and None (a share of 0.0 is a figure).
        return {key: figure for key, figure in value.items() if figure or type(figure) is float}

    def process_result_value(self, value: Any, dialect: Any) -> dict[str, Any] | None:
        return None if value is None else self.whole(value)

    @staticmethod
    def whole(value: dict[str, Any]) -> dict[str, Any]:
        """Stored (compact) metrics with every metric put back: counts 0, derived None."""
        metrics = dict(_EMPTY)
        metrics.update(value)
        return metrics


class TallyScope(LabelledEnum):
    CITY = "city", _l("全市")
    DISTRICT = "district", _l("区")
    PLATFORM = "platform", _l("平台")
    DEPARTMENT = "department", _l("承办单位")


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
            "(scope = 'platform' AND platform_id IS NOT NULL) OR "
            "(scope = 'department' AND department_id IS NOT NULL)",
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
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"),
                                                      index=True)
    metrics: Mapped[dict[str, Any]] = mapped_column(StoredMetrics)
    computed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
