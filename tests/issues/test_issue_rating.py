"""The resident's satisfaction rating: the operation's rules, and staff recording it by phone."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from consult_hub.core.errors import ValidationFailed
from consult_hub.extensions import db
from consult_hub.issues.models import Issue, IssueStatus, IssueUpdate, Satisfaction
from consult_hub.issues.operations import rate_issue
from consult_hub.models import AuditLog
from tests.support import factories
from tests.support.issues import act, form_state, stored, walk
from tests.support.pages import page_text


@pytest.fixture()
def closed(ctx):
    """Build a problem and walk it through ``actions``; returns it, in the session."""

    def build(*actions: str) -> Issue:
        issue = factories.issue()
        department = factories.department()
        db.session.commit()
        walk(issue.id, *actions, department_id=department.id)
        return db.session.get(Issue, issue.id)

    return build


def test_rating_a_resolved_problem_is_stored_once_and_shown_publicly(closed):
    issue = closed("assign", "resolve")
    update = rate_issue(issue, "basically", None, note="张女士说夜里还是有车乱停")
    db.session.commit()
    assert issue.satisfaction is Satisfaction.BASICALLY and issue.rated_at is not None
    assert (update.action, update.is_public, update.note) == ("rate", True,
                                                              "居民评价：基本满意")
    assert update.from_status is update.to_status is IssueStatus.RESOLVED
    comment = issue.updates[-1]
    assert (comment.action, comment.is_public, comment.note) == (
        "note", False, "张女士说夜里还是有车乱停")  # may name the resident: internal
    audit = db.session.scalars(sa.select(AuditLog).where(AuditLog.action == "issue_rate")).one()
    assert audit.changes == {"satisfaction": [None, "basically"]}
    with pytest.raises(ValidationFailed) as again:
        rate_issue(issue, "satisfied", None)
    assert "不能重复评价" in again.value.errors["satisfaction"]
    assert issue.satisfaction is Satisfaction.BASICALLY


def test_constrained_problems_can_be_rated(closed):
    issue = closed("assign", "constrain")
    rate_issue(issue, Satisfaction.UNSATISFIED, None)
    assert issue.satisfaction is Satisfaction.UNSATISFIED


@pytest.mark.parametrize("actions", [(), ("assign",), ("assign", "plan"), ("reject",)])
def test_only_resolved_or_constrained_problems_can_be_rated(closed, actions):
    issue = closed(*actions)
    updates = len(issue.updates)
    with pytest.raises(ValidationFailed) as refused:
        rate_issue(issue, "satisfied", None)
    assert "办结后才能评价" in refused.value.errors["satisfaction"]
    assert issue.satisfaction is None and len(issue.updates) == updates


def test_unknown_rating_is_refused(closed):
    issue = closed("assign", "resolve")
    with pytest.raises(ValidationFailed) as refused:
        rate_issue(issue, "delighted", None)
    assert refused.value.errors == {"satisfaction": "请选择评价"}


def test_reopening_clears_the_rating_so_the_next_outcome_can_be_rated(closed):
    issue = closed("assign", "resolve")
    rate_issue(issue, "unsatisfied", None)
    db.session.commit()
    walk(issue.id, "reopen", "assign", "resolve", department_id=issue.department_id)
    rate_issue(issue, "satisfied", None)
    ratings = [u.note for u in issue.updates if u.action == "rate"]
    assert ratings == ["居民评价：不满意", "居民评价：满意"]


# --- By phone, through the page ---------------------------------------------------------------


def rate_page(client, issue_id: int, **data):
    """Post the rating form as the page serves it."""
    html = client.get(f"/manage/issues/{issue_id}").text
    form = html.split(f'action="/manage/issues/{issue_id}/satisfaction"')[1].split("</form>")[0]
    fields = dict(re.findall(r'<input[^>]*name="(version|seen|csrf_token)"[^>]*value="([^"]*)"',
                             form))
    return client.post(f"/manage/issues/{issue_id}/satisfaction", data={**fields, **data})


def test_staff_record_a_rating_by_phone(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", "resolve", department_id=place.department_id)
    auth.login("zhanghui")  # the coordinator makes the follow-up call
    answer = rate_page(client, issue.id, satisfaction="satisfied", note="")
    assert answer.status_code == 303
    assert stored(app, issue.id).satisfaction is Satisfaction.SATISFIED
    html = client.get(f"/manage/issues/{issue.id}").text
    assert "居民评价：满意" in page_text(html)
    assert f'action="/manage/issues/{issue.id}/satisfaction"' not in html  # once only


def test_missing_rating_is_named_and_nothing_is_stored(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", "resolve", department_id=place.department_id)
    auth.login("wangli")
    answer = rate_page(client, issue.id, note="打了两次没人接")
    assert answer.status_code == 422
    assert re.search(r'id="rate-satisfaction-error">\s*<p>请选择评价</p>', answer.text)
    assert "打了两次没人接" in answer.text
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(IssueUpdate.id)).where(
            IssueUpdate.issue_id == issue.id, IssueUpdate.action.in_(("rate", "note")))) == 0


def test_unsatisfied_rating_offers_reopening(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", "resolve", department_id=place.department_id)
    auth.login("wangli")
    answer = rate_page(client, issue.id, satisfaction="unsatisfied")
    assert answer.status_code == 303 and answer.headers["Location"].endswith("#act-reopen")
    html = client.get(answer.headers["Location"]).text
    assert "居民对办理结果不满意" in html
    assert re.search(r'id="act-reopen" open>', html)
    assert act(client, issue.id, "reopen", reason="回访不满意").status_code == 303
    assert stored(app, issue.id).status is IssueStatus.RECEIVED


def test_rating_an_open_problem_through_the_page_is_refused(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    auth.login("wangli")
    state = form_state(client, issue.id, "note")
    answer = client.post(f"/manage/issues/{issue.id}/satisfaction",
                         data={**state, "satisfaction": "satisfied"})
    assert answer.status_code == 422
    assert "办结后才能评价" in answer.text
    assert stored(app, issue.id).satisfaction is None


def test_other_coordinator_cannot_rate(app, client, auth, place, make):
    issue = make("issue", platform_id=place.platform_id)
    with app.app_context():
        walk(issue.id, "assign", "resolve", department_id=place.department_id)
    auth.login("lisi")
    token_page = client.get("/manage/issues/").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', token_page).group(1)
    answer = client.post(f"/manage/issues/{issue.id}/satisfaction",
                         data={"csrf_token": token, "satisfaction": "satisfied", "version": "3"})
    assert answer.status_code == 403
    assert stored(app, issue.id).satisfaction is None
