"""Opinion reports (社情民意信息) and proposals (提案) in the tallies and reports.

Monthly figures are counted here and frozen with the month by ``compute.compute_month``, in
the city and district rows only (docs/metrics.md § Opinion reports, § Proposals). The year:
opinion reports are the calendar year's months summed (read from the frozen tallies where
they are final); proposals are reviewed by session year (the ``year`` column) in their current
state (the 提案办理回顾), counted from the proposals themselves. ``year_summary`` returns
both, with the seed's sentences (the 社情民意 sentence, the 提案办理回顾 paragraph).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import get_locale

from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.core.numbers import percent
from consult_hub.core.timefmt import local_month_bounds, month_runs
from consult_hub.extensions import db
from consult_hub.issues.models import Satisfaction
from consult_hub.opinions.models import (
    SENT_STATUSES,
    OpinionReport,
    OpinionSource,
    OpinionStatus,
)
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    MEMBER_KINDS,
    Proposal,
    ProposalOutcome,
    ProposalStatus,
    ProposerKind,
)
from consult_hub.proposals.review import (
    ProposalReview,
    proposal_district,
    proposal_review,
)
from consult_hub.tallies.models import CPPCC_KEYS, MonthlyTally

Metrics = dict[str, Any]
# Counts by district: ``None`` holds what belongs to no district (the city's row only).
ByDistrict = dict[int | None, Counter[str]]


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


# --- Counting ----------------------------------------------------------------------------------


def collect(month: date, district_ids: Collection[int] | None = None) -> ByDistrict:
    """The month's opinion-report and proposal figures by district (docs/metrics.md)."""
    return count_span(month, month, district_ids)


def count_span(first: date, last: date, district_ids: Collection[int] | None = None,
               ) -> ByDistrict:
    """The figures of the months ``first`` to ``last`` (both included) by district.

    With ``district_ids``, only those districts' reports and proposals (and nothing under
    ``None``)."""
    start = local_month_bounds(first.year, first.month)[0]
    end = local_month_bounds(last.year, last.month)[1]
    counts: ByDistrict = defaultdict(Counter)
    _count_opinions(counts, start, end, first, _next_month(last), district_ids)
    _count_proposals(counts, start, end, district_ids)
    return counts


def _count_opinions(counts: ByDistrict, start: datetime, end: datetime, first_day: date,
                    end_day: date, district_ids: Collection[int] | None) -> None:
    report = OpinionReport
    area: tuple[Any, ...] = ()
    if district_ids is not None:
        area = (report.district_id.in_(sorted(set(district_ids))),)
    session = db.session

    def grouped(*where: Any) -> Any:
        return session.execute(sa.select(report.district_id, sa.func.count())
                               .where(*where, *area).group_by(report.district_id))

    for district_id, n in grouped(report.created_at >= start, report.created_at < end):
        counts[district_id]["opinions_written"] += n
    for district_id, category, source, livelihood, n in session.execute(
            sa.select(report.district_id, report.category, report.source,
                      report.is_livelihood, sa.func.count())
            .where(report.status.in_(SENT_STATUSES), report.submitted_at >= start,
                   report.submitted_at < end, *area)
            .group_by(report.district_id, report.category, report.source,
                      report.is_livelihood)):
        row = counts[district_id]
        row["opinions_submitted"] += n
        row[f"opinions_submitted.category.{Category(category).value}"] += n
        row[f"opinions_submitted.source.{OpinionSource(source).value}"] += n
        if livelihood:
            row["opinions_livelihood"] += n
    for district_id, status, n in session.execute(
            sa.select(report.district_id, report.status, sa.func.count())
            .where(report.status.in_([OpinionStatus.ADOPTED, OpinionStatus.NOT_ADOPTED]),
                   report.decided_at >= start, report.decided_at < end, *area)
            .group_by(report.district_id, report.status)):
        name = ("opinions_adopted" if OpinionStatus(status) is OpinionStatus.ADOPTED
                else "opinions_not_adopted")
        counts[district_id][name] += n
    for district_id, n in grouped(report.forwarded_at >= start, report.forwarded_at < end):
        counts[district_id]["opinions_forwarded"] += n
    for district_id, n in grouped(report.instructed_on >= first_day,
                                  report.instructed_on < end_day):
        counts[district_id]["opinions_instructed"] += n


def _count_proposals(counts: ByDistrict, start: datetime, end: datetime,
                     district_ids: Collection[int] | None) -> None:
    joined, district = proposal_district()
    area: tuple[Any, ...] = ()
    if district_ids is not None:
        area = (district.in_(sorted(set(district_ids))),)
    session = db.session

    def select(*columns: Any) -> sa.Select:
        return sa.select(district, *columns, sa.func.count()).select_from(joined)

    for district_id, n in session.execute(
            select().where(Proposal.status != ProposalStatus.DRAFT,
                           Proposal.submitted_at >= start, Proposal.submitted_at < end, *area)
            .group_by(district)):
        counts[district_id]["proposals_submitted"] += n
    for district_id, kind, category, is_key, n in session.execute(
            select(Proposal.proposer_kind, Proposal.category, Proposal.is_key)
            .where(Proposal.status.in_(ACCEPTED_STATUSES), Proposal.reviewed_at >= start,
                   Proposal.reviewed_at < end, *area)
            .group_by(district, Proposal.proposer_kind, Proposal.category, Proposal.is_key)):
        row = counts[district_id]
        row["proposals_accepted"] += n
        row["proposals_accepted_member" if ProposerKind(kind) in MEMBER_KINDS
            else "proposals_accepted_collective"] += n
        row[f"proposals_accepted.category.{Category(category).value}"] += n
        if is_key:
            row["proposals_key"] += n
    for district_id, n in session.execute(
            select().where(Proposal.status == ProposalStatus.NOT_ACCEPTED,
                           Proposal.reviewed_at >= start, Proposal.reviewed_at < end, *area)
            .group_by(district)):
        counts[district_id]["proposals_not_accepted"] += n
    for district_id, outcome, n in session.execute(
            select(Proposal.outcome)
            .where(Proposal.status.in_(ANSWERED_STATUSES), Proposal.replied_at >= start,
                   Proposal.replied_at < end, *area)
            .group_by(district, Proposal.outcome)):
        counts[district_id]["proposals_replied"] += n
        if outcome is not None:
            counts[district_id][
                f"proposals_replied.outcome.{ProposalOutcome(outcome).value}"] += n
    for district_id, rating, n in session.execute(
            select(Proposal.rating)
            .where(Proposal.rating.is_not(None), Proposal.rated_at >= start,
                   Proposal.rated_at < end, *area)
            .group_by(district, Proposal.rating)):
        counts[district_id]["proposals_rated"] += n
        counts[district_id][f"proposals_rated.rating.{Satisfaction(rating).value}"] += n


def derive(metrics: Metrics) -> None:
    """The derived figures of the opinion reports, from the counts (in place)."""
    submitted = metrics.get("opinions_submitted") or 0
    metrics["opinions_livelihood_share"] = (
        round((metrics.get("opinions_livelihood") or 0) / submitted, 4) if submitted else None)


# --- Rounded forms and shares ------------------------------------------------------------------


def nearly(n: int) -> str:
    """About ``n``, from below: "近1,600" for 1,590; a whole hundred or less than 100 exact."""
    if n < 100 or n % 100 == 0:
        return f"{n:,}"
    return _("近%(n)s", n=f"{(n // 100 + 1) * 100:,}")


def over(n: int) -> str:
    """More than ``n`` floored to tens: "660余" for 666; a whole ten or less than 10 exact."""
    if n < 10 or n % 10 == 0:
        return f"{n:,}"
    return _("%(n)s余", n=f"{n // 10 * 10:,}")


# --- The year ----------------------------------------------------------------------------------


@dataclass
class OpinionYear:
    """The calendar year's opinion reports: the months' figures summed."""

    metrics: Metrics

    @property
    def submitted(self) -> int:
        return self.metrics["opinions_submitted"]

    @property
    def livelihood(self) -> int:
        return self.metrics["opinions_livelihood"]

    @property
    def share_text(self) -> str | None:
        """The 民生实事 share as printed in the sentence: a whole percentage ("42%")."""
        return percent(self.metrics["opinions_livelihood"], self.metrics["opinions_submitted"], 0)

    @property
    def share_exact(self) -> str | None:
        """To one decimal, for the tables ("41.9%")."""
        return percent(self.metrics["opinions_livelihood"], self.metrics["opinions_submitted"])

    def by(self, dimension: str, enum_cls: Any) -> list[tuple[Any, int]]:
        return [(member, self.metrics[f"opinions_submitted.{dimension}.{member.value}"])
                for member in enum_cls]


def opinion_year(year: int, district_ids: Collection[int] | None = None,
                 now: datetime | None = None) -> OpinionYear:
    """The calendar year's opinion-report figures: the frozen months' stored figures (final,
    or the scheduler's recent provisional ones), the other months counted from the records."""
    from consult_hub.tallies.compute import usable  # compute imports this module

    now = now or utcnow()
    keys = (["city"] if district_ids is None
            else [f"district:{i}" for i in sorted(set(district_ids))])
    summed: Counter[str] = Counter()
    frozen: dict[date, list[Metrics]] = defaultdict(list)
    city_months: set[date] = set()
    for row in db.session.execute(
            sa.select(MonthlyTally.month, MonthlyTally.scope_key, MonthlyTally.metrics,
                      MonthlyTally.computed_at).where(
                MonthlyTally.scope_key.in_(["city", *keys]),
                MonthlyTally.month >= date(year, 1, 1), MonthlyTally.month <= date(year, 12, 1))):
        if not usable(row.month, row.computed_at, now):
            continue
        if row.scope_key == "city":
            city_months.add(row.month)
        if row.scope_key in keys:
            frozen[row.month].append(row.metrics)
    # A month is frozen once its city row is (every scope is written at once); a district
    # without a row in a frozen month had nothing to count.
    for month in city_months:
        for metrics in frozen.get(month, []):
            summed.update({key: metrics.get(key) or 0 for key in CPPCC_KEYS
                           if key.startswith("opinions_")})
    for first, last in month_runs(year, city_months):
        for district_id, counts in count_span(first, last, district_ids).items():
            if district_ids is None or district_id is not None:
                summed.update({k: v for k, v in counts.items() if k.startswith("opinions_")})
    metrics: Metrics = {key: int(summed.get(key, 0)) for key in CPPCC_KEYS
                        if key.startswith("opinions_")}
    derive(metrics)
    return OpinionYear(metrics)


@dataclass
class YearSummary:
    """A year's opinion reports and proposal review, and the sentences the reports print."""

    year: int
    opinions: OpinionYear
    proposals: ProposalReview
    is_city: bool = True

    def opinion_sentence(self) -> str | None:
        """The seed's 社情民意 sentence with rounded forms; None when nothing was submitted."""
        submitted = self.opinions.metrics["opinions_submitted"]
        if not submitted:
            return None
        return _("%(year)s年，%(whole)s报送社情民意信息%(submitted)s篇，全年报送涉及民生实事的"
                 "社情民意信息%(livelihood)s条，占全年报送信息总数的%(share)s。",
                 year=self.year, whole=_("全市") if self.is_city else _("全区"),
                 submitted=nearly(submitted),
                 livelihood=over(self.opinions.metrics["opinions_livelihood"]),
                 share=self.opinions.share_text)

    def proposal_sentences(self) -> list[str]:
        """The 提案办理回顾 paragraph, sentence by sentence; empty when nothing was submitted."""
        review = self.proposals
        if not review.submitted:
            return []
        sentences = [_(
            "%(year)s年，共提出提案%(submitted)s件，经审查立案%(accepted)s件，其中委员个人或联名"
            "提案%(member)s件，占%(member_share)s；集体提案%(collective)s件，"
            "占%(collective_share)s。",
            year=review.year, submitted=f"{review.submitted:,}",
            accepted=f"{review.accepted:,}", member=f"{review.accepted_member:,}",
            member_share=review.of_accepted(review.accepted_member) or "—",
            collective=f"{review.accepted_collective:,}",
            collective_share=review.of_accepted(review.accepted_collective) or "—")]
        if not review.accepted:
            return sentences
        outcomes = review.outcomes
        parts = {
            "a": f"{outcomes[ProposalOutcome.RESOLVED]:,}",
            "a_share": review.of_accepted(outcomes[ProposalOutcome.RESOLVED]),
            "b": f"{outcomes[ProposalOutcome.PLANNED]:,}",
            "b_share": review.of_accepted(outcomes[ProposalOutcome.PLANNED]),
            "c": f"{outcomes[ProposalOutcome.CONSTRAINED]:,}",
            "c_share": review.of_accepted(outcomes[ProposalOutcome.CONSTRAINED]),
        }
        if review.all_replied:
            sentences.append(_(
                "立案提案已全部办复，其中已解决或采纳的%(a)s件，占%(a_share)s；列入计划正在解决的"
                "%(b)s件，占%(b_share)s；因条件所限一时难以解决的%(c)s件，占%(c_share)s。",
                **parts))
        elif review.replied:
            sentences.append(_(
                "立案提案已办复%(replied)s件，占%(replied_share)s，其中已解决或采纳的%(a)s件，"
                "占立案提案的%(a_share)s；列入计划正在解决的%(b)s件，占%(b_share)s；"
                "因条件所限一时难以解决的%(c)s件，占%(c_share)s。",
                replied=f"{review.replied:,}",
                replied_share=review.of_accepted(review.replied), **parts))
        else:
            sentences.append(_("立案提案正在办理中，尚未办复。"))
        categories = review.categories
        sentences.append(_(
            "从立案提案的内容看，经济建设方面%(economy)s件，政治建设方面%(politics)s件，"
            "文化建设方面%(culture)s件，社会建设方面%(society)s件，"
            "生态文明建设方面%(ecology)s件。",
            **{c.value: f"{categories[c]:,}" for c in Category}))
        return sentences

    def proposal_paragraph(self) -> str:
        """The paragraph as one text (sentences run on in Chinese, spaced in English)."""
        locale = get_locale()
        space = " " if locale is not None and locale.language == "en" else ""
        return space.join(self.proposal_sentences())

    @classmethod
    def from_totals(cls, year: int, totals: Metrics, review: ProposalReview | None,
                    *, is_city: bool) -> YearSummary:
        """From a year report's totals (the months summed) and its proposal review."""
        metrics: Metrics = {key: int(totals.get(key) or 0) for key in CPPCC_KEYS
                            if key.startswith("opinions_")}
        derive(metrics)
        return cls(year, OpinionYear(metrics), review or ProposalReview(year), is_city)

    def as_dict(self) -> dict[str, Any]:
        """Exact figures and the printed forms, for the API."""
        metrics = self.opinions.metrics
        return {
            "year": self.year,
            "opinions": {**metrics,
                         "rounded": {
                             "submitted": nearly(metrics["opinions_submitted"]),
                             "livelihood": over(metrics["opinions_livelihood"]),
                             "livelihood_share": self.opinions.share_text,
                         } if metrics["opinions_submitted"] else None},
            "proposals": self.proposals.as_dict(),
            "sentences": {"opinions": self.opinion_sentence(),
                          "proposals": self.proposal_sentences()},
        }


def year_summary(year: int, district_ids: Collection[int] | None = None,
                 now: datetime | None = None) -> YearSummary:
    """The year's opinion-report figures (calendar year, from the frozen tallies where final)
    and proposal review (session year), for the city or the given districts."""
    return YearSummary(year, opinion_year(year, district_ids, now),
                       proposal_review(year, district_ids), is_city=district_ids is None)
