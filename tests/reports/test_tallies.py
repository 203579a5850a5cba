"""Monthly tallies: the definitions of docs/metrics.md, frozen idempotently, scopes agreeing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.events.models import EventStatus
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from consult_hub.tallies import compute
from consult_hub.tallies.models import COUNTS, MonthlyTally, TallyScope
from tests.support import factories

NOV = date(2024, 11, 1)


def at(day: int, hour: int = 2, month: int = 11) -> datetime:
    return datetime(2024, month, day, hour, tzinfo=UTC)


def held(platform_id: int, when: datetime, **kwargs):
    return factories.event(platform_id=platform_id, starts_at=when,
                           ends_at=when + timedelta(hours=2), status=EventStatus.HELD, **kwargs)


@pytest.fixture()
def november(ctx):
    """Two districts with known activity in November 2024 (Wuhan time)."""
    d1, d2 = factories.district(), factories.district()
    p1 = factories.platform(district_id=d1.id, is_demonstration=True, demonstration_year=2023)
    p2 = factories.platform(district_id=d1.id, established_on=date(2024, 11, 5))
    p3 = factories.platform(district_id=d2.id)
    member = factories.member()
    first = held(p1.id, at(3), resident_count=12)
    first.attendees.append(member)
    held(p1.id, at(30, 15), category="economy")  # 30 Nov 23:00 in Wuhan: still November
    held(p3.id, at(30, 17))  # 1 Dec 01:00 in Wuhan: December
    factories.event(platform_id=p2.id, starts_at=at(10), ends_at=at(10, 4),
                    status=EventStatus.CANCELLED, cancel_reason="暴雨")
    department = factories.department()
    quick = factories.issue(platform_id=p1.id, now=at(1))
    change_status(quick, "resolve", actor_id=None, resolution="已处理。", now=at(11))
    quick.satisfaction, quick.rated_at = "satisfied", at(12)
    slow = factories.issue(platform_id=p1.id, now=at(2))
    change_status(slow, "assign", actor_id=None, department=department,
                  due_on=date(2100, 1, 1), now=at(2))
    slow.due_on = date(2024, 11, 15)  # overdue at month end
    planned = factories.issue(platform_id=p3.id, now=at(4))
    change_status(planned, "assign", actor_id=None, department=department,
                  due_on=date(2100, 1, 1), now=at(4))
    change_status(planned, "plan", actor_id=None, planned_on=date(2100, 6, 1), now=at(20))
    factories.issue(platform_id=p3.id, now=at(1, month=12))  # December
    db.session.commit()
    return d1, d2, p1, p2, p3


def test_city_figures_follow_the_definitions(november):
    metrics = compute.compute_month(NOV)["city"][1]
    expected = {
        "platforms_total": 3, "platforms_new": 1, "platforms_active": 1,
        "platforms_demonstration": 1, "events_held": 2, "events_cancelled": 1,
        "member_attendance": 1, "resident_attendance": 12, "issues_raised": 3,
        "issues_resolved": 1, "issues_planned": 1, "issues_constrained": 0,
        "issues_rejected": 0, "issues_backlog_end": 2, "issues_overdue_end": 1,
        "satisfaction_rated": 1, "satisfaction_satisfied": 1,
    }
    assert {k: metrics[k] for k in expected} == expected
    assert metrics["resolution_share"] == 0.5  # 1 resolved of 1 resolved + 1 planned
    assert metrics["median_days_to_resolve"] == 10.0
    assert metrics["satisfaction_share"] == 1.0
    assert metrics["events_held.category.economy"] == 1
    assert metrics["events_held.category.society"] == 1
    assert metrics["issues_raised.kind.doorstep"] == 3


def test_districts_and_platforms_add_up_to_the_city(november):
    result = compute.compute_month(NOV)
    city = result["city"][1]
    districts = [m for key, (_s, m) in result.items() if key.startswith("district:")]
    platforms = [m for key, (_s, m) in result.items() if key.startswith("platform:")]
    for name in COUNTS:
        assert sum(m[name] for m in districts) == city[name] == sum(m[name] for m in platforms)


def test_a_set_of_districts_counts_exactly_as_they_do_in_the_whole(november):
    """One city's districts in a database holding many: the same figures as the full count."""
    d1, d2, p1, p2, p3 = november
    whole = compute.compute_month(NOV)
    only_d2 = compute.compute_month(NOV, district_ids=[d2.id])
    assert set(only_d2) == {"city", f"district:{d2.id}", f"platform:{p3.id}"}
    assert only_d2[f"district:{d2.id}"][1] == whole[f"district:{d2.id}"][1]
    assert only_d2["city"][1] == whole[f"district:{d2.id}"][1]
    assert only_d2[f"platform:{p3.id}"][1] == whole[f"platform:{p3.id}"][1]
    assert only_d2["city"][1]["issues_planned"] == 1  # p3's problem planned in November
    assert only_d2["city"][1]["events_held"] == 0  # p3's event falls in December, Wuhan time
    only_d1 = compute.compute_month(NOV, district_ids=[d1.id])
    assert only_d1["city"][1] == whole[f"district:{d1.id}"][1]
    assert only_d1["city"][1]["events_held"] == 2


def test_freeze_is_idempotent(november):
    first = compute.freeze_month(NOV)
    rows = db.session.scalar(sa.select(sa.func.count(MonthlyTally.id)))
    again = compute.freeze_month(NOV)
    assert first == again
    # The city, two districts, three platforms and the one department that was assigned work.
    assert db.session.scalar(sa.select(sa.func.count(MonthlyTally.id))) == rows == 1 + 2 + 3 + 1
    assert compute.frozen_city(NOV) == first


def test_frozen_rows_store_only_what_is_not_empty_and_read_back_whole(november):
    computed = compute.compute_month(NOV)
    compute.freeze_month(NOV)
    db.session.expire_all()
    stored = {row.scope_key: row.metrics for row in db.session.scalars(sa.select(MonthlyTally))
              if row.scope is not TallyScope.DEPARTMENT}  # tests/reports/test_department_tallies
    assert stored == {key: metrics for key, (_scope, metrics) in computed.items()}
    raw = dict(db.session.execute(sa.text("SELECT scope_key, CAST(metrics AS TEXT) "
                                          "FROM monthly_tallies")).all())
    quiet = next(key for key, (_s, m) in computed.items()
                 if key.startswith("platform:") and m["events_held"] == 0)
    assert '"events_held"' not in raw[quiet] and "null" not in raw[quiet]
    assert '"platforms_total": 1' in raw[quiet] or '"platforms_total":1' in raw[quiet]
    assert len(raw[quiet]) < len(str(computed[quiet][1])) // 4
    # A share of 0 is a figure, not a missing one: it survives the round trip.
    shares = {key: m["resolution_share"] for key, (_s, m) in computed.items()}
    assert {key: m["resolution_share"] for key, m in stored.items()} == shares


def test_catch_up_freezes_missing_complete_months_only(november):
    now = datetime(2024, 12, 15, tzinfo=UTC)
    missing = compute.months_to_freeze(now)
    assert missing[0] == date(2023, 1, 1) and missing[-1] == NOV  # not the current month
    assert compute.catch_up(now) == missing
    assert compute.months_to_freeze(now) == []
    assert compute.catch_up(now) == []


def test_tally_commands(app, runner, november):
    shown = runner.invoke(args=["tally", "show", "2024-11"])
    assert shown.exit_code == 0 and "computed live" in shown.output
    result = runner.invoke(args=["tally", "compute", "2024-11"])
    assert result.exit_code == 0, result.output
    assert "events_held                  2" in result.output
    shown = runner.invoke(args=["tally", "show", "2024-11"])
    assert "computed live" not in shown.output and "events_held                  2" in shown.output
    bad = runner.invoke(args=["tally", "compute", "November"])
    assert bad.exit_code == 2 and "2024-11" in bad.output


def test_sums_without_the_platforms_are_the_same_sums(november):
    whole = compute.compute_month(NOV)
    sums = compute.compute_month(NOV, platforms=False)
    assert not any(key.startswith("platform:") for key in sums)
    assert {key: metrics for key, (_s, metrics) in sums.items()} == {
        key: metrics for key, (_s, metrics) in whole.items() if not key.startswith("platform:")}
