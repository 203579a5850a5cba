"""Opinion reports (社情民意信息) and proposals (提案) in the tallies: the definitions of
docs/metrics.md § Opinion reports and § Proposals, the year, and the seed's sentences."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale

from consult_hub.core.numbers import percent
from consult_hub.extensions import db
from consult_hub.opinions.models import OpinionReport, OpinionStatus
from consult_hub.proposals.models import Proposal, ProposalStatus
from consult_hub.proposals.review import ProposalReview, proposal_review, proposal_reviews
from consult_hub.tallies import compute, cppcc
from consult_hub.tallies.models import MonthlyTally
from tests.reports import cppcc_records as rec
from tests.support import factories

MARCH = date(2024, 3, 1)
SEED_OPINIONS = ("报送社情民意信息近1,600篇，全年报送涉及民生实事的社情民意信息660余条，"
                 "占全年报送信息总数的42%。")
SEED_PROPOSALS = (
    "2024年，共提出提案744件，经审查立案708件，其中委员个人或联名提案573件，占80.9%；"
    "集体提案135件，占19.1%。立案提案已全部办复，其中已解决或采纳的669件，占94.5%；"
    "列入计划正在解决的24件，占3.4%；因条件所限一时难以解决的15件，占2.1%。"
    "从立案提案的内容看，经济建设方面285件，政治建设方面44件，文化建设方面79件，"
    "社会建设方面253件，生态文明建设方面47件。")


def picked(metrics: dict, prefix: str = "") -> dict:
    return {k: v for k, v in metrics.items()
            if v and k.startswith(("opinions_", "proposals_")) and k.startswith(prefix)}


@pytest.fixture()
def march(ctx):
    """Reports and proposals of two districts and of none, around March 2024 (Wuhan time)."""
    d1, d2 = factories.district(), factories.district()
    factories.platform(district_id=d1.id, established_on=date(2023, 1, 1))
    rec.report(district_id=d1.id, livelihood=True, category="economy",
               created=rec.at(2024, 2, 20))
    rec.report(district_id=d1.id, source="member", created=rec.at(2024, 3, 2))
    # 31 March 23:30 in Wuhan is still March; 1 April 00:30 is April.
    rec.report(district_id=d2.id, livelihood=True,
               submitted=datetime(2024, 3, 31, 15, 30, tzinfo=UTC))
    rec.report(district_id=d2.id, submitted=datetime(2024, 3, 31, 16, 30, tzinfo=UTC))
    rec.report("draft", district_id=d2.id, created=rec.at(2024, 3, 5))
    # Decided in March: one adopted (forwarded, instructed), one not; submitted in February.
    rec.report("adopted", district_id=d1.id, submitted=rec.at(2024, 2, 1),
               decided=rec.at(2024, 3, 3), forwarded=rec.at(2024, 3, 4),
               instructed=date(2024, 3, 31))
    rec.report("not_adopted", submitted=rec.at(2024, 2, 1), decided=rec.at(2024, 3, 3),
               source="district")  # no district: the city's only
    member1 = factories.member(district_id=d1.id)
    rec.proposal(member=member1, submitted=rec.at(2024, 3, 1))  # submitted, not reviewed
    rec.proposal("accepted", member=member1, kind="joint", category="society", is_key=True,
                 submitted=rec.at(2024, 2, 1), reviewed=rec.at(2024, 3, 6))
    rec.proposal("replied", kind="collective", category="ecology", outcome="planned",
                 submitted=rec.at(2024, 1, 10), reviewed=rec.at(2024, 2, 1),
                 replied=rec.at(2024, 3, 20), rating="basically", rated=rec.at(2024, 3, 25))
    rec.proposal("not_accepted", district_id=d2.id, submitted=rec.at(2024, 2, 20),
                 reviewed=rec.at(2024, 3, 8))
    rec.proposal("draft", member=member1)
    db.session.commit()
    return d1, d2


def test_month_figures_follow_the_definitions(march):
    d1, d2 = march
    result = compute.compute_month(MARCH)
    assert picked(result["city"][1]) == {
        "opinions_written": 2,  # the one of 2 March and the draft; not February's
        "opinions_submitted": 3, "opinions_livelihood": 2,
        "opinions_submitted.category.economy": 1, "opinions_submitted.category.society": 2,
        "opinions_submitted.source.platform": 2, "opinions_submitted.source.member": 1,
        "opinions_adopted": 1, "opinions_not_adopted": 1, "opinions_forwarded": 1,
        "opinions_instructed": 1, "opinions_livelihood_share": 0.6667,
        "proposals_submitted": 1, "proposals_accepted": 1, "proposals_accepted_member": 1,
        "proposals_accepted.category.society": 1, "proposals_key": 1,
        "proposals_not_accepted": 1, "proposals_replied": 1,
        "proposals_replied.outcome.planned": 1, "proposals_rated": 1,
        "proposals_rated.rating.basically": 1,
    }
    # A report belongs to its district, a proposal to its lead member's; a collective one and
    # a report without a district count for the city only.
    first = result[f"district:{d1.id}"][1]
    assert picked(first) == {
        "opinions_written": 1, "opinions_submitted": 2, "opinions_livelihood": 1,
        "opinions_submitted.category.economy": 1, "opinions_submitted.category.society": 1,
        "opinions_submitted.source.platform": 1, "opinions_submitted.source.member": 1,
        "opinions_adopted": 1, "opinions_forwarded": 1, "opinions_instructed": 1,
        "opinions_livelihood_share": 0.5,
        "proposals_submitted": 1, "proposals_accepted": 1, "proposals_accepted_member": 1,
        "proposals_accepted.category.society": 1, "proposals_key": 1,
    }
    second = result[f"district:{d2.id}"][1]  # a district without platforms still has a row
    assert picked(second, "opinions_submitted") == {
        "opinions_submitted": 1, "opinions_submitted.category.society": 1,
        "opinions_submitted.source.platform": 1}
    assert second["opinions_written"] == 1 and second["proposals_not_accepted"] == 1
    # Platforms carry none of them.
    platform_rows = [m for key, (_s, m) in result.items() if key.startswith("platform:")]
    assert platform_rows and not any(picked(m) for m in platform_rows)
    # April has the report of 1 April 00:30 local.
    april = compute.compute_month(date(2024, 4, 1))["city"][1]
    assert april["opinions_submitted"] == 1


def test_a_district_counted_alone_gets_the_same_figures(march):
    d1, _d2 = march
    whole = compute.compute_month(MARCH)[f"district:{d1.id}"][1]
    alone = compute.compute_month(MARCH, [d1.id])
    assert picked(alone[f"district:{d1.id}"][1]) == picked(whole)
    assert picked(alone["city"][1]) == picked(whole)  # "city" is then the district's sum


def test_the_frozen_tally_carries_them_and_stores_no_zeros(march):
    compute.freeze_month(MARCH)
    row = db.session.scalar(sa.select(MonthlyTally).where(MonthlyTally.month == MARCH,
                                                          MonthlyTally.scope_key == "city"))
    assert row.metrics["opinions_submitted"] == 3
    assert row.metrics["proposals_replied.outcome.planned"] == 1
    assert row.metrics["proposals_replied.outcome.resolved"] == 0  # put back when read
    raw = db.session.execute(sa.text(
        "SELECT metrics FROM monthly_tallies WHERE scope_key = 'city'")).scalar_one()
    raw = raw if isinstance(raw, dict) else __import__("json").loads(raw)
    assert raw["opinions_submitted"] == 3
    assert "proposals_replied.outcome.resolved" not in raw  # zeros are not stored


def test_the_year_reads_frozen_months_and_counts_the_others(march):
    compute.freeze_month(MARCH)
    # A report submitted in March after freezing does not change the frozen month ...
    rec.report(submitted=rec.at(2024, 3, 15), livelihood=True)
    # ... but one in May (not frozen) is counted from the records.
    rec.report(submitted=rec.at(2024, 5, 15), livelihood=True)
    db.session.commit()
    summary = cppcc.year_summary(2024)
    # February 2, March 3 (frozen: not the one added since), April 1, May 1.
    assert summary.opinions.submitted == 2 + 3 + 1 + 1
    assert summary.opinions.livelihood == 2 + 1  # March's (frozen) and May's
    d1, d2 = march
    assert cppcc.year_summary(2024, [d2.id]).opinions.submitted == 2  # March's, April's


def test_the_proposal_review_counts_the_session_year_by_current_state(march):
    d1, _d2 = march
    # A proposal of 2024 reviewed and answered in 2025 still counts in 2024's review.
    late = rec.proposal("closed", member=factories.member(district_id=d1.id),
                        submitted=rec.at(2024, 12, 20), reviewed=rec.at(2025, 1, 5),
                        replied=rec.at(2025, 2, 1), outcome="resolved", category="culture")
    rec.proposal("accepted", year=2025, member=late.lead_member)  # another session year
    db.session.commit()
    review = proposal_review(2024)
    assert (review.submitted, review.accepted, review.accepted_member,
            review.accepted_collective, review.not_accepted, review.replied, review.key) == (
        5, 3, 2, 1, 1, 2, 1)
    assert review.outcomes == {"resolved": 1, "planned": 1, "constrained": 0}
    assert review.categories == {"economy": 0, "politics": 0, "culture": 1, "society": 1,
                                 "ecology": 1}
    assert review.ratings["basically"] == 1 and review.rated == 1
    district = proposal_review(2024, [d1.id])
    assert (district.submitted, district.accepted, district.accepted_collective) == (3, 2, 0)
    # The city's review (grouped without districts) is its districts' added up (the open-data
    # archive prints both).
    added = ProposalReview(2024)
    for part in proposal_reviews(2024).values():
        added.add(part)
    assert added == review and proposal_reviews(2024)[d1.id] == district


# --- The seed's figures and sentences -------------------------------------------------------


def _bulk_reports(submitted: int, livelihood: int, year: int = 2024) -> None:
    """``submitted`` reports sent in the year, ``livelihood`` of them on 民生实事."""
    when = datetime(year, 6, 1, 4, tzinfo=UTC)
    start = db.session.scalar(sa.select(sa.func.count(OpinionReport.id))) or 0
    db.session.execute(sa.insert(OpinionReport), [
        {"reference": f"SQB-{start + i:06d}", "title": "报告", "body": "内容。",
         "category": "society", "source": "platform", "status": OpinionStatus.SUBMITTED,
         "is_livelihood": i < livelihood, "submitted_at": when}
        for i in range(submitted)])
    db.session.commit()


def _bulk_seed_proposals() -> None:
    """744 proposals of 2024 as in the seed: 708 accepted (573 by members, 135 collective),
    all answered 669 / 24 / 15, by field 285 / 44 / 79 / 253 / 47; 36 not accepted."""
    member = factories.member()
    department = factories.department()
    rows = []
    fields = ["economy"] * 285 + ["politics"] * 44 + ["culture"] * 79 + ["society"] * 253 \
        + ["ecology"] * 47
    outcomes = ["resolved"] * 669 + ["planned"] * 24 + ["constrained"] * 15
    when = datetime(2024, 1, 20, 4, tzinfo=UTC)
    for i in range(744):
        accepted = i < 708
        kind = ("member" if i < 400 else "joint" if i < 573 else "collective") if accepted \
            else "member"
        row = {"year": 2024, "reference": f"TAB-{i:05d}", "title": "提案", "reasons": "案由。",
               "suggestions": "建议。", "category": fields[i] if accepted else "economy",
               "timing": "session", "proposer_kind": kind,
               "lead_member_id": None if kind == "collective" else member.id,
               "collective_kind": "party" if kind == "collective" else None,
               "collective_name": "民建测试市委员会" if kind == "collective" else None,
               "status": ProposalStatus.CLOSED if accepted else ProposalStatus.NOT_ACCEPTED,
               "submitted_at": when, "reviewed_at": datetime(2024, 2, 20, 4, tzinfo=UTC),
               "review_note": None if accepted else "不属于提案范围。",
               "number": f"B{i:05d}" if accepted else None,
               "lead_department_id": department.id if accepted else None,
               "due_on": date(2024, 5, 20) if accepted else None,
               "outcome": outcomes[i] if accepted else None,
               "reply": "答复。" if accepted else None,
               "replied_at": datetime(2024, 5, 1, 4, tzinfo=UTC) if accepted else None}
        rows.append(row)
    db.session.execute(sa.insert(Proposal), rows)
    db.session.commit()


def test_the_seed_figures_give_the_seed_sentences(app: Flask, ctx):
    factories.platform(established_on=date(2023, 1, 1))
    _bulk_reports(1590, 666)
    _bulk_seed_proposals()
    summary = cppcc.year_summary(2024)
    assert (summary.opinions.submitted, summary.opinions.livelihood) == (1590, 666)
    assert summary.opinions.share_exact == "41.9%" and summary.opinions.share_text == "42%"
    assert summary.opinion_sentence() == "2024年，全市" + SEED_OPINIONS
    assert summary.proposal_paragraph() == SEED_PROPOSALS
    review = summary.proposals
    assert [review.of_accepted(n) for n in (review.accepted_member,
                                            review.accepted_collective)] == ["80.9%", "19.1%"]
    with app.test_request_context(), force_locale("en"):
        english = cppcc.year_summary(2024)
        assert english.opinion_sentence() == (
            "Whole city, 2024: nearly 1,600 public-opinion reports were submitted; more than "
            "660 of them concerned livelihood matters, 42% of all the reports submitted in "
            "the year.")
        paragraph = english.proposal_paragraph()
        for part in ("744 proposals", "708", "573 (80.9%)", "135 (19.1%)", "669 (94.5%)",
                     "24 (3.4%)", "15 (2.1%)", "economy 285", "politics 44", "culture 79",
                     "society 253", "ecology 47"):
            assert part in paragraph
    api = summary.as_dict()
    assert api["opinions"]["rounded"] == {"submitted": "近1,600", "livelihood": "660余",
                                          "livelihood_share": "42%"}
    assert api["proposals"]["shares"]["outcome.resolved"] == 0.9449


def test_whole_hundreds_and_tens_are_printed_exactly(ctx):
    _bulk_reports(1600, 660)
    sentence = cppcc.year_summary(2024).opinion_sentence()
    assert "报送社情民意信息1,600篇" in sentence and "社情民意信息660条" in sentence
    assert "占全年报送信息总数的41%" in sentence  # 41.25% → 41%


def test_no_report_no_sentence_and_no_proposal_no_paragraph(ctx):
    rec.report("draft")
    db.session.commit()
    summary = cppcc.year_summary(2024)
    assert summary.opinion_sentence() is None
    assert summary.proposal_paragraph() == ""
    assert summary.as_dict()["opinions"]["rounded"] is None


@pytest.mark.parametrize(("n", "nearly", "over"), [
    (0, "0", "0"), (7, "7", "7"), (99, "99", "90余"), (100, "100", "100"),
    (101, "近200", "100余"), (1590, "近1,600", "1,590"), (1600, "1,600", "1,600"),
    (666, "近700", "660余"), (12345, "近12,400", "12,340余")])
def test_rounded_forms(ctx, n, nearly, over):
    assert cppcc.nearly(n) == nearly and cppcc.over(n) == over


@pytest.mark.parametrize(("part", "whole", "places", "text"), [
    (666, 1590, 0, "42%"), (573, 708, 1, "80.9%"), (135, 708, 1, "19.1%"),
    (669, 708, 1, "94.5%"), (24, 708, 1, "3.4%"), (15, 708, 1, "2.1%"),
    (1, 16, 1, "6.3%"),  # 6.25% rounds half up, as people do
    (1, 8, 0, "13%"), (0, 5, 1, "0.0%"), (3, 0, 1, None)])
def test_percentages_round_half_up(part, whole, places, text):
    assert percent(part, whole, places) == text


def test_a_partly_answered_year_says_how_many(ctx):
    rec.proposal("replied", outcome="resolved")
    rec.proposal("accepted")
    rec.proposal("submitted")
    db.session.commit()
    sentences = cppcc.year_summary(2024).proposal_sentences()
    assert sentences[0].startswith("2024年，共提出提案3件，经审查立案2件")
    assert sentences[1].startswith("立案提案已办复1件，占50.0%")
