"""The issue lifecycle: every allowed transition, the forbidden ones, and the fields each needs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.models import CLOSED_STATUSES, Issue, IssueStatus, IssueUpdate
from consult_hub.issues.operations import change_status
from tests.support import factories

S = IssueStatus
TODAY = date.today()


def valid_values(action: str, department) -> dict:
    """The smallest input each action accepts."""
    return {
        "assign": {"department": department, "due_on": TODAY + timedelta(days=14)},
        "start": {},
        "resolve": {"resolution": "已协调物业增设夜间临时车位 40 个。"},
        "plan": {"planned_on": TODAY + timedelta(days=90)},
        "constrain": {"resolution": "涉及规划调整，短期内难以实施，已向居民说明。"},
        "reject": {"reason": "不属于本平台受理范围，已引导至 12345 热线。"},
        "reopen": {"reason": "居民反映问题仍未解决。"},
        "note": {"note": "已约谈物业公司。"},
        "accept": {"title": "小区夜间停车难", "description": "车位不足，车辆占用消防通道。"},
        "acknowledge": {},
        "reply": {"reply": "已协调物业增设临时车位。", "proposed_status": "resolved"},
        "request_extension": {"requested_due_on": TODAY + timedelta(days=40),
                              "reason": "需要协调规划部门。"},
        "return": {"reason": "不属于本单位职责，建议交办给区城管局。"},
        "approve_extension": {},
        "refuse_extension": {"reason": "期限内可以办结。"},
        "confirm": {},
        "rework": {"reason": "答复没有说明车位数量。"},
    }[action]


# Paths to each status through the transition table itself: from ``received`` (a problem staff
# raised), or from ``pending`` (a resident's submission waiting for review).
PATH_TO = {
    S.PENDING: [],
    S.RECEIVED: [],
    S.ASSIGNED: ["assign"],
    S.ACKNOWLEDGED: ["assign", "acknowledge"],
    S.IN_PROGRESS: ["assign", "start"],
    S.REPLIED: ["assign", "reply"],
    S.PLANNED: ["assign", "plan"],
    S.RESOLVED: ["assign", "resolve"],
    S.CONSTRAINED: ["assign", "constrain"],
    S.REJECTED: ["reject"],
}
# Actions allowed only on what the record holds besides its status: deciding on an extension
# needs a request for one first.
BEFORE = {"approve_extension": ["request_extension"], "refuse_extension": ["request_extension"]}


@pytest.fixture()
def issue_in(ctx):
    """Build a problem and walk it to ``status``; returns (issue, department)."""

    def build(status: IssueStatus, then: tuple[str, ...] = ()) -> tuple[Issue, object]:
        issue = factories.issue(needs_review=status is S.PENDING)
        department = factories.department()
        for action in (*PATH_TO[status], *then):
            change_status(issue, action, actor_id=None, **valid_values(action, department))
        assert issue.status is status
        return issue, department

    return build


ALLOWED = [(status, t.action) for t in lifecycle.TRANSITIONS.values() for status in
           sorted(t.sources, key=lambda s: s.value)]
FORBIDDEN = [(status, t.action) for t in lifecycle.TRANSITIONS.values() for status in S
             if status not in t.sources]


@pytest.mark.parametrize(("status", "action"), ALLOWED, ids=[f"{s.value}-{a}" for s, a in ALLOWED])
def test_allowed_transition_changes_status_and_writes_timeline(issue_in, status, action):
    issue, department = issue_in(status, tuple(BEFORE.get(action, ())))
    updates_before = len(issue.updates)
    update = change_status(issue, action, actor_id=None, **valid_values(action, department))
    db.session.commit()
    expected = {"reopen": S.RECEIVED, "confirm": S.RESOLVED}.get(
        action, lifecycle.TRANSITIONS[action].target or status)
    assert issue.status is expected
    assert len(issue.updates) == updates_before + 1
    stored = db.session.get(IssueUpdate, update.id)
    assert (stored.action, stored.from_status, stored.to_status) == (action, status, expected)
    if expected is S.RESOLVED:
        assert issue.resolved_at is not None
    if expected in CLOSED_STATUSES:
        assert issue.closed_at is not None and issue.resolution


@pytest.mark.parametrize(("status", "action"), FORBIDDEN,
                         ids=[f"{s.value}-{a}" for s, a in FORBIDDEN])
def test_forbidden_transition_is_refused_and_changes_nothing(issue_in, status, action):
    issue, department = issue_in(status)
    db.session.commit()
    updates_before = len(issue.updates)
    with pytest.raises(ValidationFailed) as excinfo:
        change_status(issue, action, actor_id=None, **valid_values(action, department))
    assert "action" in excinfo.value.errors
    assert issue.status is status and len(issue.updates) == updates_before


@pytest.mark.parametrize(
    ("status", "action", "missing"),
    [
        (S.RECEIVED, "assign", "department"),
        (S.RECEIVED, "assign", "due_on"),
        (S.ASSIGNED, "resolve", "resolution"),
        (S.ASSIGNED, "plan", "planned_on"),
        (S.IN_PROGRESS, "constrain", "resolution"),
        (S.RECEIVED, "reject", "reason"),
        (S.RESOLVED, "reopen", "reason"),
        (S.ASSIGNED, "note", "note"),
    ],
)
def test_missing_required_field_is_named(issue_in, status, action, missing):
    issue, department = issue_in(status)
    values = valid_values(action, department)
    values[missing] = "   " if isinstance(values[missing], str) else None
    with pytest.raises(ValidationFailed) as excinfo:
        change_status(issue, action, actor_id=None, **values)
    assert missing in excinfo.value.errors
    assert issue.status is status


def test_due_date_in_the_past_is_refused(issue_in):
    issue, department = issue_in(S.RECEIVED)
    with pytest.raises(ValidationFailed) as excinfo:
        change_status(issue, "assign", actor_id=None, department=department,
                      due_on=TODAY - timedelta(days=30))
    assert "due_on" in excinfo.value.errors
    assert issue.department_id is None


def test_reopen_after_unsatisfied_rating_goes_back_to_triage(issue_in):
    issue, department = issue_in(S.RESOLVED)
    issue.satisfaction, issue.rated_at = "unsatisfied", utcnow()
    change_status(issue, "reopen", actor_id=None, reason="居民不满意：车位仍不够。")
    db.session.commit()
    assert issue.status is S.RECEIVED
    assert issue.resolved_at is None and issue.closed_at is None and issue.satisfaction is None
    # Not overdue on the old date: staff re-assign with a fresh one.
    assert issue.due_on is None and not issue.is_overdue(TODAY + timedelta(days=365))
    assert issue.department_id == department.id
    change_status(issue, "assign", actor_id=None, department=department,
                  due_on=TODAY + timedelta(days=10))
    assert issue.status is S.ASSIGNED


def test_planned_may_later_be_resolved(issue_in):
    issue, department = issue_in(S.PLANNED)
    change_status(issue, "resolve", actor_id=None, resolution="电梯已加装完成并投入使用。")
    db.session.commit()
    assert issue.status is S.RESOLVED


def test_duplicate_links_the_original(issue_in):
    original, _ = issue_in(S.ASSIGNED)
    copy, _ = issue_in(S.RECEIVED)
    change_status(copy, "reject", actor_id=None, reason="与已受理诉求重复。", duplicate_of=original)
    db.session.commit()
    assert copy.duplicate_of_id == original.id and copy.status is S.REJECTED


def test_database_refuses_an_assigned_issue_without_department(issue_in):
    issue, _ = issue_in(S.RECEIVED)
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Issue).where(Issue.id == issue.id).values(status="assigned"))
        db.session.flush()
    db.session.rollback()


def test_overdue_follows_due_and_planned_dates(issue_in):
    assigned, _ = issue_in(S.ASSIGNED)
    planned, _ = issue_in(S.PLANNED)
    resolved, _ = issue_in(S.RESOLVED)
    later = TODAY + timedelta(days=400)
    assert assigned.is_overdue(later) and planned.is_overdue(later)
    assert not assigned.is_overdue(TODAY) and not resolved.is_overdue(later)
