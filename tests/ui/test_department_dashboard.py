"""The department's dashboard (承办单位工作台) and what waits on district staff on theirs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.issues import today as shanghai_today
from tests.support.querycount import count_queries


def build(app: Flask, fn: Any) -> Any:
    with app.app_context():
        result = fn()
        db.session.commit()
        return result


def section(html: str, heading_id: str) -> str:
    start = html.index(f'id="{heading_id}"')
    return html[start:html.find("</section>", start)]


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def _assigned(platform_id: int, department: Any, title: str, due_in: int, *then: str,
              **values: Any) -> Any:
    """A problem assigned a while ago, due ``due_in`` days from today, then walked on."""
    now = utcnow()
    issue = factories.issue(platform_id=platform_id, title=title, now=now - timedelta(days=40))
    change_status(issue, "assign", actor_id=None, department=department,
                  due_on=local_today(now) + timedelta(days=60), now=now - timedelta(days=39))
    for action in then:
        change_status(issue, action, actor_id=None, **values.get(action, {}))
    issue.due_on = local_today(now) + timedelta(days=due_in)
    return issue


def _desk(size: int = 1) -> dict[str, Any]:
    district = factories.district(name="江岸区")
    platform = factories.platform(district_id=district.id, name="百步亭社区议事室")
    water = factories.department(name=f"市水务局{size}" if size > 1 else "市水务局")
    parks = factories.department(district_id=district.id, name="区园林局")
    ids: dict[str, Any] = {"district": district.id}
    for n in range(size):
        ids["new"] = _assigned(platform.id, water, f"新交办的问题{n}", 10).id
        ids["soon"] = _assigned(platform.id, water, f"快到期的问题{n}", 2, "acknowledge").id
        ids["late"] = _assigned(platform.id, water, f"逾期的问题{n}", -4, "start").id
        ids["rework"] = _assigned(
            platform.id, water, f"退回重办的问题{n}", 8, "reply", "rework",
            reply={"reply": "已处理。", "proposed_status": "resolved"},
            rework={"reason": "请说明处理了几处"}).id
        _assigned(platform.id, water, f"已答复的问题{n}", 5, "reply",
                  reply={"reply": "已修复。", "proposed_status": "resolved"})
        _assigned(platform.id, parks, f"园林局的问题{n}", -1)
        factories.issue(platform_id=platform.id, title=f"没交办的问题{n}", source="resident",
                        needs_review=True)
    ids["contact"] = factories.department_user(water.id, username=f"water{size}",
                                               name="赵强").username
    return ids


def test_department_dashboard_lists_what_to_do_most_urgent_first(
        app: Flask, client: FlaskClient, auth: Any) -> None:
    ids = build(app, _desk)
    auth.login(ids["contact"])
    html = client.get("/dashboard").text
    today = shanghai_today()
    assert "赵强 · 承办单位联系人 · 市水务局" in text_of(html)

    new = section(html, "new-h")
    assert "新交办的问题0" in new and f'href="/manage/issues/{ids["new"]}"' in new
    assert '<span class="panel-count is-alert">1</span>' in new
    soon = text_of(section(html, "soon-h"))
    assert "3 天内到期" in soon and "快到期的问题0" in soon and "还剩 2 天" in soon
    assert "新交办的问题0" not in soon  # due in 10 days
    late = text_of(section(html, "overdue-h"))
    assert "逾期的问题0" in late and "逾期 4 天" in late
    assert f"期限 {(today - timedelta(days=4)).isoformat()}" in late
    rework = text_of(section(html, "rework-h"))
    assert "退回重办的问题0" in rework and "退回理由：请说明处理了几处" in rework
    assert "另有 1 个问题已答复，等待区政协确认。" in text_of(html)
    # Another department's problems and submissions waiting for review are not theirs.
    for hidden in ("园林局的问题0", "没交办的问题0", "已答复的问题0"):
        assert hidden not in html
    # The page it links to offers the department's actions.
    page = client.get(f"/manage/issues/{ids['new']}").text
    assert f'action="/manage/issues/{ids["new"]}/act/acknowledge"' in page


def test_department_dashboard_sends_the_same_queries_whatever_the_data(
        app: Flask, client: FlaskClient, auth: Any) -> None:
    def count(username: str) -> int:
        auth.login(username)
        with count_queries(app) as statements:
            assert client.get("/dashboard").status_code == 200
        auth.logout()
        return len(statements)

    small = build(app, lambda: _desk(1))
    large = build(app, lambda: _desk(12))
    assert count(small["contact"]) == count(large["contact"]) <= 14


def test_staff_dashboard_counts_what_waits_on_them_with_links(
        app: Flask, client: FlaskClient, auth: Any, make: Any) -> None:
    def world() -> dict[str, Any]:
        ids = _desk()
        platform = factories.platform(district_id=ids["district"])
        water = factories.department(name="区城管局", district_id=ids["district"])
        _assigned(platform.id, water, "申请延期的问题", 3, "request_extension",
                  request_extension={"requested_due_on": local_today(utcnow())
                                     + timedelta(days=90), "reason": "需要采购"})
        _assigned(platform.id, water, "退回的问题", 3, "return",
                  **{"return": {"reason": "不是本单位的"}})
        elsewhere = factories.platform()  # another district: not counted here
        factories.issue(platform_id=elsewhere.id, source="resident", needs_review=True)
        return ids

    ids = build(app, world)
    staff = make("user", role="district_admin", district_id=ids["district"])
    auth.login(staff.username)
    waiting = section(client.get("/dashboard").text, "waiting-h")
    counts = dict(re.findall(r'<a href="([^"]+)">[^<]+</a> <span class="panel-count[^"]*">(\d+)<',
                             waiting))
    assert counts == {"/manage/issues/?status=pending": "1",
                      "/manage/issues/?status=replied": "1",
                      "/manage/issues/?waiting=extension": "1",
                      "/manage/issues/?waiting=returned": "1"}
    for link, title in (("/manage/issues/?status=pending", "没交办的问题0"),
                        ("/manage/issues/?waiting=extension", "申请延期的问题"),
                        ("/manage/issues/?waiting=returned", "退回的问题")):
        listed = client.get(link).text
        assert title in listed, link
        assert listed.count('class="issue-title"') == 1, link
