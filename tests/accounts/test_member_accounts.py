"""Members' accounts (政协委员): the command line, the users page, and where a member lands."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.accounts.queries import user_filter
from consult_hub.auth import scopes
from consult_hub.extensions import db
from consult_hub.members.models import MemberLevel
from consult_hub.models import AuditLog, Role, User
from tests.support import factories
from tests.support.pages import field_errors, post

PASSWORD = "a brand new password"


@pytest.fixture()
def city(app) -> dict[str, Any]:
    """江岸区 and 武昌区, a member of each (one city member), a member who no longer serves;
    city staff and each district's staff."""
    with app.app_context():
        home = factories.district(code="420102", name="江岸区")
        other = factories.district(code="420106", name="武昌区")
        ids = {
            "home": home.id, "other": other.id,
            "ours": factories.member(name="李晓燕", code="WY0101", district_id=home.id,
                                     level=MemberLevel.CITY).id,
            "theirs": factories.member(name="周建华", code="WY0201", district_id=other.id).id,
            "retired": factories.member(name="吴德明", code="WY0102", district_id=home.id,
                                        is_active=False).id,
        }
        factories.user(Role.ADMIN, username="city")
        factories.user(Role.DISTRICT_ADMIN, district_id=home.id, username="jiangan")
        factories.user(Role.DISTRICT_ADMIN, district_id=other.id, username="wuchang")
        db.session.commit()
        return ids


def created(app, username: str) -> User | None:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is not None:
            db.session.expunge(user)
        return user


# --- flask user create --------------------------------------------------------------------------


def test_command_creates_a_member_account(app, runner, city, monkeypatch):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", PASSWORD)
    result = runner.invoke(args=["user", "create", "--username", "lixy", "--role", "member",
                                 "--member", str(city["ours"])])
    assert result.exit_code == 0, result.output
    assert f"created user lixy (member, member {city['ours']} 李晓燕)" in result.output
    account = created(app, "lixy")
    assert (account.role, account.member_id, account.name) == (Role.MEMBER, city["ours"],
                                                               "李晓燕")
    assert account.must_change_password
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "user_create")).one()
        assert audit.changes["member_id"] == [None, city["ours"]]
    # The member's code works as well as the id.
    result = runner.invoke(args=["user", "create", "--username", "zhoujh", "--role", "member",
                                 "--member", "WY0201", "--name", "周建华委员"])
    assert result.exit_code == 0, result.output
    assert created(app, "zhoujh").member_id == city["theirs"]


def test_command_refusals_name_the_member_option(app, runner, city, monkeypatch):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", PASSWORD)
    assert runner.invoke(args=["user", "create", "--username", "lixy", "--role", "member",
                               "--member", str(city["ours"])]).exit_code == 0
    for args, message in (
            (["--role", "member"], "member: 政协委员账号必须指定委员（--member）"),
            (["--role", "member", "--member", "987654"], "member: 找不到委员 987654"),
            (["--role", "member", "--member", "WY9999"], "member: 找不到委员 WY9999"),
            (["--role", "member", "--member", str(city["ours"])],
             "member: 委员李晓燕已有账号 lixy（每位委员一个账号）"),
            (["--role", "member", "--member", "WY0102"], "member: 吴德明 已不在任"),
            (["--role", "coordinator", "--platform", "1", "--member", "WY0201"],
             "member: 只有政协委员账号可以指定委员")):
        result = runner.invoke(args=["user", "create", "--username", "x", *args])
        assert result.exit_code == 1, args
        assert f"error: {message}" in result.output, result.output
        assert created(app, "x") is None
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User).where(
            User.role == Role.MEMBER)) == 1


# --- the users page -----------------------------------------------------------------------------


def account(username: str, **values: Any) -> dict[str, Any]:
    return {"username": username, "name": "李晓燕", "email": "", "role": "member",
            "district": "", "department": "", "password": PASSWORD, "confirm": PASSWORD} | values


def member_options(page: str) -> str:
    return page.split('id="member"')[1].split("</select>")[0]


def test_city_staff_link_an_account_to_any_member_once(app, client, auth, city):
    auth.login("city")
    options = member_options(client.get("/manage/users/new").text)
    assert "江岸区 · 李晓燕 · WY0101 · 市政协委员" in options
    assert "武昌区 · 周建华 · WY0201 · 区政协委员" in options
    assert "吴德明" not in options  # no longer serving
    missing = post(client, "/manage/users/new", account("lixy", member=""))
    assert missing.status_code == 422
    assert "政协委员账号必须指定委员" in field_errors(missing.text, "member")
    assert created(app, "lixy") is None
    answer = post(client, "/manage/users/new", account("lixy", member=str(city["ours"])))
    assert answer.status_code == 303
    assert created(app, "lixy").member_id == city["ours"]
    # One account per member: the member is no longer offered, and a forged choice is refused.
    assert "李晓燕" not in member_options(client.get("/manage/users/new").text)
    again = post(client, "/manage/users/new", account("lixy2", member=str(city["ours"])))
    assert again.status_code == 422
    assert "委员李晓燕已有账号 lixy" in field_errors(again.text, "member")
    unknown = post(client, "/manage/users/new", account("lixy3", member="987654"))
    assert unknown.status_code == 422
    assert "找不到所选的委员" in field_errors(unknown.text, "member")
    assert created(app, "lixy2") is None and created(app, "lixy3") is None
    # The list shows whose account it is.
    listed = client.get("/manage/users/?role=member").text
    assert ">lixy</td>" in listed and "李晓燕 · 江岸区" in listed


def test_district_staff_create_accounts_for_their_districts_members_only(app, client, auth,
                                                                         city):
    auth.login("jiangan")
    page = client.get("/manage/users/new").text
    assert '<option value="member">政协委员</option>' in page
    options = member_options(page)
    assert "李晓燕 · WY0101 · 市政协委员" in options and "周建华" not in options
    refused = post(client, "/manage/users/new", account("zhoujh", member=str(city["theirs"])))
    assert refused.status_code == 422
    assert "只能为本区的委员创建账号" in field_errors(refused.text, "member")
    assert created(app, "zhoujh") is None
    assert post(client, "/manage/users/new",
                account("lixy", member=str(city["ours"]))).status_code == 303


def test_district_staff_manage_their_districts_member_accounts_only(app, client, auth, city,
                                                                    make):
    ours = make("user", role="member", member_id=city["ours"], username="ours_member")
    theirs = make("user", role="member", member_id=city["theirs"], username="their_member")
    auth.login("jiangan")
    listed = client.get("/manage/users/").text
    assert ">ours_member</td>" in listed and ">their_member</td>" not in listed
    assert client.get(f"/manage/users/{theirs.id}/edit").status_code == 403
    page = client.get(f"/manage/users/{ours.id}/edit").text
    assert f'<option selected value="{city["ours"]}">' in page
    answer = post(client, f"/manage/users/{ours.id}/edit", {
        "name": "李晓燕", "email": "", "role": "member", "district": "", "department": "",
        "member": str(city["theirs"])})
    assert answer.status_code == 422
    assert "只能为本区的委员创建账号" in field_errors(answer.text, "member")
    assert created(app, "ours_member").member_id == city["ours"]
    with app.app_context():
        actors = [db.session.scalar(sa.select(User).where(User.username == name))
                  for name in ("city", "jiangan", "wuchang")]
        accounts = [db.session.get(User, ours.id), db.session.get(User, theirs.id)]
        for actor in actors:
            by_function = {u.id for u in accounts if scopes.can_manage_user(actor, u)}
            by_sql = set(db.session.scalars(sa.select(User.id).where(
                user_filter(actor), User.id.in_([u.id for u in accounts]))))
            assert by_function == by_sql, actor


# --- signing in ---------------------------------------------------------------------------------


def test_a_member_lands_on_their_proposals_or_opinion_reports(app, client, auth, city, make):
    make("user", role="member", member_id=city["ours"], username="lixy")
    answer = auth.login("lixy")
    assert answer.status_code == 302
    views = app.view_functions
    expected = ("/manage/proposals" if "proposals.index" in views
                else "/manage/opinion-reports" if "opinions.index" in views else "/dashboard")
    assert answer.headers["Location"].rstrip("/") == expected
    # Signed in already: the login page sends them there too; staff still land on the dashboard.
    assert client.get("/login").headers["Location"].rstrip("/") == expected
    auth.logout()
    assert auth.login("city").headers["Location"].rstrip("/") == "/dashboard"


# --- the demo -----------------------------------------------------------------------------------


def test_the_demo_member_login_belongs_to_a_member_serving_at_the_demo_platforms(app, client,
                                                                              auth):
    from datetime import UTC, datetime

    from consult_hub.demo.generate import load_demo
    from consult_hub.models import Member, Platform, PlatformStatusChange

    with app.app_context():
        report = load_demo(platforms=12, seed=7, year=2024, force=True,
                           now=datetime(2026, 11, 28, 2, tzinfo=UTC))
        account = db.session.scalar(sa.select(User).where(User.username == "member"))
        member = db.session.get(Member, account.member_id)
        assert account.role is Role.MEMBER and account.name == member.name
        coordinator = db.session.scalar(sa.select(User).where(User.username == "coordinator"))
        assert {p.id for p in coordinator.platforms} & {p.id for p in member.platforms}
        assert any(row[0] == "member" and member.name in row[3] for row in report.logins)
        # Every platform has its opening in the status history.
        assert db.session.scalar(sa.select(sa.func.count(sa.distinct(
            PlatformStatusChange.platform_id)))) == db.session.scalar(
            sa.select(sa.func.count()).select_from(Platform))
    answer = auth.login("member", "member-demo-2024")
    assert answer.status_code == 302
