"""A department's contact against another department's problem: refused on every read and
every write, on the pages and through the API; allowed on its own department's.

The write routes of every role are in the access matrix (tests/support/access_issues.py);
here are the reads, the API with bearer tokens, and what the other pages let a department
see (nothing of platforms, events or exports).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from consult_hub.auth.decorators import PUBLIC
from consult_hub.extensions import db
from consult_hub.issues import lifecycle
from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.api import bearer, token_for
from tests.support.auth import csrf_token, signed_in
from tests.support.issues import today

PHONE = "13900001111"


@pytest.fixture()
def two_departments(app):
    """Departments A and B of one district, a contact of each with an API token, and a
    problem assigned to A (with the resident's phone)."""
    with app.app_context():
        district = factories.district()
        platform = factories.platform(district_id=district.id, name="甲社区协商议事室")
        dept_a = factories.department(district_id=district.id, name="甲局")
        dept_b = factories.department(district_id=district.id, name="乙局")
        contact_a = factories.department_user(dept_a.id, username="dept_a")
        contact_b = factories.department_user(dept_b.id, username="dept_b")
        issue = factories.issue(platform_id=platform.id, title="甲局的问题",
                                submitter_phone=PHONE)
        change_status(issue, "assign", actor_id=None, department=dept_a,
                      due_on=today() + timedelta(days=7))
        factories.event(platform_id=platform.id, topic="甲社区的协商活动")
        tokens = {"token_a": token_for(contact_a), "token_b": token_for(contact_b)}
        db.session.commit()
        return {"issue": issue.id, "reference": issue.reference, "version": issue.version,
                "platform": platform.id, **tokens}


def _staff_issue_paths(app, issue_id: int) -> list[tuple[str, str]]:
    """(method, path) of every staff route about one problem, each lifecycle action included."""
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if "issue_id" not in rule.arguments or getattr(view, "access", None) == PUBLIC:
            continue
        path = rule.rule.replace("<int:issue_id>", str(issue_id))
        actions = lifecycle.TRANSITIONS if "<action>" in path else [""]
        for action in actions:
            for method in sorted(rule.methods & {"GET", "POST"}):
                found.append((method, path.replace("<action>", action)))
    return found


def test_another_departments_problem_is_refused_on_every_page(app, two_departments):
    issue_id = two_departments["issue"]
    outsider = signed_in(app, "dept_b")
    token = csrf_token(outsider, "/dashboard")
    paths = _staff_issue_paths(app, issue_id)
    assert ("GET", f"/manage/issues/{issue_id}") in paths
    assert ("POST", f"/manage/issues/{issue_id}/act/acknowledge") in paths
    for method, path in paths:
        answer = outsider.open(path, method=method, data={
            "csrf_token": token, "version": str(two_departments["version"]),
            "reason": "x", "note": "x", "reply": "x", "proposed_status": "resolved"})
        assert answer.status_code in (403, 404), (method, path, answer.status_code)
        assert PHONE not in answer.text
    # Nothing changed, and the list, the search and the dashboard know nothing of it.
    for page in ("/manage/issues/", f"/manage/issues/?q={two_departments['reference']}",
                 "/dashboard"):
        assert "甲局的问题" not in outsider.get(page).text, page
    owner = signed_in(app, "dept_a")
    page = owner.get(f"/manage/issues/{issue_id}").text
    assert "甲局的问题" in page and PHONE in page and "/act/acknowledge" in page


def test_another_departments_problem_is_refused_through_the_api(app, client, two_departments):
    reference, version = two_departments["reference"], two_departments["version"]
    bodies = {"acknowledge": {}, "start": {}, "note": {"note": "已派人查看"},
              "reply": {"reply": "已修复", "proposed_status": "resolved"},
              "return": {"reason": "不是我们的"},
              "request_extension": {"requested_due_on": str(today() + timedelta(days=30)),
                                    "reason": "需要时间"}}
    for action, body in bodies.items():
        answer = client.post(f"/api/v1/issues/{reference}/actions/{action}",
                             json={**body, "version": version},
                             headers=bearer(two_departments["token_b"]))
        assert answer.status_code == 403, (action, answer.json)
    # A department's token takes its own department's actions, and nothing of staff's.
    for action, body in (("assign", {"department_id": 1, "due_on": str(today())}),
                         ("resolve", {"resolution": "x"}), ("reject", {"reason": "x"})):
        answer = client.post(f"/api/v1/issues/{reference}/actions/{action}",
                             json={**body, "version": version},
                             headers=bearer(two_departments["token_a"]))
        assert answer.status_code == 403, action
    answer = client.post(f"/api/v1/issues/{reference}/actions/acknowledge",
                         json={"version": version}, headers=bearer(two_departments["token_a"]))
    assert answer.status_code == 200, answer.json
    assert answer.json["status"] in ("acknowledged", "in_progress")


def test_a_department_sees_nothing_of_platforms_events_and_exports(app, two_departments):
    contact = signed_in(app, "dept_a")
    nav = contact.get("/dashboard").text.split('<nav class="site-nav"')[1].split("</nav>")[0]
    for link in ("/manage/platforms/", "/manage/events/", "/manage/export", "/manage/tokens/"):
        assert f'href="{link}"' not in nav
    for link in ("/dashboard", "/manage/issues/", "/inbox/", "/account/"):
        assert f'href="{link}"' in nav
    # Pages that are not theirs refuse them; reports show them nothing of the district.
    outsider = signed_in(app, "dept_b")
    for path in ("/manage/platforms/", f"/manage/platforms/{two_departments['platform']}",
                 "/manage/events/", "/manage/export/issues.csv", "/manage/issues/new"):
        assert outsider.get(path).status_code == 403, path
    reports = outsider.get("/manage/reports")
    assert reports.status_code == 403 or "甲社区" not in reports.text
    # Lists are not taken away: exports are the platform roles' (exchange/views.py).
    assert contact.get("/manage/export/issues.csv").status_code == 403
