"""The home page's headline figures, counted from the records, year by year."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from consult_hub.core.db import utcnow
from consult_hub.events.models import EventStatus
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.main import queries
from consult_hub.platforms.models import PlatformStatus
from tests.support import factories


def held(platform_id: int, when: datetime) -> None:
    factories.event(platform_id=platform_id, starts_at=when, ends_at=when + timedelta(hours=2),
                    status=EventStatus.HELD)


def seed_two_years(app) -> None:
    this_year = utcnow().year
    with app.test_request_context():
        platform = factories.platform()
        factories.platform(status=PlatformStatus.CLOSED)  # closed: not counted
        factories.platform(established_on=date(this_year, 1, 2))  # founded after the year
        for month in (3, 6, 9):
            held(platform.id, datetime(this_year - 2, month, 1, 2, tzinfo=UTC))
        held(platform.id, datetime(this_year - 1, 5, 1, 2, tzinfo=UTC))
        # 31 Dec 17:00 UTC is already New Year's Day in Wuhan: counts for the next year.
        held(platform.id, datetime(this_year - 2, 12, 31, 17, tzinfo=UTC))
        factories.event(platform_id=platform.id, status=EventStatus.CANCELLED,
                        cancel_reason="暴雨预警",
                        starts_at=datetime(this_year - 2, 7, 1, tzinfo=UTC),
                        ends_at=datetime(this_year - 2, 7, 1, 2, tzinfo=UTC))
        issue = factories.issue(platform_id=platform.id)
        change_status(issue, "resolve", actor_id=None, resolution="已增设路灯。",
                      now=datetime(this_year - 2, 8, 1, tzinfo=UTC))
        db.session.commit()


def test_home_defaults_to_the_latest_complete_year_and_switches(app, client):
    seed_two_years(app)
    last, before = utcnow().year - 1, utcnow().year - 2
    page = client.get("/").text
    assert (f"{last}年，全市共建成一线协商平台、社情民意联系点1个，"
            "开展协商议事活动2场次，促进了0个") in page
    page = client.get(f"/?year={before}").text
    assert (f"{before}年，全市共建成一线协商平台、社情民意联系点1个，"
            "开展协商议事活动3场次，促进了1个") in page
    assert f'href="/?year={before}" aria-current="page"' in page
    assert f"{last}年" in client.get("/?year=1850").text  # out of range: the default year


def test_empty_database_shows_zeros_for_this_year(client):
    page = client.get("/")
    assert page.status_code == 200
    assert f"{utcnow().year}年，全市共建成一线协商平台、社情民意联系点0个" in page.text


def test_headline_years_run_newest_first_and_default_to_last_complete(app):
    seed_two_years(app)
    with app.test_request_context():
        years = queries.headline_years()
        assert years == [utcnow().year - 1, utcnow().year - 2]
        assert queries.default_headline_year(years) == utcnow().year - 1


def test_frozen_months_come_from_the_tallies_and_the_rest_from_the_records(app, client):
    """Frozen months print what the annual report prints; months not frozen yet are counted."""
    from consult_hub.tallies import compute

    seed_two_years(app)
    before = utcnow().year - 2
    with app.app_context():
        for month in range(1, 12):  # January to November frozen; December not yet
            compute.freeze_month(date(before, month, 1))
        platform = factories.platform()
        held(platform.id, datetime(before, 4, 1, 2, tzinfo=UTC))  # entered after April froze
        held(platform.id, datetime(before, 12, 5, 2, tzinfo=UTC))  # December: still live
        db.session.commit()
    # 3 events in the frozen months (the late April entry is not among them) + 1 in December;
    # the seed's event at 31 Dec 17:00 UTC falls in the next year, Wuhan time.
    sentence = ("{year}年，全市共建成一线协商平台、社情民意联系点2个，"
                "开展协商议事活动{n}场次，促进了1个")
    assert sentence.format(year=before, n=4) in client.get(f"/?year={before}").text
    with app.app_context():
        compute.freeze_month(date(before, 12, 1))
        compute.freeze_month(date(before, 4, 1))  # April recomputed: the late entry counts now
    page = client.get(f"/?year={before}").text
    assert sentence.format(year=before, n=5) in page
    assert "开展协商议事活动5场次" in client.get(f"/reports/{before}").text


def test_the_figures_are_kept_between_requests_and_follow_every_write(app):
    """Counted once per site version and process, not per request; a new record shows at once."""
    from tests.support.querycount import count_queries

    seed_two_years(app)
    before = utcnow().year - 2
    with app.test_request_context():
        years, figures = queries.home_headline(before)
        assert years == [utcnow().year - 1, before]
        assert (figures.year, figures.platforms, figures.events_held,
                figures.issues_resolved) == (before, 1, 3, 1)
    with count_queries(app) as sql, app.test_request_context():
        assert queries.home_headline(before) == (years, figures)
    # Only the site version was read: no event, problem, platform or tally.
    assert all("site_versions" in statement for statement in sql), str(sql)
    with app.test_request_context():
        platform = factories.platform()
        held(platform.id, datetime(before, 10, 1, 2, tzinfo=UTC))
        db.session.commit()
    with app.test_request_context():
        again = queries.home_headline(before)[1]
    assert (again.platforms, again.events_held) == (2, 4)


def test_the_home_page_shows_a_new_held_event_at_once(app, client):
    seed_two_years(app)
    last = utcnow().year - 1
    assert "开展协商议事活动2场次" in client.get(f"/?year={last}").text
    with app.test_request_context():
        held(factories.platform().id, datetime(last, 8, 1, 2, tzinfo=UTC))
        db.session.commit()
    assert "开展协商议事活动3场次" in client.get(f"/?year={last}").text


def test_the_year_view_prints_the_opinion_and_proposal_sentences(app, client):
    """The seed's 数读 goes on past the platforms: the 社情民意 sentence and the 提案办理回顾
    paragraph, from the year's records, in the reader's language."""
    from tests.reports import cppcc_records as rec

    seed_two_years(app)
    last = utcnow().year - 1
    with app.test_request_context():
        for n in range(4):
            rec.report(submitted=rec.at(last, 3 + n), livelihood=n < 3)
        rec.proposal("closed", year=last, outcome="planned", category="culture")
        rec.proposal("not_accepted", year=last)
        db.session.commit()
    page = client.get(f"/?year={last}").text
    assert "全年报送涉及民生实事的社情民意信息3条，占全年报送信息总数的75%" in page
    assert "共提出提案2件，经审查立案1件" in page
    assert f'href="/proposals/review/{last}"' in page
    # A year without them prints neither.
    assert "提案办理回顾" not in client.get(f"/?year={last - 1}").text
    client.get("/locale/en?next=/")
    english = client.get(f"/?year={last}").text
    assert "2 proposals" in english and "共提出提案" not in english
