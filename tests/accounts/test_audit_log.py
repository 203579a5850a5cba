"""The audit log page: admins only, newest first, filtered and paginated."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from consult_hub.extensions import db
from consult_hub.models import AuditLog
from tests.support.world import AUDIT_T0 as T0
from tests.support.world import add_audit_rows as add_rows

pytestmark = pytest.mark.world("audit")  # tests/support/world.py


def entries(html: str) -> list[str]:
    """The text of each entry on the page, in order."""
    return [re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", item)).strip()
            for item in re.findall(r'<li class="audit-entry[^"]*">(.*?)</li>', html, re.S)]


def test_admin_sees_who_changed_what_newest_first(client: FlaskClient,
                                                  world: dict[str, Any]) -> None:
    page = client.get("/manage/audit/?date_to=2026-03-31")
    assert page.status_code == 200
    html = page.text
    found = entries(html)
    assert len(found) == 4
    # Local time.
    assert found[0].startswith("2026-03-02 01:00:00 王丽 wangli 交办 issue_assign 问题 #")
    assert "status received assigned" in found[0] and "due_on — 2026-03-20" in found[0]
    assert "IP 10.1.2.3" in found[0] and "iPhone" in found[0]
    assert f'<a href="/manage/issues/{world["issue"]}">#{world["issue"]}</a>' in html
    assert f'<a href="/manage/platforms/{world["platform"]}">#{world["platform"]}</a>' in html
    assert "address 中山大道1号 中山大道203号" in found[2]
    # The refusal stands out, and shows what was asked for.
    assert '<li class="audit-entry is-denied">' in html and html.count("is-denied") == 1
    assert "拒绝访问" in found[1] and "target role:admin" in found[1]
    assert "<th scope=\"col\">原值</th>" in html


@pytest.mark.parametrize(("query", "expected"), [
    ("actor=wangli", ["issue_assign", "platform_update"]),
    ("actor=WangLi", ["issue_assign", "platform_update"]),
    ("actor=zhang*", ["access_denied", "issue_note"]),
    ("action=issue_assign", ["issue_assign"]),
    ("action=issue", []),  # whole codes only, unless asked for a prefix
    ("action=issue_*", ["issue_assign", "issue_note"]),
    ("entity_type=platforms", ["platform_update"]),
    ("entity_type=issues&entity_id={issue}", ["issue_assign", "issue_note"]),
    ("entity_type=issues&entity_id=999999", []),
    ("ip=10.1.2.3", ["issue_assign"]),
    ("ip=10.1.*", ["issue_assign", "platform_update"]),
    # Local dates: T0 is 2 March in Shanghai though 1 March in UTC.
    ("date_from=2026-03-02&date_to=2026-03-02", ["issue_assign"]),
    ("date_from=2026-03-01&date_to=2026-03-01", ["access_denied"]),
    ("date_to=2026-02-26", ["issue_note"]),  # the platform change was 27 Feb, 01:00 local
    ("date_to=2026-02-27", ["platform_update", "issue_note"]),
    ("actor=wangli&date_from=2026-02-27", ["issue_assign", "platform_update"]),
])
def test_filters_narrow_the_list(client: FlaskClient, world: dict[str, Any], query: str,
                                 expected: list[str]) -> None:
    page = client.get("/manage/audit/?" + query.format(**world) + "&date_to=2026-03-31"
                      * ("date_to" not in query))
    assert page.status_code == 200
    actions = [re.search(r"\b([a-z_]+_[a-z_]+|access_denied)\b", entry).group(1)
               for entry in entries(page.text)]
    assert actions == expected
    if not expected:
        assert "没有符合条件的记录" in page.text


@pytest.mark.parametrize(("query", "field", "message"), [
    ("date_from=2026-03-05&date_to=2026-03-01", "date_to", "结束日期不能早于开始日期"),
    ("entity_id=12", "entity_id", "请同时选择对象类型"),
    ("entity_type=issues&entity_id=0", "entity_id", "请输入正整数"),
    ("entity_type=issues&entity_id=abc", "entity_id", ""),
    ("date_from=yesterday", "date_from", ""),
    ("entity_type=nonsense", "entity_type", ""),
])
def test_bad_filters_are_named_and_list_nothing(client: FlaskClient, world: dict[str, Any],
                                               query: str, field: str, message: str) -> None:
    page = client.get("/manage/audit/?" + query)
    assert page.status_code == 422
    errors = re.search(rf'<div class="field-errors" id="{field}-error">(.*?)</div>', page.text,
                       re.S)
    assert errors and message in errors.group(1)
    assert entries(page.text) == []
    assert "<details class=\"audit-filters\" open>" in page.text


def test_the_log_is_paginated(app: Flask, client: FlaskClient, make: Any, auth: Any) -> None:
    add_rows(app, *(dict(action=f"step_{n:02d}", created_at=T0 + timedelta(minutes=n))
                    for n in range(60)))
    auth.login(make("user", role="admin").username)
    first = client.get("/manage/audit/?action=step_*").text
    assert len(entries(first)) == 50 and "step_59" in entries(first)[0]
    assert "共 60 条，第 1 / 2 页" in first
    second = client.get("/manage/audit/?action=step_*&page=2").text
    assert [re.search(r"step_\d+", entry).group(0) for entry in entries(second)] == [
        f"step_{n:02d}" for n in range(9, -1, -1)]


@pytest.mark.parametrize("role", ["district_admin", "coordinator"])
def test_only_city_staff_may_read_the_log(app: Flask, client: FlaskClient, make: Any, auth: Any,
                                          role: str) -> None:
    user = make("user", role=role)
    auth.login(user.username)
    assert client.get("/manage/audit/").status_code == 403
    with app.app_context():
        refusal = db.session.scalar(db.select(AuditLog).where(AuditLog.action == "access_denied"))
        assert refusal is not None and refusal.actor_id == user.id


def test_anonymous_visitors_are_sent_to_sign_in(client: FlaskClient) -> None:
    answer = client.get("/manage/audit/")
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_every_table_with_an_id_can_be_chosen(client: FlaskClient, world: dict[str, Any]) -> None:
    html = client.get("/manage/audit/").text
    select = html[html.index('<select id="entity_type"'):]
    select = select[:select.index("</select>")]
    for value, label in (("platforms", "平台"), ("issues", "问题"), ("users", "用户")):
        assert f'<option value="{value}">{label}</option>' in select
