"""Accounts of departments' contacts (承办单位联系人): the command line and the users page."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.auth import scopes
from consult_hub.extensions import db
from consult_hub.models import AuditLog, Role, User
from tests.support import factories
from tests.support.pages import field_errors, post

PASSWORD = "a brand new password"


@pytest.fixture()
def city(app) -> dict[str, Any]:
    """Two districts, each with a department and its staff; a city department; city staff."""
    with app.app_context():
        home = factories.district(code="420102", name="江岸区")
        other = factories.district(code="420106", name="武昌区")
        ids = {
            "home": home.id, "other": other.id,
            "ours": factories.department(district_id=home.id, code="JA-CG", name="江岸区城管局").id,
            "theirs": factories.department(district_id=other.id, code="WC-CG",
                                           name="武昌区城管局").id,
            "city_dept": factories.department(code="SW", name="市水务局").id,
            "stopped": factories.department(district_id=home.id, code="JA-OLD", name="停用的局",
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


def test_command_creates_a_department_contact(app, runner, city, monkeypatch):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", PASSWORD)
    result = runner.invoke(args=["user", "create", "--username", "zhao", "--role", "department",
                                 "--department", "JA-CG", "--name", "赵强"])
    assert result.exit_code == 0, result.output
    assert "created user zhao (department, department JA-CG)" in result.output
    zhao = created(app, "zhao")
    assert (zhao.role, zhao.department_id, zhao.district_id) == (Role.DEPARTMENT, city["ours"],
                                                                 None)
    with app.app_context():
        audit = db.session.scalars(sa.select(AuditLog).where(
            AuditLog.action == "user_create")).one()
        assert audit.changes["department_id"] == [None, city["ours"]]


@pytest.mark.parametrize(("args", "message"), [
    (["--role", "department"], "承办单位联系人必须指定承办单位（--department）"),
    (["--role", "department", "--department", "NOPE"], "找不到代码为 NOPE 的承办单位"),
    (["--role", "coordinator", "--platform", "1", "--department", "JA-CG"],
     "只有承办单位联系人可以指定承办单位"),
    (["--role", "department", "--department", "JA-OLD"], "承办单位停用的局已停用"),
])
def test_command_names_the_department_field(app, runner, city, monkeypatch, args, message):
    monkeypatch.setenv("CONSULT_HUB_PASSWORD", PASSWORD)
    result = runner.invoke(args=["user", "create", "--username", "x", *args])
    assert result.exit_code == 1
    assert f"error: department: {message}" in result.output
    assert created(app, "x") is None


# --- the users page -----------------------------------------------------------------------------


def account(username: str, **values: Any) -> dict[str, Any]:
    return {"username": username, "name": "赵强", "email": "", "role": "department",
            "district": "", "password": PASSWORD, "confirm": PASSWORD} | values


def test_city_staff_create_a_contact_of_any_department(app, client, auth, city):
    auth.login("city")
    page = client.get("/manage/users/new").text
    select = page.split('id="department"')[1].split("</select>")[0]
    assert "江岸区 · 江岸区城管局" in select and "武昌区 · 武昌区城管局" in select
    assert "市直 · 市水务局" in select and "停用的局" not in select
    answer = post(client, "/manage/users/new", account("zhao", department=str(city["theirs"])))
    assert answer.status_code == 303
    assert created(app, "zhao").department_id == city["theirs"]
    # The department is the contact's only scope: a district or platforms chosen too are not kept.
    answer = post(client, "/manage/users/new",
                  account("qian", department=str(city["city_dept"]), district=str(city["home"])))
    assert answer.status_code == 303
    assert (created(app, "qian").district_id, created(app, "qian").department_id) == (
        None, city["city_dept"])


def test_district_staff_create_contacts_of_their_own_departments_only(app, client, auth, city):
    auth.login("jiangan")
    page = client.get("/manage/users/new").text
    assert '<option value="department">承办单位联系人</option>' in page
    select = page.split('id="department"')[1].split("</select>")[0]
    assert "江岸区城管局" in select
    assert "武昌区城管局" not in select and "市水务局" not in select
    for department in ("theirs", "city_dept"):
        answer = post(client, "/manage/users/new",
                      account("sneaky", department=str(city[department])))
        assert answer.status_code == 422
        assert "只能为本区的承办单位创建联系人账号" in field_errors(answer.text, "department")
    answer = post(client, "/manage/users/new", account("sneaky", department=""))
    assert answer.status_code == 422
    assert "承办单位联系人必须指定承办单位" in field_errors(answer.text, "department")
    assert created(app, "sneaky") is None
    answer = post(client, "/manage/users/new", account("zhao", department=str(city["ours"])))
    assert answer.status_code == 303
    assert created(app, "zhao").department_id == city["ours"]


def test_district_staff_manage_their_departments_contacts_only(app, client, auth, city, make):
    ours = make("department_user", department_id=city["ours"], username="ours_contact")
    theirs = make("department_user", department_id=city["theirs"], username="their_contact")
    auth.login("jiangan")
    listed = client.get("/manage/users/").text
    assert ">ours_contact</td>" in listed and ">their_contact</td>" not in listed
    assert "江岸区城管局" in listed
    assert client.get(f"/manage/users/{theirs.id}/edit").status_code == 403
    page = client.get(f"/manage/users/{ours.id}/edit").text
    assert f'<option selected value="{city["ours"]}">' in page
    answer = post(client, f"/manage/users/{ours.id}/edit", {
        "name": "赵强", "email": "", "role": "department", "district": "",
        "department": str(city["theirs"])})
    assert answer.status_code == 422
    assert "只能为本区的承办单位创建联系人账号" in field_errors(answer.text, "department")
    assert created(app, "ours_contact").department_id == city["ours"]
    with app.app_context():
        district_admin = db.session.scalar(sa.select(User).where(User.username == "wuchang"))
        contact = db.session.get(User, ours.id)
        assert not scopes.can_manage_user(district_admin, contact)
    auth.logout()
    auth.login("wuchang")
    assert ">ours_contact</td>" not in client.get("/manage/users/").text


def test_a_contacts_role_change_drops_the_department(app, client, auth, city, make):
    platform = make("platform", district_id=city["home"])
    contact = make("department_user", department_id=city["ours"], username="moving")
    auth.login("city")
    answer = post(client, f"/manage/users/{contact.id}/edit", {
        "name": "赵强", "email": "", "role": "coordinator", "district": "",
        "department": str(city["ours"]), "platforms": [str(platform.id)]})
    assert answer.status_code == 303
    moved = created(app, "moving")
    assert (moved.role, moved.department_id) == (Role.COORDINATOR, None)


def test_a_new_contact_signs_in_to_the_department_dashboard(app, client, auth, city, make):
    make("department_user", department_id=city["ours"], username="zhao", name="赵强")
    auth.login("zhao")
    page = client.get("/dashboard").text
    assert "承办单位联系人" in page and "江岸区城管局" in page and "新交办待签收" in page


def test_account_scope_of_department_contacts_agrees_with_its_sql_filter(ctx):
    from consult_hub.accounts.queries import user_filter

    home, other = factories.district(), factories.district()
    ours = factories.department(district_id=home.id)
    theirs = factories.department(district_id=other.id)
    city_department = factories.department()
    actors = [factories.user(Role.ADMIN), factories.user(Role.DISTRICT_ADMIN, district_id=home.id),
              factories.user(Role.DISTRICT_ADMIN, district_id=other.id)]
    contacts = [factories.department_user(d.id) for d in (ours, theirs, city_department)]
    actors.append(contacts[0])  # a contact manages nobody
    for actor in actors:
        by_function = {u.id for u in contacts if scopes.can_manage_user(actor, u)}
        by_sql = set(db.session.scalars(sa.select(User.id).where(
            user_filter(actor), User.id.in_([u.id for u in contacts]))))
        assert by_function == by_sql, actor
    assert {u.id for u in contacts if scopes.can_manage_user(actors[1], u)} == {contacts[0].id}
    assert scopes.grantable_roles(actors[1]) == (Role.COORDINATOR, Role.DEPARTMENT, Role.MEMBER)
    assert scopes.grantable_roles(contacts[0]) == ()
