"""The demo-data generator: `flask demo load` at small scale, its promises, and the city once."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskCliRunner

from consult_hub.auth.models import Role
from consult_hub.core.prose import stored_html
from consult_hub.core.timefmt import local_today
from consult_hub.demo.generate import DemoRefused, load_demo, parse_scale
from consult_hub.extensions import db
from consult_hub.issues.lifecycle import TRANSITIONS
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    DEPARTMENT_STATUSES,
    DUE_STATUSES,
    PROPOSABLE_STATUSES,
    IssueSource,
)
from consult_hub.issues.operations import create_issue
from consult_hub.issues.privacy import found, public_text_errors
from consult_hub.main.queries import headline_figures
from consult_hub.models import (
    Area,
    AuditLog,
    Event,
    EventStatus,
    Issue,
    IssueStatus,
    IssueUpdate,
    Member,
    Platform,
    ReferenceCounter,
    User,
)
from tests.support.auth import AuthActions

NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)  # 10:00 in Wuhan
LOGINS = (("admin", "admin-demo-2024"), ("district", "district-demo-2024"),
          ("coordinator", "coordinator-demo-2024"), ("department", "department-demo-2024"))


def load(app: Flask, platforms: int = 12, seed: int = 7, **kwargs):
    with app.app_context():
        return load_demo(platforms=platforms, seed=seed, year=2024,
                         force=kwargs.pop("force", True), now=kwargs.pop("now", NOW), **kwargs)


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def digest() -> str:
    """A fingerprint of what the demo generated (not of secrets such as password hashes)."""
    queries = [
        sa.select(Area.code, Area.name, Area.parent_id).order_by(Area.id),
        sa.select(Platform.id, Platform.name, Platform.address, Platform.latitude,
                  Platform.longitude, Platform.established_on, Platform.demonstration_year,
                  Platform.status).order_by(Platform.id),
        sa.select(Member.id, Member.name, Member.sector, Member.level).order_by(Member.id),
        sa.select(User.id, User.username, User.name, User.role).order_by(User.id),
        sa.select(Event.id, Event.platform_id, Event.topic, Event.starts_at, Event.status,
                  Event.minutes, Event.outcome, Event.held_at).order_by(Event.id),
        sa.select(Issue.id, Issue.reference, Issue.title, Issue.description, Issue.status,
                  Issue.resolved_at, Issue.due_on, Issue.satisfaction, Issue.tracking_token,
                  Issue.submitter_phone).order_by(Issue.id),
        sa.select(IssueUpdate.id, IssueUpdate.issue_id, IssueUpdate.action, IssueUpdate.to_status,
                  IssueUpdate.note, IssueUpdate.created_at).order_by(IssueUpdate.id),
    ]
    hasher = hashlib.sha256()
    for query in queries:
        for row in db.session.execute(query):
            hasher.update(repr(tuple(row)).encode())
    return hasher.hexdigest()


@pytest.mark.parametrize(("text", "platforms"), [("city", 1006), (" City ", 1006), ("30", 30),
                                                 ("1", 1)])
def test_parse_scale(text: str, platforms: int) -> None:
    assert parse_scale(text) == platforms


@pytest.mark.parametrize("text", ["", "0", "-3", "1.5", "town", "1e3"])
def test_parse_scale_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="'city'"):
        parse_scale(text)


def test_cli_loads_a_small_city_and_prints_the_logins(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--scale", "30", "--seed", "3", "--year", "2024"])
    assert result.exit_code == 0, result.output
    for username, password in LOGINS:
        assert username in result.output and password in result.output
    assert "platforms 30" in result.output  # a progress line
    with app.app_context():
        figures = headline_figures(2024)
        assert (figures.platforms, figures.events_held) == (30, round(1220 * 30 / 1006))
        assert figures.issues_resolved >= round(1330 * 30 / 1006)
        assert count(Platform) == 30


def test_bad_scale_is_a_usage_error(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--scale", "huge"])
    assert result.exit_code == 2
    assert "--scale" in result.output


def test_future_year_is_a_usage_error_naming_the_option(runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--scale", "3", "--year", "2999"])
    assert result.exit_code == 2
    assert "--year" in result.output and "has not begun" in result.output


@pytest.mark.parametrize("command", [["demo", "load", "--scale", "3"], ["scheduler", "sweep"]])
@pytest.mark.parametrize("moment", ["2026-11-28T10:00", "yesterday", ""])
def test_a_moment_without_its_zone_is_a_usage_error_naming_the_option(
        app: Flask, runner: FlaskCliRunner, command: list[str], moment: str) -> None:
    result = runner.invoke(args=[*command, "--now", moment])
    assert result.exit_code == 2
    assert "--now" in result.output and "ISO 8601" in result.output
    with app.app_context():
        assert count(Platform) == 0 and count(AuditLog) == 0  # nothing loaded or run


def test_the_moment_given_is_the_demos_now(app: Flask, runner: FlaskCliRunner) -> None:
    result = runner.invoke(args=["demo", "load", "--scale", "3", "--year", "2025",
                                 "--now", "2025-03-01T09:30:00+08:00"])
    assert result.exit_code == 0, result.output
    moment = datetime(2025, 3, 1, 1, 30, tzinfo=UTC)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.max(Issue.updated_at))) <= moment
        planned = db.session.scalars(sa.select(Event.starts_at).where(
            Event.status == EventStatus.PLANNED)).all()
        # Planned events lie around that moment: a few past ones await minutes, the rest
        # are the coming weeks'.
        assert any(starts > moment for starts in planned)
        assert all(moment - timedelta(days=30) < starts < moment + timedelta(days=60)
                   for starts in planned)


def test_logins_command_prints_only_working_demo_accounts(runner: FlaskCliRunner) -> None:
    assert "No demo accounts" in runner.invoke(args=["demo", "logins"]).output
    assert runner.invoke(args=["demo", "load", "--scale", "3"]).exit_code == 0
    output = runner.invoke(args=["demo", "logins"]).output
    for username, password in LOGINS:
        assert f"{username} " in output and password in output


def test_refuses_a_database_with_data_and_changes_nothing(app: Flask, runner: FlaskCliRunner,
                                                          make: Callable[..., Any]) -> None:
    make("user", username="someone")
    with app.app_context():
        before = {table.name: count(table) for table in db.metadata.sorted_tables}
    result = runner.invoke(args=["demo", "load", "--scale", "5"])
    assert result.exit_code == 1
    assert "--force" in result.output
    with app.app_context():
        with pytest.raises(DemoRefused, match="--force"):
            load_demo(platforms=5, seed=1, year=2024, force=False, now=NOW)
        assert {table.name: count(table) for table in db.metadata.sorted_tables} == before
        assert db.session.scalars(sa.select(User.username)).all() == ["someone"]


def test_force_wipes_everything_first(app: Flask, runner: FlaskCliRunner,
                                      make: Callable[..., Any]) -> None:
    make("issue")
    make("user", username="someone")
    result = runner.invoke(args=["demo", "load", "--scale", "8", "--force"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert count(Platform) == 8
        assert db.session.scalar(sa.select(User.id).where(User.username == "someone")) is None
        leftovers = sa.select(Platform.id).where(Platform.name.like("测试%"))
        assert count(leftovers.subquery()) == 0


def test_same_seed_gives_the_same_data(app: Flask) -> None:
    load(app, seed=7)
    with app.app_context():
        first = digest()
    load(app, seed=7)
    with app.app_context():
        assert digest() == first
    load(app, seed=8)
    with app.app_context():
        assert digest() != first


@pytest.mark.parametrize("platforms", [1, 5])
def test_tiny_scales_work(app: Flask, platforms: int) -> None:
    messages: list[str] = []
    report = load(app, platforms=platforms, progress=messages.append)
    assert f"platforms {platforms}, users" in "\n".join(messages)
    assert "coordinator-demo-2024" in report.text()
    with app.app_context():
        assert headline_figures(2024).platforms == platforms


def test_a_year_that_has_not_begun_is_refused(app: Flask) -> None:
    with app.app_context(), pytest.raises(ValueError, match="2027"):
        load_demo(platforms=5, seed=1, year=2027, force=True, now=NOW)


def test_issue_timelines_follow_the_lifecycle(app: Flask) -> None:
    load(app, platforms=40)
    with app.app_context():
        issues = db.session.scalars(sa.select(Issue).order_by(Issue.id)).all()
        assert len(issues) > 100
        for issue in issues:
            check_timeline(issue)


def check_timeline(issue: Issue) -> None:
    """Each step starts where the last ended, is allowed from there, and time moves forward."""
    first, *rest = issue.updates
    assert first.action == "receive"
    # A resident's own submission waits for review; what staff record is received at once.
    waits = issue.source is IssueSource.RESIDENT
    assert (first.from_status, first.to_status) == (
        None, IssueStatus.PENDING if waits else IssueStatus.RECEIVED)
    assert first.created_at == issue.created_at
    status, last_time = first.to_status, first.created_at
    for update in rest:
        transition = TRANSITIONS[update.action]
        assert update.from_status == status, issue.reference
        assert update.from_status in transition.sources, (issue.reference, update.action)
        assert transition.target in (None, update.to_status)
        if update.action == "confirm":
            assert update.to_status in PROPOSABLE_STATUSES
        assert update.created_at >= last_time, issue.reference
        if update.action != "note":  # a note's visibility is the note-taker's choice
            assert update.is_public == transition.is_public, (issue.reference, update.action)
        status, last_time = update.to_status, update.created_at
    assert status == issue.status
    assert issue.updated_at >= last_time
    if status is IssueStatus.RESOLVED:
        last_resolve = [u for u in issue.updates if u.to_status is IssueStatus.RESOLVED][-1]
        assert last_resolve.action in ("resolve", "confirm")
        assert issue.resolved_at == last_resolve.created_at
    if status in CLOSED_STATUSES:
        assert issue.resolution and issue.closed_at
    if status in DEPARTMENT_STATUSES:
        assert issue.department_id and issue.due_on and issue.assigned_at
    if status in (IssueStatus.ACKNOWLEDGED, IssueStatus.IN_PROGRESS, IssueStatus.REPLIED) and \
            issue.department_id:
        assert issue.acknowledged_at and issue.acknowledged_at >= issue.assigned_at
    if status is IssueStatus.REPLIED:
        assert issue.reply and issue.proposed_status in PROPOSABLE_STATUSES and issue.replied_at
    check_publication(issue)
    if issue.satisfaction is not None:
        assert status in CLOSED_STATUSES and issue.rated_at >= issue.closed_at
    if issue.duplicate_of_id is not None:
        assert issue.duplicate_of_id < issue.id and status is IssueStatus.REJECTED
        assert issue.duplicate_of.reference in issue.resolution
    if issue.event_id is not None:
        assert issue.event.platform_id == issue.platform_id
        assert issue.event.status in (EventStatus.HELD, EventStatus.CONCLUDED)


def check_publication(issue: Issue) -> None:
    """Published when recorded by staff or accepted at review; the public text holds no
    phone or ID number; a resident's own words stay as they wrote them."""
    actions = [u.action for u in issue.updates]
    if issue.source is not IssueSource.RESIDENT:
        assert issue.published_at == issue.created_at
    elif "accept" in actions:
        accepted = issue.updates[actions.index("accept")]
        assert issue.published_at == accepted.created_at
        assert accepted.created_at - issue.created_at <= timedelta(days=3), issue.reference
        assert issue.submitted_title and issue.submitted_text
    else:  # waiting for review, or refused at review: never published
        assert issue.published_at is None, issue.reference
        assert issue.status in (IssueStatus.PENDING, IssueStatus.REJECTED)
        assert (issue.title, issue.description) == (issue.submitted_title, issue.submitted_text)
    if issue.published_at is not None:
        assert public_text_errors({"title": issue.title, "description": issue.description}) == {}


def test_residents_submissions_wait_for_review_and_are_published_without_contacts(
        app: Flask) -> None:
    load(app, platforms=40)
    with app.app_context():
        issues = db.session.scalars(sa.select(Issue)).all()
        pending = [i for i in issues if i.status is IssueStatus.PENDING]
        district = db.session.scalar(sa.select(User).where(User.username == "district"))
        # A handful wait for the demo district's staff, one with a phone number to spot.
        assert 3 <= len(pending) <= 12
        assert sum(i.district_id == district.district_id for i in pending) >= 3
        assert any(found(i.submitted_text) & {"phone"} for i in pending
                   if i.district_id == district.district_id)
        assert all(i.created_at > NOW - timedelta(days=4) for i in pending)
        published = [i for i in issues if i.published_at is not None]
        assert len(published) >= 0.95 * len(issues)
        # Residents wrote their phone numbers; staff published the problem without them.
        accepted = [i for i in published if i.submitted_text]
        assert any("phone" in found(i.submitted_text) for i in accepted)
        assert not any(found(i.title + i.description) & {"phone", "id_number"}
                       for i in published)


def test_demo_department_has_a_queue(app: Flask) -> None:
    load(app, platforms=6)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "department"))
        assert user.role is Role.DEPARTMENT
        assert user.department.district.name == "江岸区"
        mine = db.session.scalars(sa.select(Issue).where(
            Issue.department_id == user.department_id)).all()
        today = local_today(NOW)
        open_ = [i for i in mine if i.status in DEPARTMENT_STATUSES]
        new = [i for i in open_ if i.status is IssueStatus.ASSIGNED]
        due_soon = [i for i in open_ if i.status in DUE_STATUSES
                    and today <= i.due_on <= today + timedelta(days=3)]
        overdue = [i for i in open_ if i.status in DUE_STATUSES and i.due_on < today]
        rework = [i for i in open_ if i.status is IssueStatus.IN_PROGRESS and i.rework_reason]
        assert len(new) >= 3 and due_soon and overdue and rework
        # … and things for the district's staff to decide: a reply to confirm, more time asked.
        assert any(i.status is IssueStatus.REPLIED for i in mine)
        assert any(i.requested_due_on and i.extension_reason for i in open_)
        # The department's own steps are by its contact, the demo login.
        for issue in mine:
            for update in issue.updates:
                if update.action in ("acknowledge", "start", "reply", "request_extension"):
                    assert update.actor_id == user.id


def test_events_are_consistent(app: Flask) -> None:
    load(app, platforms=40)
    with app.app_context():
        for event in db.session.scalars(sa.select(Event)):
            assert event.ends_at > event.starts_at
            if event.status in (EventStatus.HELD, EventStatus.CONCLUDED):
                assert event.minutes and event.opinions and event.held_at <= NOW
                assert event.starts_at.date() >= event.platform.established_on - timedelta(days=1)
                assert {m.id for m in event.attendees} <= {m.id for m in event.platform.members}
            if event.status is EventStatus.CONCLUDED:
                assert event.outcome and event.concluded_at <= NOW
            if event.status is EventStatus.CANCELLED:
                assert event.cancel_reason
            # Loaded in bulk, yet with the HTML a form would have stored (core/prose.py).
            for name in ("agenda", "minutes", "opinions", "outcome"):
                assert getattr(event, f"{name}_html") == stored_html(getattr(event, name))
        for platform in db.session.scalars(sa.select(Platform)):
            assert platform.description_html == stored_html(platform.description)


def test_receipts_continue_after_the_demo(app: Flask) -> None:
    load(app, platforms=10)
    with app.app_context():
        references = set(db.session.scalars(sa.select(Issue.reference)))
        counters = dict(db.session.execute(sa.select(ReferenceCounter.prefix,
                                                     ReferenceCounter.last_value)).all())
        assert counters["WH26"] == max(int(r[5:]) for r in references if r.startswith("WH26-"))
        platform = db.session.scalars(sa.select(Platform).order_by(Platform.id)).first()
        issue = create_issue(platform=platform, title="楼道灯不亮",
                             description="三楼楼道灯坏了一周。",
                             kind="doorstep", category="society", source="resident", now=NOW)
        db.session.commit()  # ids continue too (PostgreSQL sequences were moved on)
        assert issue.reference == f"WH26-{counters['WH26'] + 1:05d}"
        assert issue.reference not in references
        assert count(AuditLog) >= 2


def test_ids_never_go_back_after_a_load(app: Flask) -> None:
    """PostgreSQL's sequences are moved past the demo's ids, never below where they were: a
    sequence is not rolled back with a transaction, and rows written with their ids since (a
    backup restored, a test's world put back) would otherwise meet their ids again."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite takes the next id from the table itself")
        db.session.execute(sa.text(
            "SELECT setval(pg_get_serial_sequence('audit_log', 'id'), 50000)"))
        db.session.commit()
    load(app, platforms=5)
    with app.app_context():
        assert count(AuditLog) < 1000
        next_id = db.session.scalar(sa.text(
            "SELECT nextval(pg_get_serial_sequence('audit_log', 'id'))"))
        assert next_id > 50000


def test_demo_users_can_sign_in(app: Flask) -> None:
    load(app, platforms=6)
    for username, password in LOGINS:
        auth = AuthActions(app.test_client())
        assert auth.login(username, password).status_code == 302, username
    assert AuthActions(app.test_client()).login("admin", "wrong-password").status_code == 200
    with app.app_context():
        staff = sa.select(User.username).where(User.username.like("staff%"))
        placeholder = db.session.scalar(staff)
    assert AuthActions(app.test_client()).login(placeholder, "").status_code == 200
