"""The city demo (`flask demo load --scale city --seed 1 --year 2024 --now …`, loaded once for
the module): the seed's scale, the year's tallies adding up to the seed's figures, the 2024
report as a resident and as staff see it, and its proposals (提案) and opinion reports
(社情民意信息): the seed's 2024 figures exactly, timelines the lifecycles allow, and work waiting
for the demo member.

Loading the city takes longer than any of these checks, and each check used to load it
itself; now the module loads it once through the command, at a fixed moment (``NOW``), inside a
transaction that is never committed (tests/support/rollback.py), and each test starts from it
exactly: what a test writes (the frozen months) is rolled back after it.
"""


from __future__ import annotations

import io
import random
import re
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy.orm import selectinload

from consult_hub.core.timefmt import local_today, local_zone, to_local
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import Demo
from consult_hub.demo.cppcc import build_cppcc
from consult_hub.demo.events import build_events
from consult_hub.demo.issues import build_issues
from consult_hub.demo.world import build_world
from consult_hub.events.models import event_attendees
from consult_hub.extensions import db
from consult_hub.issues.models import (
    DEPARTMENT_STATUSES,
    DUE_STATUSES,
    ReferenceCounter,
    Satisfaction,
)
from consult_hub.main.queries import headline_figures
from consult_hub.models import (
    Area,
    AreaLevel,
    Event,
    EventStatus,
    Issue,
    IssueStatus,
    IssueUpdate,
    Member,
    Platform,
    PlatformKind,
    PlatformStatus,
    User,
    platform_coordinators,
)
from consult_hub.opinions.models import SENT_STATUSES, OpinionReport, OpinionStatus
from consult_hub.proposals.lifecycle import TRANSITIONS
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    MEMBER_KINDS,
    HandlingRole,
    Proposal,
    ProposalDepartment,
    ProposalOutcome,
    ProposalStatus,
    ProposerKind,
)
from consult_hub.tallies import compute
from consult_hub.tallies.cppcc import year_summary
from consult_hub.tallies.models import MonthlyTally
from tests.support.auth import AuthActions
from tests.support.reports import SENTENCE, check_chart, csv_rows, page_tables, plain, svgs
from tests.support.rollback import RolledBack

pytestmark = [pytest.mark.rolled_back, pytest.mark.slow]

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Wuhan: the demo is loaded as of then
S = ProposalStatus

WUHAN_DISTRICTS = {"420102", "420103", "420104", "420105", "420106", "420107", "420111", "420112",
                   "420113", "420114", "420115", "420116", "420117"}


@pytest.fixture(scope="module")
def _city(app: Flask) -> Iterator[tuple[RolledBack, Result]]:
    rolled_back = RolledBack(app)
    try:
        result = app.test_cli_runner().invoke(
            args=["demo", "load", "--scale", "city", "--seed", "1", "--year", "2024",
                  "--now", NOW.isoformat()])
        yield rolled_back, result
    finally:
        rolled_back.close()


@pytest.fixture()
def city(app: Flask, _city: tuple[RolledBack, Result]) -> Iterator[Result]:
    """What `flask demo load` answered; the city as it loaded, for this test alone."""
    rolled_back, result = _city
    with rolled_back.case():
        yield result


@pytest.fixture()
def loaded(app: Flask, city: Result) -> Iterator[None]:
    """The city as it loaded, for this test alone, in an app context."""
    assert city.exit_code == 0, city.output
    with app.app_context():
        yield


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_city_scale_matches_the_seed(app: Flask, city: Result) -> None:
    assert city.exit_code == 0, city.output
    with app.app_context():
        figures = headline_figures(2024)
        assert (figures.platforms, figures.events_held) == (1006, 1220)
        assert figures.issues_resolved >= 1300
        check_city_platforms()
        check_city_issues()
        check_city_events()


def check_city_platforms() -> None:
    districts = db.session.scalars(sa.select(Area.code).where(Area.level == AreaLevel.DISTRICT))
    assert set(districts) == WUHAN_DISTRICTS
    kinds = db.session.scalars(sa.select(Platform.kind).distinct())
    assert set(kinds) == set(PlatformKind)
    closed = sa.select(Platform.id).where(Platform.status == PlatformStatus.CLOSED)
    assert count(closed.subquery()) == 0
    assert count(sa.select(Platform.id).where(Platform.is_demonstration).subquery()) > 30
    latest, south, north, west, east = db.session.execute(sa.select(
        sa.func.max(Platform.established_on), sa.func.min(Platform.latitude),
        sa.func.max(Platform.latitude), sa.func.min(Platform.longitude),
        sa.func.max(Platform.longitude))).one()
    assert latest <= date(2024, 12, 31)
    assert 30.3 <= south < north <= 30.9 and 113.9 <= west < east <= 114.6
    assert count(Member) >= 300


def check_city_issues() -> None:
    today = local_today(NOW)
    by_status = dict(db.session.execute(
        sa.select(Issue.status, sa.func.count()).group_by(Issue.status)).all())
    for status in IssueStatus:
        assert by_status.get(status, 0) > 0, status
    overdue = sa.select(Issue.id).where(Issue.status.in_(DUE_STATUSES), Issue.due_on < today)
    assert count(overdue.subquery()) > 0
    assert count(sa.select(Issue.id).where(Issue.duplicate_of_id.is_not(None)).subquery()) > 0
    assert count(sa.select(Issue.id).where(Issue.rated_at.is_not(None)).subquery()) > 0
    check_city_handling()


def check_city_handling() -> None:
    """Departments mostly acknowledge within two days and reply; staff mostly confirm."""
    actions = Counter(db.session.scalars(sa.select(IssueUpdate.action)))
    assigned = actions["assign"]
    assert 0.03 <= actions["rework"] / actions["reply"] <= 0.15
    assert 0.02 <= actions["request_extension"] / assigned <= 0.1
    assert actions["approve_extension"] > 2 * actions["refuse_extension"] > 0
    assert 0.005 <= actions["return"] / assigned <= 0.05
    by_staff = count(sa.select(IssueUpdate.id).where(
        IssueUpdate.action.in_(("resolve", "plan", "constrain")),
        IssueUpdate.from_status.in_(DEPARTMENT_STATUSES)).subquery())
    assert actions["confirm"] > 4 * by_staff > 0  # most outcomes are replies staff confirm
    times = db.session.execute(sa.select(Issue.assigned_at, Issue.acknowledged_at).where(
        Issue.acknowledged_at.is_not(None))).all()
    soon = sum(acknowledged - assigned <= timedelta(days=2) for assigned, acknowledged in times)
    assert soon >= 0.75 * len(times)
    unpublished = sa.select(Issue.id).where(Issue.published_at.is_(None))
    assert count(unpublished.subquery()) < 0.02 * count(Issue)


def check_city_events() -> None:
    now = NOW  # the moment the demo was loaded as
    upcoming = sa.select(Event.id).where(Event.status == EventStatus.PLANNED, Event.starts_at > now)
    assert count(upcoming.subquery()) > 50
    coordinator = db.session.scalar(sa.select(User.id).where(User.username == "coordinator"))
    mine = sa.select(platform_coordinators.c.platform_id).where(
        platform_coordinators.c.user_id == coordinator)
    soon = upcoming.where(Event.platform_id.in_(mine), Event.starts_at <= now + timedelta(hours=72))
    assert count(soon.subquery()) >= 3
    cancelled = sa.select(Event.starts_at).where(Event.status == EventStatus.CANCELLED)
    assert any(to_local(t).year == 2024 for t in db.session.scalars(cancelled))


def test_city_demo_year_adds_up_to_the_seed(app, city: Result):
    assert city.exit_code == 0, city.output
    with app.app_context():
        totals = {"events_held": 0, "issues_resolved": 0}
        for month in range(1, 13):
            figures = compute.freeze_month(date(2024, month, 1))
            for key in totals:
                totals[key] += figures[key]
        assert figures["platforms_total"] == 1006
        assert totals["events_held"] == 1220 and totals["issues_resolved"] >= 1300
        assert compute.freeze_month(date(2024, 12, 1)) == figures  # recomputing changes nothing
        assert db.session.scalar(sa.select(sa.func.count()).select_from(event_attendees)) > 0


def test_city_demo_2024_report(app: Flask, runner, city: Result) -> None:
    assert city.exit_code == 0, city.output
    with app.app_context():
        for month in range(1, 13):
            compute.freeze_month(date(2024, month, 1))
        frozen = db.session.scalars(sa.select(MonthlyTally.metrics).where(
            MonthlyTally.scope_key == "city", MonthlyTally.month.between(
                date(2024, 1, 1), date(2024, 12, 1)))).all()
    resolved = sum(m["issues_resolved"] for m in frozen)
    assert len(frozen) == 12 and resolved == 1330

    resident = app.test_client()
    page = resident.get("/reports/2024")
    assert page.status_code == 200
    assert SENTENCE.format(year=2024, whole="全市", platforms="1,006", events="1,220",
                           issues="1,330") in page.text
    for svg in svgs(page.text):
        check_chart(svg)
    tables = page_tables(page.text)
    assert tables["monthly"][-1] == ["全年", "1,220", "1,330"]
    assert len(tables["districts"]) == 1 + 13 + 1  # header, 13 districts, the city
    city_row = tables["districts"][-1]
    assert (city_row[0], city_row[1], city_row[2], city_row[4]) == ("全市", "1,006", "1,220",
                                                                    "1,330")
    for name in ("monthly", "districts", "outcomes"):
        data = resident.get(f"/reports/2024/download.csv?table={name}").data
        shown = tables[name]
        assert csv_rows(data) == [shown[0]] + [[plain(c) for c in row] for row in shown[1:]]
    book = load_workbook(io.BytesIO(resident.get("/reports/2024/download.xlsx").data))
    districts = [list(row) for row in book["各区对比"].iter_rows(values_only=True)]
    assert districts[-1][:3] == ["全市", 1006, 1220] and districts[-1][4] == 1330

    staff = AuthActions(app.test_client())
    assert staff.login("district", "district-demo-2024").status_code == 302
    mine = staff.client.get("/manage/reports/year/2024")
    assert mine.status_code == 200 and "江岸区 2024年度报告" in mine.text
    assert "全区共建成一线协商平台" in mine.text and "江汉区" not in mine.text
    assert staff.client.get("/manage/reports/2024-06").status_code == 200

    coordinator = AuthActions(app.test_client())
    assert coordinator.login("coordinator", "coordinator-demo-2024").status_code == 302
    assert coordinator.client.get("/manage/reports/year/2024").status_code == 403


# -- proposals and opinion reports ------------------------------------------------------------


def year_bounds(year: int) -> tuple[datetime, datetime]:
    start = datetime(year, 1, 1, tzinfo=UTC)
    return start, datetime(year + 1, 1, 1, tzinfo=UTC)


def proposals_of(year: int) -> list[Proposal]:
    return db.session.scalars(sa.select(Proposal).where(
        Proposal.year == year, Proposal.status != S.DRAFT)).all()


def test_the_2024_proposals_are_the_seeds_review(loaded) -> None:
    """744 submitted, 708 accepted (573 members' / 135 collective), all replied within the
    year: 669 / 24 / 15 by outcome, 285 / 44 / 79 / 253 / 47 by field."""
    proposals = proposals_of(2024)
    accepted = [p for p in proposals if p.status in ACCEPTED_STATUSES]
    assert len(proposals) == 744
    assert len(accepted) == 708
    assert sum(p.status is S.NOT_ACCEPTED for p in proposals) == 36
    assert sum(p.proposer_kind in MEMBER_KINDS for p in accepted) == 573
    assert sum(p.proposer_kind is ProposerKind.COLLECTIVE for p in accepted) == 135
    assert all(p.status in ANSWERED_STATUSES for p in accepted)
    assert all(to_local(p.replied_at).year == 2024 for p in accepted)
    assert all(to_local(p.submitted_at).year == 2024 for p in proposals)
    assert Counter(p.outcome for p in accepted) == {
        ProposalOutcome.RESOLVED: 669, ProposalOutcome.PLANNED: 24,
        ProposalOutcome.CONSTRAINED: 15}
    assert {c.value: n for c, n in Counter(p.category for p in accepted).items()} == {
        "economy": 285, "politics": 44, "culture": 79, "society": 253, "ecology": 47}
    # Mostly handed in at the session in January; some both ways of proposing by members.
    january = sum(to_local(p.submitted_at).month == 1 for p in proposals)
    assert 0.75 * 744 <= january < 744
    kinds = Counter(p.proposer_kind for p in accepted)
    assert kinds[ProposerKind.MEMBER] > kinds[ProposerKind.JOINT] > 100
    # Rated mostly 满意; a few 不满意 sent back, handled again and answered within the year.
    ratings = Counter(p.rating for p in accepted)
    assert ratings[Satisfaction.SATISFIED] > 0.75 * 708
    assert ratings[Satisfaction.BASICALLY] > 0
    assert 3 <= sum(p.rehandled > 0 for p in accepted) <= 40
    assert 0.06 * 708 <= sum(p.is_key for p in accepted) <= 0.15 * 708
    refused = [p for p in proposals if p.status is S.NOT_ACCEPTED]
    assert all(p.review_note and "意见建议" in p.review_note for p in refused)


def test_the_2024_opinion_reports_are_the_seeds(loaded) -> None:
    """1,590 submitted in 2024, 666 of them on 民生实事; a share adopted in the bulletin, some
    forwarded, a few with a leader's instruction."""
    reports = [r for r in db.session.scalars(sa.select(OpinionReport).where(
        OpinionReport.status.in_(SENT_STATUSES)))
        if to_local(r.submitted_at).year == 2024]
    assert len(reports) == 1590
    assert sum(r.is_livelihood for r in reports) == 666
    adopted = [r for r in reports if r.status is OpinionStatus.ADOPTED]
    assert 0.2 * 1590 <= len(adopted) <= 0.45 * 1590
    assert all(re.fullmatch(r"《社情民意》20(24|25)年第[1-9][0-9]*期", r.bulletin_issue)
               for r in adopted)
    assert 0 < sum(r.forwarded_to is not None for r in adopted) < 0.4 * len(adopted)
    instructed = [r for r in adopted if r.instructed_on]
    assert 3 <= len(instructed) <= 0.1 * len(adopted)
    assert any(r.follow_up for r in instructed)
    assert {r.source.value for r in reports} == {"platform", "member", "district"}
    # Drafts are not counted as submitted.
    drafts = db.session.scalars(sa.select(OpinionReport).where(
        OpinionReport.status == OpinionStatus.DRAFT)).all()
    assert drafts and all(r.submitted_at is None for r in drafts)


def test_the_figures_print_the_seeds_sentences(loaded) -> None:
    summary = year_summary(2024, now=NOW)
    review = summary.proposals
    assert (review.submitted, review.accepted, review.accepted_member,
            review.accepted_collective, review.not_accepted, review.replied) == (
        744, 708, 573, 135, 36, 708)
    assert [review.outcomes[o] for o in ProposalOutcome] == [669, 24, 15]
    assert [n for n in review.categories.values()] == [285, 44, 79, 253, 47]
    assert (summary.opinions.submitted, summary.opinions.livelihood) == (1590, 666)
    sentence = summary.opinion_sentence()
    assert "近1,600" in sentence and "660余" in sentence and "42%" in sentence
    paragraph = "".join(summary.proposal_sentences())
    for figure in ("744", "708", "573", "80.9%", "135", "19.1%", "669", "94.5%", "24", "3.4%",
                   "15", "2.1%", "285", "44", "79", "253", "47"):
        assert figure in paragraph


def test_proposal_timelines_follow_the_lifecycle(loaded) -> None:
    """Each step starts where the last ended, is one the table allows from there, moves time
    forward; the handling departments and the final fields match the timeline."""
    proposals = db.session.scalars(sa.select(Proposal).options(
        selectinload(Proposal.updates), selectinload(Proposal.departments),
        selectinload(Proposal.proposers))).all()
    assert len(proposals) > 2000
    numbers: set[str] = set()
    for proposal in proposals:
        first, *rest = proposal.updates
        assert (first.action, first.from_status, first.to_status) == ("create", None, S.DRAFT)
        status, last = S.DRAFT, first.created_at
        for update in rest:
            transition = TRANSITIONS[update.action]
            assert update.from_status is status, proposal.reference
            assert status in transition.sources, (proposal.reference, update.action)
            assert update.created_at >= last, proposal.reference
            status, last = update.to_status, update.created_at
        assert status is proposal.status and proposal.updated_at == last
        assert proposal.created_at == first.created_at
        if proposal.proposer_kind is ProposerKind.COLLECTIVE:
            assert proposal.collective_name and not proposal.proposers
        else:
            assert proposal.proposers[0].is_lead
            assert proposal.proposers[0].member_id == proposal.lead_member_id
            size = len(proposal.proposers)
            assert (size == 1) if proposal.proposer_kind is ProposerKind.MEMBER else 2 <= size <= 5
        if proposal.status is S.DRAFT:
            assert proposal.reference.startswith("CG-")
            continue
        assert re.fullmatch(rf"TA{proposal.year}-\d{{4}}", proposal.reference)
        if proposal.status not in ACCEPTED_STATUSES:
            continue
        assert proposal.number not in numbers
        numbers.add(proposal.number)
        leads = [d for d in proposal.departments if d.role is HandlingRole.LEAD]
        assert [d.department_id for d in leads] == [proposal.lead_department_id]
        assert len(proposal.departments) <= 3
        assert proposal.due_on > to_local(proposal.reviewed_at).date()
        if proposal.status in ANSWERED_STATUSES:
            assert proposal.reply.endswith(f"{to_local(proposal.replied_at).day}日")
            assert f"《{proposal.title}》" in proposal.reply
            assert proposal.lead_department.name in proposal.reply
            assert leads[0].acknowledged_at is not None
            for co in proposal.departments:
                if co.opinion and not proposal.rehandled:  # a new round: signs again
                    assert co.acknowledged_at <= co.opinion_at <= proposal.replied_at
        if proposal.rehandled:
            rates = [u for u in proposal.updates if u.action == "rate"]
            assert "不满意" in rates[0].note
        if proposal.status is S.CLOSED:
            assert proposal.rating in (Satisfaction.SATISFIED, Satisfaction.BASICALLY)


def test_opinion_reports_follow_the_lifecycle_and_cite_what_they_came_from(loaded) -> None:
    reports = db.session.scalars(sa.select(OpinionReport).options(
        selectinload(OpinionReport.events), selectinload(OpinionReport.issues))).all()
    references = set()
    for report in reports:
        assert report.reference not in references
        references.add(report.reference)
        assert re.fullmatch(rf"SQ{to_local(report.created_at).year}-\d{{4}}", report.reference)
        assert report.title and report.body and report.district_id
        if report.status is not OpinionStatus.DRAFT:
            assert report.created_at <= report.submitted_at <= NOW
        if report.decided_at:
            assert report.decided_at >= report.submitted_at
        if report.instructed_on:
            assert report.instructed_on >= to_local(report.decided_at).date()
            assert report.instructed_on <= local_today(NOW)
        if report.source.value == "platform":
            assert report.platform_id and report.author_id
        if report.source.value == "member":
            assert report.member_id
        for event in report.events:
            assert event.platform_id == report.platform_id
            assert event.status in (EventStatus.HELD, EventStatus.CONCLUDED)
            assert event.ends_at < (report.submitted_at or NOW)
        for issue in report.issues:
            assert issue.published_at is not None
            assert issue.published_at < (report.submitted_at or NOW)
    linked_events = sum(bool(r.events) for r in reports)
    linked_issues = sum(bool(r.issues) for r in reports)
    assert linked_events > 100 and linked_issues > 100
    # Forwarded and instructed only once adopted, forwarded up only.
    assert all(r.status is OpinionStatus.ADOPTED for r in reports
               if r.forwarded_to or r.instructed_on)


def test_proposals_cite_problems_and_reports(loaded) -> None:
    cited = db.session.scalars(sa.select(Proposal).where(Proposal.issues.any())).all()
    assert len(cited) > 50
    for proposal in cited[:100]:
        assert proposal.proposer_kind in MEMBER_KINDS
        lead = db.session.get(Member, proposal.lead_member_id)
        for issue in proposal.issues:
            assert issue.category is proposal.category
            assert issue.district_id == lead.district_id
            assert issue.published_at < (proposal.submitted_at or NOW)
    with_reports = db.session.scalars(sa.select(Proposal).where(
        Proposal.opinion_reports.any())).all()
    assert with_reports
    for proposal in with_reports:
        for report in proposal.opinion_reports:
            assert report.member_id in {p.member_id for p in proposal.proposers}


def test_the_demo_member_has_work_in_every_state(loaded) -> None:
    """Signing in, the member finds proposals of their own: one accepted this month and being
    handled, one answered and waiting for their rating, one waiting for review, a draft and
    last years' closed ones; and opinion reports in every state."""
    account = db.session.scalar(sa.select(User).where(User.username == "member"))
    mine = db.session.scalars(sa.select(Proposal).where(
        Proposal.lead_member_id == account.member_id)).all()
    this_month = local_today(NOW).replace(day=1)
    statuses = Counter(p.status for p in mine if p.year == NOW.year)
    assert statuses[S.REPLIED] >= 1 and statuses[S.SUBMITTED] >= 1 and statuses[S.DRAFT] >= 1
    handling = [p for p in mine if p.status in (S.ACCEPTED, S.ACKNOWLEDGED)
                and to_local(p.reviewed_at).date() >= this_month]
    assert handling
    assert any(p.year == 2024 and p.status is S.CLOSED for p in mine)
    draft = next(p for p in mine if p.status is S.DRAFT)
    assert draft.issues or draft.opinion_reports
    # What the member did is theirs on the timeline.
    replied = next(p for p in mine if p.status is S.REPLIED)
    assert any(u.action == "submit" and u.actor_id == account.id for u in replied.updates)
    reports = db.session.scalars(sa.select(OpinionReport).where(
        OpinionReport.member_id == account.member_id)).all()
    assert {OpinionStatus.DRAFT, OpinionStatus.SUBMITTED, OpinionStatus.ADOPTED,
            OpinionStatus.NOT_ADOPTED} <= {r.status for r in reports}
    assert any(r.author_id == account.id for r in reports)


def test_the_demo_department_co_handles_proposals(loaded) -> None:
    """The demo department's contact finds two proposals to co-handle (会办): one to sign
    for, one signed and waiting for its opinion."""
    account = db.session.scalar(sa.select(User).where(User.username == "department"))
    rows = db.session.scalars(sa.select(ProposalDepartment).where(
        ProposalDepartment.department_id == account.department_id)).all()
    waiting = [r for r in rows if r.proposal.status in (S.ACCEPTED, S.ACKNOWLEDGED)]
    assert {r.role for r in waiting} == {HandlingRole.CO}
    assert any(r.acknowledged_at is None for r in waiting)
    assert any(r.acknowledged_at is not None and r.opinion is None for r in waiting)
    for row in waiting:
        assert to_local(row.proposal.reviewed_at).date() > local_today(NOW) - timedelta(days=30)


def test_numbers_continue_after_the_demo(loaded) -> None:
    counters = dict(db.session.execute(sa.select(ReferenceCounter.prefix,
                                                 ReferenceCounter.last_value)).all())
    assert counters["TA2024"] == 744 and counters["AH2024"] == 708
    start, end = year_bounds(2024)
    written = db.session.scalars(sa.select(OpinionReport.reference).where(
        OpinionReport.reference.like("SQ2024-%"))).all()
    assert counters["SQ2024"] == len(written) == max(int(r[7:]) for r in written)
    assert counters["TA2026"] == db.session.scalar(sa.select(sa.func.count()).where(
        Proposal.year == 2026, Proposal.status != S.DRAFT))


def test_proposals_read_like_real_ones(loaded) -> None:
    proposals = proposals_of(2024)
    titles = Counter(p.title for p in proposals)
    assert len(titles) >= 0.95 * len(proposals)
    assert all(p.title.startswith("关于") and p.title.endswith(("的建议", "的提案"))
               for p in proposals)
    assert all("建议" in p.suggestions and "一" in p.reasons for p in proposals)
    collective = {p.collective_name for p in proposals if p.collective_name}
    assert {"民建武汉市委员会", "武汉市工商业联合会"} <= collective
    departments = Counter(p.lead_department.name for p in proposals if p.lead_department)
    assert len(departments) >= 20
    assert not [t for t in titles if re.search(r"[{}|]", t)]
    first = min(p.submitted_at for p in proposals)
    assert to_local(first).date() >= date(2024, 1, 1)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Issue)) > 4000
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) > 3000


def test_the_demo_writes_chinese_with_full_width_punctuation(loaded) -> None:
    """GB/T 15834 in what the demo writes, not only in its vocabulary: a mark put between two
    filled-in values ("下沉{street}," "{time},{platform}") is between Chinese words once
    filled (tests/ui/test_typography.py checks the literals)."""
    half_width = re.compile("[\u4e00-\u9fff“”（）][,;:?!()][\u4e00-\u9fff“”（）]")
    found = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if not isinstance(column.type, sa.String) or column.name.endswith("_html"):
                continue
            for value in db.session.scalars(sa.select(column).where(column.is_not(None))):
                hit = half_width.search(value)
                if hit:
                    found.append(f"{table.name}.{column.name}: …{hit.group()}… in {value[:60]}")
                    break  # one example a column is enough
    assert not found, "\n".join(found)


CPPCC_TABLES = ("departments", "opinion_reports", "opinion_report_events",
                "opinion_report_issues", "proposals", "proposal_members",
                "proposal_departments", "proposal_updates", "proposal_issues",
                "proposal_opinion_reports")


def test_the_same_seed_gives_the_same_proposals_and_reports(app) -> None:
    """Generated in memory twice (no database): the same rows, down to the timelines."""

    def generated(seed: int) -> dict[str, list[dict]]:
        with app.app_context():
            demo = Demo(random.Random(seed), NOW, 2024, 60, local_zone())
            world = build_world(demo, {username: "x" for username, *_ in v.DEMO_USERS})
            meetings, _events = build_events(demo, world)
            build_issues(demo, world, meetings)
            counts = build_cppcc(demo, world, meetings)
            # At a small scale the demo year still holds its (scaled) share of the seed's.
            year = counts.by_year[2024]
            assert year["proposals_accepted"] == round(708 * 60 / 1006)
            assert year["reports_submitted"] == round(1590 * 60 / 1006)
            return {name: demo.rows[name] for name in CPPCC_TABLES}

    first = generated(3)
    assert first == generated(3)
    assert first["proposals"] != generated(4)["proposals"]
