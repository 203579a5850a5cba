"""Reference data for staff: areas, departments, members and user accounts."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.models import AuditLog
from consult_hub.auth.models import Role, User
from consult_hub.auth.passwords import verify_password
from consult_hub.departments.models import Department
from consult_hub.extensions import db
from consult_hub.members.models import Member, MemberLevel
from consult_hub.platforms.models import platform_members
from tests.support.auth import TEST_PASSWORD, csrf_token

# ---- helpers -----------------------------------------------------------------------------


def submit(client, page: str, data: dict[str, Any], path: str | None = None):
    """Post ``data`` to ``path`` (default ``page``) with the CSRF token of the form on ``page``."""
    return client.post(path or page, data={**data, "csrf_token": csrf_token(client, page)})


def count(app, model: Any, *where: Any) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


def fetch(app, model: Any, object_id: int) -> Any:
    with app.app_context():
        obj = db.session.get(model, object_id)
        db.session.expunge(obj)
        return obj


def audit_rows(app, action: str) -> list[AuditLog]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))
        db.session.expunge_all()
        return rows


def street_in(app, district_id: int, code: str = "S-NEW") -> Area:
    with app.app_context():
        street = Area(code=code, name=f"街道{code}", level=AreaLevel.STREET, parent_id=district_id)
        db.session.add(street)
        db.session.commit()
        db.session.refresh(street)
        db.session.expunge(street)
        return street


# The base world (tests/support/world.py) under this module's names, as a dict of its parts.
pytestmark = pytest.mark.world(
    "base", district_names=("江岸区", "汉阳区"),
    platform_names=("永清街协商议事室", "琴台协商议事室"),
    usernames={"admin": "city", "district_admin": "jiangan", "other_district_admin": "hanyang",
               "coordinator": "li", "other_coordinator": "wu"},
    keys={"home": "district", "other": "other_district", "mine": "platform",
          "far": "other_platform", "admin": "admin", "staff": "district_admin",
          "far_staff": "other_district_admin", "coordinator": "coordinator",
          "far_coordinator": "other_coordinator"})


# ---- who may open these pages ------------------------------------------------------------


STAFF_PAGES = ["/manage/departments/", "/manage/departments/new", "/manage/members/",
               "/manage/members/new", "/manage/users/", "/manage/users/new"]


@pytest.mark.parametrize("path", ["/manage/areas/", "/manage/areas/new", *STAFF_PAGES])
def test_coordinator_is_refused_every_reference_page(client, auth, world, path):
    auth.login("li")
    assert client.get(path).status_code == 403


@pytest.mark.parametrize("path", ["/manage/areas/", "/manage/areas/new"])
def test_areas_are_for_city_staff_only(client, auth, world, path):
    auth.login("jiangan")
    assert client.get(path).status_code == 403
    auth.logout()
    auth.login("city")
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", STAFF_PAGES)
def test_district_staff_open_their_pages(client, auth, world, path):
    auth.login("jiangan")
    assert client.get(path).status_code == 200


def test_anonymous_is_sent_to_login(client):
    response = client.get("/manage/members/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")


def test_coordinator_post_is_refused_and_stores_nothing(app, client, auth, world):
    auth.login("li")
    token = csrf_token(client, "/dashboard")
    response = client.post("/manage/members/new", data={
        "name": "张三", "sector": "教育界", "level": "district",
        "district": str(world["home"].id), "csrf_token": token})
    assert response.status_code == 403
    assert count(app, Member) == 0


# ---- areas -------------------------------------------------------------------------------


def test_area_tree_shows_counts_and_drills_down(app, client, auth, make, world):
    make("platform", district_id=world["home"].id)
    auth.login("city")
    page = client.get("/manage/areas/")
    assert "江岸区" in page.text and "汉阳区" in page.text
    row = page.text.split("江岸区", 1)[1].split("</tr>", 1)[0]
    # Two platforms, each with its own street and community (the factory's way).
    assert [cell.split(">")[-1] for cell in row.split("</td>")[:3]] == ["2", "2", "2"]
    district = client.get(f"/manage/areas/{world['home'].id}")
    assert district.status_code == 200 and "街道/乡镇" in district.text
    with app.app_context():
        mine = db.session.get(Area, fetch(app, type(world["mine"]), world["mine"].id).area_id)
        street_id, community_id = mine.parent_id, mine.id
    street = client.get(f"/manage/areas/{street_id}")
    assert "社区/村" in street.text and f"/manage/areas/{community_id}" in street.text
    community = client.get(f"/manage/areas/{community_id}")
    assert "永清街协商议事室" in community.text


def test_create_street_under_a_district_is_stored_and_audited(app, client, auth, world):
    auth.login("city")
    page = f"/manage/areas/new?parent={world['home'].id}"
    form = client.get(page)
    assert f'<option selected value="{world["home"].id}">' in form.text or \
        f'value="{world["home"].id}" selected' in form.text
    response = submit(client, page, {"code": "420102099", "name": "新建街道",
                                     "level": "street", "parent": str(world["home"].id)})
    assert response.status_code == 303
    with app.app_context():
        street = db.session.scalar(sa.select(Area).where(Area.code == "420102099"))
        assert street.parent_id == world["home"].id and street.level is AreaLevel.STREET
    [row] = audit_rows(app, "area_create")
    assert row.changes["name"] == [None, "新建街道"] and row.changes["level"] == [None, "street"]
    assert "新建街道" in client.get(response.headers["Location"]).text


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"code": "", "name": "某街道", "level": "street"}, "此项必填"),
        ({"code": "DUP", "name": "某街道", "level": "street"}, "已被使用"),
        ({"code": "X1", "name": "某街道", "level": "street", "parent": ""},
         "街道/乡镇的上级必须是区"),
        ({"code": "X1", "name": "某社区", "level": "community", "parent": "home"},
         "社区/村的上级必须是街道/乡镇"),
        ({"code": "X1", "name": "某区", "level": "district", "parent": "home"}, "区是最上一级"),
    ],
)
def test_bad_area_is_refused_on_its_field(app, client, auth, world, data, field_message):
    street_in(app, world["home"].id, code="DUP")
    auth.login("city")
    data = {"parent": str(world["home"].id), **data}
    if data["parent"] == "home":
        data["parent"] = str(world["home"].id)
    before = count(app, Area)
    response = submit(client, "/manage/areas/new", data)
    assert response.status_code == 422
    assert field_message in response.text and 'aria-invalid="true"' in response.text
    assert count(app, Area) == before
    assert audit_rows(app, "area_create") == []


def test_rename_area_records_before_and_after(app, client, auth, world):
    street = street_in(app, world["home"].id)
    auth.login("city")
    page = f"/manage/areas/{street.id}/edit"
    response = submit(client, page, {"code": street.code, "name": "改名街道", "level": "street",
                                     "parent": str(world["home"].id)})
    assert response.status_code == 303
    assert fetch(app, Area, street.id).name == "改名街道"
    [row] = audit_rows(app, "area_update")
    assert row.changes == {"name": [street.name, "改名街道"]}


def test_street_with_platforms_cannot_move_to_another_district(app, client, auth, world):
    with app.app_context():
        community = db.session.get(Area, fetch(app, type(world["mine"]), world["mine"].id).area_id)
        street = community.parent
        street_id, code, name = street.id, street.code, street.name
    auth.login("city")
    response = submit(client, f"/manage/areas/{street_id}/edit", {
        "code": code, "name": name, "level": "street", "parent": str(world["other"].id)})
    assert response.status_code == 422 and "不能移到其他区" in response.text
    assert fetch(app, Area, street_id).parent_id == world["home"].id


def test_area_with_children_keeps_its_level(app, client, auth, world):
    street = street_in(app, world["home"].id)
    with app.app_context():
        db.session.add(Area(code="C-NEW", name="新社区", level=AreaLevel.COMMUNITY,
                            parent_id=street.id))
        db.session.commit()
    auth.login("city")
    response = submit(client, f"/manage/areas/{street.id}/edit", {
        "code": street.code, "name": street.name, "level": "community",
        "parent": str(world["home"].id)})
    assert response.status_code == 422
    assert fetch(app, Area, street.id).level is AreaLevel.STREET


# ---- departments -------------------------------------------------------------------------


def test_district_staff_see_their_own_and_city_departments(client, auth, make, world):
    mine = make("department", district_id=world["home"].id, name="江岸区水务和湖泊局")
    city = make("department", name="市民政局")
    make("department", district_id=world["other"].id, name="汉阳区民政局")
    auth.login("jiangan")
    page = client.get("/manage/departments/")
    assert "江岸区水务和湖泊局" in page.text and "市民政局" in page.text
    assert "汉阳区民政局" not in page.text
    assert f"/manage/departments/{mine.id}/edit" in page.text
    assert f"/manage/departments/{city.id}/edit" not in page.text  # city ones are read-only here
    assert client.get(f"/manage/departments/{city.id}/edit").status_code == 403
    only_city = client.get("/manage/departments/?scope=city")
    assert "市民政局" in only_city.text and "江岸区水务和湖泊局" not in only_city.text
    found = client.get("/manage/departments/?q=水务")
    assert "江岸区水务和湖泊局" in found.text and "市民政局" not in found.text


def test_district_staff_create_departments_in_their_district(app, client, auth, world):
    auth.login("jiangan")
    response = submit(client, "/manage/departments/new", {
        "code": "JA-01", "name": "江岸区城管局", "district": str(world["home"].id)})
    assert response.status_code == 303
    with app.app_context():
        department = db.session.scalar(sa.select(Department).where(Department.code == "JA-01"))
        assert department.district_id == world["home"].id and department.is_active
    [row] = audit_rows(app, "department_create")
    assert row.changes["name"] == [None, "江岸区城管局"]


def test_district_staff_cannot_create_a_city_department(app, client, auth, world):
    auth.login("jiangan")
    response = submit(client, "/manage/departments/new",
                      {"code": "C-01", "name": "市某局", "district": ""})
    assert response.status_code == 403
    assert count(app, Department) == 0


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"code": "TAKEN"}, "单位编号 TAKEN 已被使用"),
        ({"name": "江岸区民政局"}, "本区已有名为“江岸区民政局”的单位"),
        ({"name": "市民政局", "district": ""}, "市直单位中已有“市民政局”"),
        ({"name": ""}, "此项必填"),
    ],
)
def test_bad_department_is_refused_on_its_field(app, client, auth, make, world, data,
                                                field_message):
    make("department", district_id=world["home"].id, name="江岸区民政局", code="TAKEN")
    make("department", name="市民政局")
    auth.login("city")
    form = {"code": "NEW", "name": "新单位", "district": str(world["home"].id), **data}
    response = submit(client, "/manage/departments/new", form)
    assert response.status_code == 422
    assert field_message in response.text
    assert count(app, Department) == 2


def test_same_department_name_in_another_district_is_fine(app, client, auth, make, world):
    make("department", district_id=world["home"].id, name="民政局")
    auth.login("city")
    response = submit(client, "/manage/departments/new",
                      {"code": "HY-1", "name": "民政局", "district": str(world["other"].id)})
    assert response.status_code == 303
    assert count(app, Department) == 2


def test_edit_and_deactivate_department(app, client, auth, make, world):
    department = make("department", district_id=world["home"].id, name="旧名", code="D-1")
    auth.login("jiangan")
    page = f"/manage/departments/{department.id}/edit"
    assert submit(client, page, {"code": "D-1", "name": "新名",
                                 "district": str(world["home"].id)}).status_code == 303
    [update] = audit_rows(app, "department_update")
    assert update.changes == {"name": ["旧名", "新名"]}
    assert submit(client, page, {}, f"/manage/departments/{department.id}/deactivate"
                  ).status_code == 303
    assert fetch(app, Department, department.id).is_active is False
    listed = f'href="{page}"'
    assert listed not in client.get("/manage/departments/").text  # the list shows units in use
    assert listed in client.get("/manage/departments/?active=0").text
    assert submit(client, page, {}, f"/manage/departments/{department.id}/reactivate"
                  ).status_code == 303
    assert fetch(app, Department, department.id).is_active is True
    [off] = audit_rows(app, "department_deactivate")
    assert off.changes == {"is_active": [True, False]}


def test_other_district_staff_cannot_touch_a_department(app, client, auth, make, world):
    department = make("department", district_id=world["home"].id)
    auth.login("hanyang")
    assert client.get(f"/manage/departments/{department.id}/edit").status_code == 403
    token = csrf_token(client, "/manage/departments/")
    response = client.post(f"/manage/departments/{department.id}/deactivate",
                           data={"csrf_token": token})
    assert response.status_code == 403
    assert fetch(app, Department, department.id).is_active is True


# ---- members -----------------------------------------------------------------------------


def test_member_list_searches_names_by_any_chinese_part_and_filters(client, auth, make, world):
    home = world["home"].id
    make("member", name="王小明", sector="教育界", level=MemberLevel.CITY, district_id=home)
    make("member", name="李小红", sector="经济界", district_id=home)
    make("member", name="赵大海", sector="教育界", district_id=home)
    make("member", name="孙小明", sector="教育界", district_id=world["other"].id)
    auth.login("city")
    found = client.get("/manage/members/?q=小明")
    assert "王小明" in found.text and "孙小明" in found.text and "李小红" not in found.text
    by_sector = client.get("/manage/members/?sector=教育界&level=district")
    assert "赵大海" in by_sector.text and "王小明" not in by_sector.text
    assert "李小红" not in by_sector.text
    by_district = client.get(f"/manage/members/?district={world['other'].id}")
    assert "孙小明" in by_district.text and "王小明" not in by_district.text


def test_member_list_is_paginated(client, auth, make, world):
    for n in range(35):
        make("member", name=f"委员{n:02d}", district_id=world["home"].id)
    auth.login("jiangan")
    first = client.get("/manage/members/")
    assert "委员00" in first.text and "委员34" not in first.text and "共 35 条" in first.text
    second = client.get("/manage/members/?page=2")
    assert "委员34" in second.text and "委员00" not in second.text


def test_district_staff_see_only_their_members(client, auth, make, world):
    make("member", name="本区委员", district_id=world["home"].id)
    stranger = make("member", name="外区委员", district_id=world["other"].id)
    auth.login("jiangan")
    page = client.get("/manage/members/")
    assert "本区委员" in page.text and "外区委员" not in page.text
    assert client.get(f"/manage/members/{stranger.id}").status_code == 403
    assert client.get(f"/manage/members/{stranger.id}/edit").status_code == 403


def test_member_page_lists_linked_platforms(app, client, auth, make, world):
    member = make("member", name="王委员", district_id=world["home"].id)
    with app.app_context():
        db.session.execute(sa.insert(platform_members).values(
            platform_id=world["mine"].id, member_id=member.id))
        db.session.commit()
    auth.login("jiangan")
    page = client.get(f"/manage/members/{member.id}")
    assert "永清街协商议事室" in page.text
    assert f"/manage/platforms/{world['mine'].id}" in page.text
    assert "永清街协商议事室" in client.get("/manage/members/").text


def test_create_member_with_sector_list(app, client, auth, world):
    auth.login("jiangan")
    form = client.get("/manage/members/new")
    assert 'list="sector-list"' in form.text and '<option value="九三学社">' in form.text
    response = submit(client, "/manage/members/new", {
        "name": "陈静", "sector": "九三学社", "level": "district",
        "district": str(world["home"].id), "code": "WY9001"})
    assert response.status_code == 303
    with app.app_context():
        member = db.session.scalar(sa.select(Member).where(Member.name == "陈静"))
        assert member.district_id == world["home"].id and member.code == "WY9001"
    [row] = audit_rows(app, "member_create")
    assert row.changes["sector"] == [None, "九三学社"]


@pytest.mark.parametrize(
    ("data", "field_message"),
    [
        ({"district": ""}, "区政协委员必须选择所属的区"),
        ({"sector": ""}, "此项必填"),
        ({"code": "WY0001"}, "委员编号 WY0001 已被使用"),
    ],
)
def test_bad_member_is_refused_on_its_field(app, client, auth, make, world, data,
                                            field_message):
    make("member", code="WY0001", district_id=world["home"].id)
    auth.login("city")
    form = {"name": "张三", "sector": "教育界", "level": "district",
            "district": str(world["home"].id), **data}
    response = submit(client, "/manage/members/new", form)
    assert response.status_code == 422
    assert field_message in response.text
    assert count(app, Member) == 1


def test_edit_and_deactivate_member(app, client, auth, make, world):
    member = make("member", name="周委员", sector="教育界", district_id=world["home"].id)
    auth.login("jiangan")
    page = f"/manage/members/{member.id}/edit"
    assert submit(client, page, {"name": "周委员", "sector": "医药卫生界", "level": "district",
                                 "district": str(world["home"].id)}).status_code == 303
    [row] = audit_rows(app, "member_update")
    assert row.changes == {"sector": ["教育界", "医药卫生界"]}
    bad = submit(client, page, {"name": "", "sector": "教育界", "level": "district",
                                "district": str(world["home"].id)})
    assert bad.status_code == 422 and fetch(app, Member, member.id).name == "周委员"
    assert submit(client, page, {}, f"/manage/members/{member.id}/deactivate").status_code == 303
    assert fetch(app, Member, member.id).is_active is False
    listed = f'href="/manage/members/{member.id}"'
    assert listed not in client.get("/manage/members/").text
    assert listed in client.get("/manage/members/?active=0").text


def test_district_staff_cannot_move_a_member_to_another_district(app, client, auth, make, world):
    member = make("member", district_id=world["home"].id)
    auth.login("jiangan")
    response = submit(client, f"/manage/members/{member.id}/edit", {
        "name": member.name, "sector": member.sector, "level": "district",
        "district": str(world["other"].id)})
    assert response.status_code == 403
    assert fetch(app, Member, member.id).district_id == world["home"].id


# ---- users -------------------------------------------------------------------------------


NEW_PASSWORD = "a brand new password"


def account(username: str, **values: Any) -> dict[str, Any]:
    """A valid new-account form, with ``values`` changed."""
    return {"name": "新用户", "email": "", "role": "coordinator", "district": "",
            "password": NEW_PASSWORD, "confirm": NEW_PASSWORD, "username": username} | values


def test_admin_creates_district_staff_and_coordinators(app, client, auth, world):
    auth.login("city")
    staff = submit(client, "/manage/users/new", account(
        "wang", role="district_admin", district=str(world["home"].id), email="wang@example.cn"))
    assert staff.status_code == 303
    coordinator = submit(client, "/manage/users/new", account(
        "zhou", platforms=[str(world["mine"].id), str(world["far"].id)]))
    assert coordinator.status_code == 303
    with app.app_context():
        wang = db.session.scalar(sa.select(User).where(User.username == "wang"))
        assert wang.role is Role.DISTRICT_ADMIN and wang.district_id == world["home"].id
        assert wang.email == "wang@example.cn" and verify_password(wang.password_hash, NEW_PASSWORD)
        zhou = db.session.scalar(sa.select(User).where(User.username == "zhou"))
        assert {p.id for p in zhou.platforms} == {world["mine"].id, world["far"].id}
    rows = audit_rows(app, "user_create")
    assert {r.changes["username"][1] for r in rows} == {"wang", "zhou"}
    assert all("password" not in r.changes and "password_hash" not in r.changes for r in rows)


def test_district_staff_create_a_coordinator_who_can_sign_in(app, client, auth, world):
    auth.login("jiangan")
    response = submit(client, "/manage/users/new",
                      account("xiao", platforms=[str(world["mine"].id)]))
    assert response.status_code == 303
    auth.logout()
    signed_in = auth.login("xiao", password=NEW_PASSWORD)
    # Staff chose this password: the coordinator picks their own before anything else.
    assert signed_in.status_code == 302
    assert signed_in.headers["Location"].startswith("/account/password")
    platform_page = f"/manage/platforms/{world['mine'].id}"
    assert client.get(platform_page).headers["Location"].startswith("/account/password")
    changed = submit(client, "/account/password", {
        "current": NEW_PASSWORD, "password": "my own quiet passphrase",
        "confirm": "my own quiet passphrase"})
    assert changed.status_code == 303
    assert client.get(platform_page).status_code == 200


@pytest.mark.parametrize(
    ("values", "field_message"),
    [
        ({"role": "admin"}, "不是有效的选择"),
        ({"role": "district_admin", "district": "home"}, "不是有效的选择"),
        ({"platforms": ["far"]}, "只能关联或移除本区的平台"),
        ({"platforms": []}, "平台联络员至少要关联一个平台"),
    ],
)
def test_district_staff_grant_only_coordinators_of_their_platforms(app, client, auth, world,
                                                                   values, field_message):
    auth.login("jiangan")
    values = {k: ([str(world[p].id) for p in v] if k == "platforms" else
                  str(world[v].id) if v == "home" else v) for k, v in values.items()}
    response = submit(client, "/manage/users/new",
                      account("sneaky", platforms=[str(world["mine"].id)]) | values)
    assert response.status_code == 422
    assert field_message in response.text
    assert count(app, User, User.username == "sneaky") == 0


@pytest.mark.parametrize(
    ("values", "field_message"),
    [
        ({"confirm": "something else"}, "两次输入的密码不一致"),
        ({"password": "short", "confirm": "short"}, "密码至少 10 位"),
        ({"password": "password123", "confirm": "password123"}, "密码太常见或太容易猜到"),
        ({"password": "newbie-2024-x", "confirm": "newbie-2024-x"},
         "密码不能是用户名，也不能包含用户名"),
        ({"username": "li"}, "用户名 li 已存在"),
        ({"email": "not-an-email"}, "请填写有效的电子邮箱地址"),
        ({"role": "district_admin"}, "区政协工作人员必须指定所属区"),
        ({"role": "admin", "platforms": ["mine"]}, "只有平台联络员可以关联平台"),
        ({"name": ""}, "此项必填"),
    ],
)
def test_bad_account_is_refused_on_its_field(app, client, auth, world, values, field_message):
    auth.login("city")
    values = {k: ([str(world[p].id) for p in v] if k == "platforms" else v)
              for k, v in values.items()}
    before = count(app, User)
    response = submit(client, "/manage/users/new",
                      account("newbie", platforms=[str(world["mine"].id)]) | values)
    assert response.status_code == 422
    assert field_message in response.text
    assert count(app, User) == before
    assert audit_rows(app, "user_create") == []


def test_platform_search_offers_only_platforms_in_scope_and_saves_nothing(app, client, auth,
                                                                          world):
    auth.login("jiangan")
    response = submit(client, "/manage/users/new", account(
        "search_me", platform_q="协商议事室", search_platforms="1"))
    assert response.status_code == 200
    assert "永清街协商议事室" in response.text and "琴台协商议事室" not in response.text
    assert 'value="search_me"' in response.text  # what was typed stays in the form
    assert count(app, User, User.username == "search_me") == 0
    auth.logout()
    auth.login("city")
    everything = submit(client, "/manage/users/new", account(
        "search_me", platform_q="协商议事室", search_platforms="1"))
    assert "永清街协商议事室" in everything.text and "琴台协商议事室" in everything.text


def test_user_list_is_scoped_and_filtered(client, auth, make, world):
    make("user", role="coordinator", platform_ids=[world["mine"].id], username="gone",
         is_active=False)
    auth.login("jiangan")
    page = client.get("/manage/users/?active=all")
    for visible in ("jiangan", "li", "gone"):
        assert f">{visible}</td>" in page.text
    for hidden in ("city", "hanyang", "wu"):
        assert f">{hidden}</td>" not in page.text
    active = client.get("/manage/users/")
    assert ">gone</td>" not in active.text
    coordinators = client.get("/manage/users/?role=district_admin")
    assert ">jiangan</td>" in coordinators.text and ">li</td>" not in coordinators.text
    auth.logout()
    auth.login("city")
    by_district = client.get(f"/manage/users/?district={world['other'].id}")
    assert ">hanyang</td>" in by_district.text and ">wu</td>" in by_district.text
    assert ">li</td>" not in by_district.text
    assert ">wu</td>" in client.get("/manage/users/?q=w").text


def test_district_staff_cannot_open_accounts_of_another_district(client, auth, world):
    auth.login("jiangan")
    assert client.get(f"/manage/users/{world['far_coordinator'].id}/edit").status_code == 403
    assert client.get(f"/manage/users/{world['far_staff'].id}/edit").status_code == 403
    assert client.get(f"/manage/users/{world['admin'].id}/edit").status_code == 403
    assert client.get(f"/manage/users/{world['coordinator'].id}/edit").status_code == 200


def test_edit_account_records_before_and_after(app, client, auth, world):
    auth.login("city")
    target = world["coordinator"]
    response = submit(client, f"/manage/users/{target.id}/edit", {
        "name": "李新", "email": "li@example.cn", "role": "coordinator", "district": "",
        "platforms": [str(world["mine"].id), str(world["far"].id)]})
    assert response.status_code == 303
    [row] = audit_rows(app, "user_update")
    assert row.changes["name"] == [target.name, "李新"]
    assert row.changes["platform_ids"] == [[world["mine"].id],
                                           sorted([world["mine"].id, world["far"].id])]


def test_district_staff_cannot_manage_a_coordinator_who_also_serves_elsewhere(app, client, auth,
                                                                             make, world):
    """Resetting their password would let 江岸区 staff sign in as them and act in 汉阳区."""
    shared = make("user", role="coordinator", platform_ids=[world["mine"].id, world["far"].id],
                  username="shared")
    auth.login("jiangan")
    base = f"/manage/users/{shared.id}"
    assert client.get(f"{base}/edit").status_code == 403
    assert client.get(f"{base}/password").status_code == 403
    assert client.get(f"{base}/tokens").status_code == 403
    assert submit(client, "/dashboard", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                  f"{base}/password").status_code == 403
    assert submit(client, "/dashboard", {}, f"{base}/deactivate").status_code == 403
    assert submit(client, "/dashboard", {
        "name": "改名", "email": "", "role": "coordinator", "district": "",
        "platforms": [str(world["mine"].id)]}, f"{base}/edit").status_code == 403
    assert ">shared</td>" not in client.get("/manage/users/?active=all").text
    after = fetch(app, User, shared.id)
    assert verify_password(after.password_hash, TEST_PASSWORD) and after.is_active
    assert after.name == shared.name
    auth.logout()
    auth.login("city")  # city staff manage them
    assert client.get(f"{base}/edit").status_code == 200


def test_district_staff_cannot_promote_anyone(app, client, auth, world):
    auth.login("jiangan")
    target = world["coordinator"]
    response = submit(client, f"/manage/users/{target.id}/edit", {
        "name": target.name, "role": "district_admin", "district": str(world["home"].id),
        "platforms": [str(world["mine"].id)]})
    assert response.status_code == 422
    assert fetch(app, User, target.id).role is Role.COORDINATOR


def test_deactivation_signs_the_user_out_everywhere(app, client, auth, world):
    other_device = app.test_client()
    from tests.support.auth import AuthActions

    AuthActions(other_device).login("li")
    assert other_device.get("/dashboard").status_code == 200
    auth.login("jiangan")
    target = world["coordinator"]
    response = submit(client, f"/manage/users/{target.id}/edit", {},
                      f"/manage/users/{target.id}/deactivate")
    assert response.status_code == 303
    assert fetch(app, User, target.id).is_active is False
    assert other_device.get("/dashboard").status_code == 302
    assert AuthActions(other_device).login("li").status_code == 200  # refused
    [row] = audit_rows(app, "user_deactivate")
    assert row.changes == {"is_active": [True, False]}
    assert submit(client, f"/manage/users/{target.id}/edit", {},
                  f"/manage/users/{target.id}/reactivate").status_code == 303
    assert AuthActions(other_device).login("li").status_code == 302


def test_nobody_deactivates_themselves(app, client, auth, world):
    auth.login("jiangan")
    me = world["staff"]
    response = submit(client, f"/manage/users/{me.id}/edit", {},
                      f"/manage/users/{me.id}/deactivate")
    assert response.status_code == 422 and "不能停用自己的账号" in response.text
    assert fetch(app, User, me.id).is_active is True
    assert client.get("/dashboard").status_code == 200


def test_last_active_admin_cannot_be_demoted(app, client, auth, make, world):
    me = world["admin"]
    auth.login("city")
    demote = {"name": me.name, "email": "", "role": "district_admin",
              "district": str(world["home"].id)}
    response = submit(client, f"/manage/users/{me.id}/edit", demote)
    assert response.status_code == 422 and "最后一位在用的市政协工作人员" in response.text
    assert fetch(app, User, me.id).role is Role.ADMIN
    make("user", role="admin", username="second_admin")
    response = submit(client, f"/manage/users/{me.id}/edit", demote)
    assert response.status_code == 303
    assert fetch(app, User, me.id).role is Role.DISTRICT_ADMIN
    assert client.get("/manage/areas/").status_code == 403  # the change took effect at once


def test_password_reset_sets_the_new_one_and_signs_out(app, client, auth, world):
    from tests.support.auth import AuthActions

    other_device = app.test_client()
    AuthActions(other_device).login("li")
    target = world["coordinator"]
    page = f"/manage/users/{target.id}/password"
    auth.login("jiangan")
    mismatch = submit(client, page, {"password": NEW_PASSWORD, "confirm": "different words"})
    assert mismatch.status_code == 422 and "两次输入的密码不一致" in mismatch.text
    short = submit(client, page, {"password": "short", "confirm": "short"})
    assert short.status_code == 422 and "密码至少 10 位" in short.text
    assert verify_password(fetch(app, User, target.id).password_hash, TEST_PASSWORD)
    assert other_device.get("/dashboard").status_code == 200
    assert submit(client, page, {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
                  ).status_code == 303
    assert other_device.get("/dashboard").status_code == 302
    assert AuthActions(other_device).login("li").status_code == 200  # old password refused
    assert AuthActions(other_device).login("li", password=NEW_PASSWORD).status_code == 302
    assert len(audit_rows(app, "user_password_reset")) == 1


def test_own_password_change_keeps_this_session(app, client, auth, world):
    """One's own password goes through the account page (with the current one), and this
    browser stays signed in while every other session ends."""
    me = world["admin"]
    auth.login("city")
    own = client.get(f"/manage/users/{me.id}/password")
    assert own.headers["Location"].startswith("/account/password")
    assert submit(client, "/account/password", {"current": TEST_PASSWORD,
                                                "password": NEW_PASSWORD,
                                                "confirm": NEW_PASSWORD}).status_code == 303
    assert client.get("/dashboard").status_code == 200


def test_account_scope_agrees_with_its_sql_filter(ctx):
    from consult_hub.accounts.queries import user_filter
    from consult_hub.auth import scopes
    from tests.support import factories

    home, other = factories.district(), factories.district()
    mine, far = factories.platform(district_id=home.id), factories.platform(district_id=other.id)
    accounts = [
        factories.user(Role.ADMIN),
        factories.user(Role.DISTRICT_ADMIN, district_id=home.id),
        factories.user(Role.DISTRICT_ADMIN, district_id=other.id),
        factories.user(Role.COORDINATOR, platform_ids=[mine.id]),
        factories.user(Role.COORDINATOR, platform_ids=[far.id]),
        factories.user(Role.COORDINATOR, platform_ids=[mine.id, far.id]),
        factories.user(Role.COORDINATOR),
        factories.department_user(factories.department(district_id=home.id).id),
        factories.department_user(factories.department(district_id=other.id).id),
        factories.department_user(factories.department(district_id=None).id),
        factories.user(Role.MEMBER, member_id=factories.member(district_id=home.id).id),
        factories.user(Role.MEMBER, member_id=factories.member(district_id=other.id).id),
        factories.user(Role.MEMBER, member_id=factories.member().id),
    ]
    for actor in accounts:
        by_function = {u.id for u in accounts if scopes.can_manage_user(actor, u)}
        by_sql = set(db.session.scalars(sa.select(User.id).where(user_filter(actor))))
        assert by_function == by_sql
    staff = accounts[1]
    # Not accounts[5], who also serves a platform in the other district, nor accounts[6],
    # who serves none; the contact of their own district's department (accounts[7]), not of
    # another district's or of a city department; the account of their district's member
    # (accounts[10]).
    assert {u.id for u in accounts if scopes.can_manage_user(staff, u)} == {
        accounts[1].id, accounts[3].id, accounts[7].id, accounts[10].id}
    assert scopes.grantable_roles(staff) == (Role.COORDINATOR, Role.DEPARTMENT, Role.MEMBER)
    assert scopes.grantable_roles(accounts[3]) == ()
