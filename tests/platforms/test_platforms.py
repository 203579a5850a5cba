"""Staff platform pages: the list, creating and editing, status changes, people, the detail page."""

from __future__ import annotations

import re
from datetime import date, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from consult_hub.extensions import db
from consult_hub.issues.models import IssueStatus
from consult_hub.models import Issue, Platform, PlatformKind, PlatformStatus
from consult_hub.platforms import operations
from consult_hub.platforms.queries import platform_accepts_events
from tests.support import factories
from tests.support.auth import csrf_token
from tests.support.querycount import count_queries
from tests.support.records import audit_rows

# ---- builders --------------------------------------------------------------------------------


@pytest.fixture()
def place(app):
    """江岸区 with a street and community, and a community in another district."""
    with app.app_context():
        district = factories.district(code="420102", name="江岸区")
        community = factories.community(district.id)
        other = factories.community()
        db.session.commit()
        return SimpleNamespace(
            district_id=district.id, street_id=community.parent_id, community_id=community.id,
            community_name=community.name, other_district_id=other.parent.parent_id,
            other_community_id=other.id)


def facts(place: Any, **changes: Any) -> dict[str, Any]:
    """A valid create/edit submission in ``place``'s district."""
    values: dict[str, Any] = {
        "code": "420102-0009", "name": "百步亭社区协商议事室", "kind": "consult_room",
        "district_id": place.district_id, "area_id": place.community_id,
        "address": "江岸区百步亭花园路1号", "latitude": "30.6152", "longitude": "114.3051",
        "convener": "曹楚磊", "established_on": "2023-05-01", "description": "每月协商一次。",
        "demonstration_year": "",
    }
    values.update(changes)
    return {k: v for k, v in values.items() if v is not None}


def platform(app, **values: Any) -> Platform:
    """``make("platform", ...)`` that also takes ``kind`` (which ``make`` uses for the builder)."""
    with app.app_context():
        built = factories.platform(**values)
        db.session.commit()
        db.session.refresh(built)
        db.session.expunge(built)
        return built


def post(client, path: str, data: dict[str, Any]):
    return client.post(path, data={**data, "csrf_token": csrf_token(client, "/dashboard")})


def load(app, platform_id: int) -> Platform:
    with app.app_context():
        platform = db.session.get(Platform, platform_id)
        db.session.expunge(platform)
        return platform


def platform_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Platform))





def hidden(page_text: str, name: str) -> str:
    """The value of a hidden input, as the browser would send it back."""
    field = re.search(rf'<input[^>]*name="{name}"[^>]*>', page_text)
    assert field, name
    value = re.search(r'value="([^"]*)"', field.group(0))
    import html

    return html.unescape(value.group(1)) if value else ""


# ---- the list --------------------------------------------------------------------------------


def listed_names(page_text: str) -> set[str]:
    """The platforms the list shows (their names link to the platform)."""
    return set(re.findall(r'<a href="/manage/platforms/\d+">([^<]+)</a>', page_text))


def test_list_shows_only_the_platforms_a_user_may_manage(client, auth, make):
    home, away = make("district"), make("district")
    mine = make("platform", district_id=home.id, name="甲社区协商议事室")
    neighbour = make("platform", district_id=home.id, name="乙社区协商议事室")
    far = make("platform", district_id=away.id, name="丙社区协商议事室")
    coordinator = make("user", role="coordinator", platform_ids=[mine.id])
    staff = make("user", role="district_admin", district_id=home.id)
    admin = make("user", role="admin")

    expected = {admin: {mine, neighbour, far}, staff: {mine, neighbour}, coordinator: {mine}}
    for user, visible in expected.items():
        auth.login(user.username)
        page = client.get("/manage/platforms/")
        assert page.status_code == 200
        assert f"共 {len(visible)} 个" in page.text
        assert listed_names(page.text) == {p.name for p in visible}, user.role
        auth.logout()


@pytest.fixture()
def listed(app, make, place):
    """Four platforms that differ in one way each, and an admin signed in."""
    with app.app_context():
        second = factories.community(place.district_id)  # another street of 江岸区
        db.session.commit()
        second_street = second.parent_id
        second_id = second.id
    rows = {
        "plain": make("platform", district_id=place.district_id, name="后湖社区协商议事室",
                      area_id=place.community_id, address="后湖大道8号"),
        "studio": platform(app, district_id=place.district_id, name="张委员工作室",
                       area_id=second_id, kind=PlatformKind.MEMBER_STUDIO,
                       status=PlatformStatus.SUSPENDED, is_demonstration=True,
                       demonstration_year=2022),
        "point": platform(app, district_id=place.other_district_id, name="ABC社情民意联系点",
                      kind=PlatformKind.LIAISON_POINT, is_demonstration=True,
                      demonstration_year=2023, address="解放大道100%_号"),
        "home": platform(app, district_id=place.other_district_id, name="协商议事之家",
                     kind=PlatformKind.CONSULT_HOME, status=PlatformStatus.CLOSED),
    }
    return SimpleNamespace(rows=rows, second_street=second_street, **place.__dict__)


@pytest.mark.parametrize(("query", "expected"), [
    (lambda p: {"kind": "member_studio"}, {"studio"}),
    (lambda p: {"status": "suspended"}, {"studio"}),
    (lambda p: {"status": "closed"}, {"home"}),
    (lambda p: {"demonstration": "yes"}, {"studio", "point"}),
    (lambda p: {"demonstration": "no"}, {"plain", "home"}),
    (lambda p: {"demonstration": "yes", "demonstration_year": "2023"}, {"point"}),
    (lambda p: {"district_id": p.district_id}, {"plain", "studio"}),
    (lambda p: {"district_id": p.district_id, "street_id": p.second_street}, {"studio"}),
    (lambda p: {"district_id": p.district_id, "street_id": p.street_id}, {"plain"}),
    # A street of another district than the one chosen is ignored, not mixed in.
    (lambda p: {"district_id": p.other_district_id, "street_id": p.street_id}, {"point", "home"}),
    (lambda p: {"q": "委员"}, {"studio"}),
    (lambda p: {"q": "后湖大道"}, {"plain"}),  # by address
    (lambda p: {"q": "abc"}, {"point"}),  # Latin letters ignore case
    (lambda p: {"q": "%"}, {"point"}),  # taken literally, not as a wildcard
    (lambda p: {"q": "100%_"}, {"point"}),
    (lambda p: {"q": "_"}, {"point"}),
    (lambda p: {"q": "不存在的平台"}, set()),
])
def test_list_filters(client, auth, make, listed, query, expected):
    auth.login(make("user", role="admin").username)
    page = client.get("/manage/platforms/", query_string=query(listed))
    assert page.status_code == 200
    shown = {key for key, p in listed.rows.items() if p.name in listed_names(page.text)}
    assert shown == expected
    assert (f"符合条件的共 {len(expected)} 个" in page.text)
    if not expected:
        assert "没有符合条件的平台" in page.text


def test_district_admin_list_stays_in_their_district(client, auth, make, listed):
    staff = make("user", role="district_admin", district_id=listed.district_id)
    auth.login(staff.username)
    page = client.get("/manage/platforms/", query_string={"district_id": listed.other_district_id})
    assert {k for k, p in listed.rows.items()
            if p.name in listed_names(page.text)} == {"plain", "studio"}
    assert 'name="district_id"' not in page.text  # no district to choose
    # Streets of their own district are offered without choosing the district.
    page = client.get("/manage/platforms/", query_string={"street_id": listed.second_street})
    assert {k for k, p in listed.rows.items() if p.name in listed_names(page.text)} == {"studio"}


def test_list_pages_keep_the_filters(app, client, auth, make, place, monkeypatch):
    monkeypatch.setitem(app.config, "PER_PAGE", 2)
    for n in range(5):
        platform(app, district_id=place.district_id, name=f"工作室{n}", code=f"S-{n}",
                 kind=PlatformKind.MEMBER_STUDIO)
    make("platform", district_id=place.district_id, name="议事室", code="R-1")
    auth.login(make("user", role="admin").username)
    first = client.get("/manage/platforms/?kind=member_studio")
    assert "共 5 条，第 1 / 3 页" in first.text
    assert listed_names(first.text) == {"工作室0", "工作室1"}
    next_link = re.search(r'href="([^"]+)" rel="next"', first.text).group(1)
    assert "kind=member_studio" in next_link and "page=2" in next_link
    last = client.get(next_link.replace("&amp;", "&").replace("page=2", "page=3"))
    assert listed_names(last.text) == {"工作室4"}


def test_list_sends_the_same_few_queries_whatever_the_page_size(app, client, auth, make, place):
    auth.login(make("user", role="admin").username)

    def queries_for_list() -> int:
        with count_queries(app) as sql:
            assert client.get("/manage/platforms/").status_code == 200
        return len(sql)

    make("platform", district_id=place.district_id)
    few = queries_for_list()
    for _ in range(8):
        make("platform", district_id=place.other_district_id)
    assert queries_for_list() == few
    assert few <= 8


# ---- creating --------------------------------------------------------------------------------


def test_admin_creates_a_platform_whose_district_follows_the_area(app, client, auth, make, place):
    auth.login(make("user", role="admin").username)
    response = post(client, "/manage/platforms/new",
                    facts(place, code="420102-0009 ", is_demonstration="y",
                          demonstration_year="2024"))
    assert response.status_code == 303
    platform_id = int(response.headers["Location"].rsplit("/", 1)[1])
    platform = load(app, platform_id)
    assert (platform.name, platform.area_id, platform.district_id) == (
        "百步亭社区协商议事室", place.community_id, place.district_id)
    assert platform.status is PlatformStatus.ACTIVE
    assert (platform.is_demonstration, platform.demonstration_year) == (True, 2024)
    assert platform.latitude == pytest.approx(30.6152)
    [created] = audit_rows(app, "platform_create")
    assert created.entity_id == platform_id
    assert created.changes["name"] == [None, "百步亭社区协商议事室"]
    assert created.changes["district_id"] == [None, place.district_id]
    page = client.get(response.headers["Location"])
    assert "已新建平台" in page.text and "是（2024 年）" in page.text


def test_new_form_asks_admin_for_the_district_first_and_suggests_a_code(client, auth, make, place):
    make("platform", district_id=place.district_id, code="420102-0007")
    auth.login(make("user", role="admin").username)
    first = client.get("/manage/platforms/new")
    assert "第一步" in first.text and 'name="area_id"' not in first.text
    form = client.get(f"/manage/platforms/new?district_id={place.district_id}")
    assert 'value="420102-0008"' in form.text
    assert place.community_name in form.text  # the district's communities are offered
    # Switching the district keeps what was typed and lists the other district's areas.
    switched = post(client, "/manage/platforms/new",
                    facts(place, district_id=place.other_district_id, pick_district="1"))
    assert switched.status_code == 200
    assert "百步亭社区协商议事室" in switched.text and place.community_name not in switched.text


def test_district_admin_creates_only_in_their_district(app, client, auth, make, place):
    staff = make("user", role="district_admin", district_id=place.district_id)
    auth.login(staff.username)
    form = client.get("/manage/platforms/new")
    assert 'value="420102-0001"' in form.text  # no district step: theirs is fixed
    refused = post(client, "/manage/platforms/new",
                   facts(place, district_id=place.other_district_id,
                         area_id=place.other_community_id))
    assert refused.status_code == 422
    assert "所选街道或社区不属于江岸区" in refused.text
    assert platform_count(app) == 0
    created = post(client, "/manage/platforms/new", facts(place))
    assert created.status_code == 303
    assert platform_count(app) == 1


def test_coordinator_cannot_create(client, auth, make, place):
    mine = make("platform", district_id=place.district_id)
    auth.login(make("user", role="coordinator", platform_ids=[mine.id]).username)
    assert client.get("/manage/platforms/new").status_code == 403
    assert 'href="/manage/platforms/new"' not in client.get("/manage/platforms/").text


def _next_year() -> str:
    return str(date.today().year + 1)


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"name": ""}, "name", "此项必填"),
    ({"code": "平台一号"}, "code", "编号只能包含字母、数字和连字符"),
    ({"code": "taken-1"}, "code", "编号 TAKEN-1 已被其他平台使用"),
    ({"area_id": "district"}, "area_id", "请选择街道或社区"),
    ({"area_id": "other"}, "area_id", "所选街道或社区不属于江岸区"),
    ({"latitude": "91"}, "latitude", "纬度应在 -90 到 90 之间"),
    ({"longitude": "-180.5"}, "longitude", "经度应在 -180 到 180 之间"),
    ({"longitude": ""}, "longitude", "经纬度须同时填写，或都不填"),
    ({"established_on": (date.today() + timedelta(days=2)).isoformat()}, "established_on",
     "成立日期不能晚于今天"),
    ({"is_demonstration": "y"}, "demonstration_year", "示范点须填写年份"),
    ({"is_demonstration": "y", "demonstration_year": "2022"}, "demonstration_year",
     "示范点年份不能早于成立年份 2023"),
    ({"is_demonstration": "y", "demonstration_year": _next_year()}, "demonstration_year",
     "年份应在 1949 到"),
])
def test_bad_input_is_refused_on_its_field_and_nothing_is_stored(app, client, auth, make, place,
                                                                 changes, field, message):
    make("platform", district_id=place.other_district_id, code="TAKEN-1")
    if changes.get("area_id") == "district":
        changes = {**changes, "area_id": place.district_id}
    elif changes.get("area_id") == "other":
        changes = {**changes, "area_id": place.other_community_id}
    auth.login(make("user", role="admin").username)
    response = post(client, "/manage/platforms/new", facts(place, **changes))
    assert response.status_code == 422
    error = re.search(rf'id="{field}-error">(.*?)</div>', response.text, re.S)
    assert error and message in error.group(1)
    assert 'value="百步亭社区协商议事室"' in response.text or field == "name"  # input kept
    assert platform_count(app) == 1
    assert audit_rows(app, "platform_create") == []


# ---- editing ---------------------------------------------------------------------------------


def test_edit_saves_and_audits_only_what_changed(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id, area_id=place.community_id,
                    code="420102-0009", name="百步亭社区协商议事室")
    auth.login(make("user", role="district_admin", district_id=place.district_id).username)
    form = client.get(f"/manage/platforms/{platform.id}/edit")
    assert form.status_code == 200 and 'value="百步亭社区协商议事室"' in form.text
    response = post(client, f"/manage/platforms/{platform.id}/edit", facts(
        place, name="百步亭协商议事室", address=platform.address, latitude="", longitude="",
        convener="", description="", established_on="2023-01-01",
        version=hidden(form.text, "version"), original=hidden(form.text, "original")))
    assert response.status_code == 303
    saved = load(app, platform.id)
    assert saved.name == "百步亭协商议事室" and saved.version == 2
    [row] = audit_rows(app, "platform_update")
    assert row.changes == {"name": ["百步亭社区协商议事室", "百步亭协商议事室"]}


def test_invalid_edit_changes_nothing(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id, area_id=place.community_id)
    auth.login(make("user", role="admin").username)
    form = client.get(f"/manage/platforms/{platform.id}/edit")
    response = post(client, f"/manage/platforms/{platform.id}/edit", facts(
        place, code=platform.code, latitude="200", version=hidden(form.text, "version"),
        original=hidden(form.text, "original")))
    assert response.status_code == 422
    assert "纬度应在 -90 到 90 之间" in response.text
    saved = load(app, platform.id)
    assert (saved.name, saved.latitude, saved.version) == (platform.name, None, 1)
    assert audit_rows(app, "platform_update") == []


def _open_edit(app, make, place, username: str):
    client = app.test_client()
    token = csrf_token(client, "/login")
    client.post("/login", data={"username": username, "password": "correct horse battery",
                                "csrf_token": token})
    return client


def test_two_staff_editing_the_same_platform_do_not_lose_an_update(app, make, place):
    platform = make("platform", district_id=place.district_id, area_id=place.community_id,
                    code="420102-0009", name="百步亭社区协商议事室", address="旧地址1号",
                    established_on=date(2023, 5, 1))
    admin = make("user", role="admin", name="王市")
    staff = make("user", role="district_admin", district_id=place.district_id, name="李区")
    first, second = (_open_edit(app, make, place, u.username) for u in (admin, staff))
    path = f"/manage/platforms/{platform.id}/edit"
    form_a, form_b = first.get(path).text, second.get(path).text

    def submit(client, form_text, **changes):
        data = facts(place, latitude="", longitude="", convener="", description="",
                     address="旧地址1号", version=hidden(form_text, "version"),
                     original=hidden(form_text, "original"))
        data.update(changes)
        return post(client, path, data)

    assert submit(first, form_a, name="百步亭议事厅").status_code == 303
    clash = submit(second, form_b, address="新地址2号")
    assert clash.status_code == 409
    assert "这条记录已被他人修改" in clash.text and "王市" in clash.text
    assert "百步亭议事厅" in clash.text  # what the other person changed it to
    assert 'value="新地址2号"' in clash.text  # the user's own input is kept
    stored = load(app, platform.id)
    assert (stored.name, stored.address) == ("百步亭议事厅", "旧地址1号")

    # Having seen the notice, saving again is deliberate and wins.
    again = submit(second, clash.text, address="新地址2号", name="百步亭议事厅")
    assert again.status_code == 303
    stored = load(app, platform.id)
    assert (stored.name, stored.address, stored.version) == ("百步亭议事厅", "新地址2号", 3)


@pytest.mark.parametrize("original", ["-1", "[]", '"text"', "null"])
def test_a_stale_edit_with_a_mangled_original_is_still_a_409(app, client, auth, make, place,
                                                             original):
    """A hand-edited hidden field that is JSON but not the form's snapshot: 409, not a 500."""
    platform = make("platform", district_id=place.district_id, area_id=place.community_id,
                    code="420102-0009", address="旧地址1号", established_on=date(2023, 5, 1))
    auth.login(make("user", role="admin").username)
    form = client.get(f"/manage/platforms/{platform.id}/edit").text
    stale = str(int(hidden(form, "version")) - 1)
    response = post(client, f"/manage/platforms/{platform.id}/edit", facts(
        place, name="别的名字", address="旧地址1号", latitude="", longitude="", convener="",
        description="", version=stale, original=original))
    assert response.status_code == 409
    assert load(app, platform.id).name == platform.name


def test_a_save_racing_past_the_version_check_still_gets_409(app, client, auth, make, place,
                                                             monkeypatch):
    platform = make("platform", district_id=place.district_id, area_id=place.community_id,
                    code="420102-0009")
    auth.login(make("user", role="admin").username)
    form = client.get(f"/manage/platforms/{platform.id}/edit").text

    def someone_saves_meanwhile(obj, **_kwargs):
        with db.engine.begin() as conn:
            conn.execute(sa.update(Platform).where(Platform.id == platform.id)
                         .values(name="别人改的名字", version=Platform.version + 1))

    monkeypatch.setattr(operations, "check_version", someone_saves_meanwhile)
    response = post(client, f"/manage/platforms/{platform.id}/edit", facts(
        place, name="我改的名字", version=hidden(form, "version"),
        original=hidden(form, "original")))
    assert response.status_code == 409
    assert "别人改的名字" in response.text and 'value="我改的名字"' in response.text
    assert load(app, platform.id).name == "别人改的名字"


# ---- status ----------------------------------------------------------------------------------


def test_suspend_needs_a_reason_and_is_audited(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id)
    auth.login(make("user", role="district_admin", district_id=place.district_id,
                    name="李区").username)
    path = f"/manage/platforms/{platform.id}/suspend"
    assert client.get(path).status_code == 200
    refused = post(client, path, {"reason": "  "})
    assert refused.status_code == 422 and "请说明原因" in refused.text
    assert load(app, platform.id).status is PlatformStatus.ACTIVE

    assert post(client, path, {"reason": "场地装修三个月"}).status_code == 303
    assert load(app, platform.id).status is PlatformStatus.SUSPENDED
    [row] = audit_rows(app, "platform_suspend")
    assert row.changes == {"status": ["active", "suspended"], "reason": "场地装修三个月"}
    page = client.get(f"/manage/platforms/{platform.id}")
    assert "场地装修三个月" in page.text and "李区" in page.text
    assert "恢复运行前不能安排新的活动" in page.text
    again = post(client, path, {"reason": "再暂停一次"})
    assert again.status_code == 422 and "不能执行此操作" in again.text


def test_closing_asks_for_the_code_then_reactivating_brings_it_back(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id, code="420102-0003")
    auth.login(make("user", role="admin").username)
    path = f"/manage/platforms/{platform.id}/close"
    assert "请输入平台编号 420102-0003 以确认撤销" in client.get(path).text
    for confirm in ("", "420102-0004"):
        refused = post(client, path, {"reason": "社区合并", "confirm": confirm})
        assert refused.status_code == 422
        assert load(app, platform.id).status is PlatformStatus.ACTIVE
    assert post(client, path, {"reason": "社区合并", "confirm": " 420102-0003"}).status_code == 303
    assert load(app, platform.id).status is PlatformStatus.CLOSED
    assert post(client, f"/manage/platforms/{platform.id}/reactivate",
                {"reason": "恢复设立"}).status_code == 303
    assert load(app, platform.id).status is PlatformStatus.ACTIVE
    actions = [r.action for r in audit_rows(app, "platform_close")
               + audit_rows(app, "platform_reactivate")]
    assert actions == ["platform_close", "platform_reactivate"]


def test_a_status_change_racing_another_write_gets_409(app, client, auth, make, place,
                                                      monkeypatch):
    platform = make("platform", district_id=place.district_id)
    auth.login(make("user", role="admin").username)
    real_change = operations.change_status

    def someone_closes_it_first(target, action, **values):
        with db.engine.begin() as conn:
            conn.execute(sa.update(Platform).where(Platform.id == platform.id)
                         .values(status=PlatformStatus.CLOSED, version=Platform.version + 1))
        return real_change(target, action, **values)

    monkeypatch.setattr(operations, "change_status", someone_closes_it_first)
    response = post(client, f"/manage/platforms/{platform.id}/suspend", {"reason": "装修"})
    assert response.status_code == 409
    assert "平台刚被他人修改" in response.text and "已撤销" in response.text
    assert load(app, platform.id).status is PlatformStatus.CLOSED
    assert audit_rows(app, "platform_suspend") == []


@pytest.mark.parametrize(("status", "accepts"), [
    (PlatformStatus.ACTIVE, True), (PlatformStatus.SUSPENDED, False),
    (PlatformStatus.CLOSED, False),
])
def test_only_an_active_platform_accepts_new_events(status, accepts):
    assert platform_accepts_events(Platform(status=status)) is accepts


# ---- people ----------------------------------------------------------------------------------


def test_admin_links_and_unlinks_a_coordinator(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id)
    person = make("user", role="coordinator", name="赵联络")
    auth.login(make("user", role="admin").username)
    people = client.get(f"/manage/platforms/{platform.id}/people")
    assert "赵联络" in people.text
    linked = post(client, f"/manage/platforms/{platform.id}/coordinators", {"person_id": person.id})
    assert linked.status_code == 303
    assert "赵联络" in client.get(f"/manage/platforms/{platform.id}").text
    [row] = audit_rows(app, "platform_link_coordinator")
    assert row.changes == {"coordinator_ids": [[], [person.id]]}
    twice = post(client, f"/manage/platforms/{platform.id}/coordinators", {"person_id": person.id})
    assert twice.status_code == 422 and "已是该平台的联络员" in twice.text

    removed = post(client, f"/manage/platforms/{platform.id}/coordinators/{person.id}/remove", {})
    assert removed.status_code == 303
    with app.app_context():
        assert db.session.get(Platform, platform.id).coordinators == []
    [row] = audit_rows(app, "platform_unlink_coordinator")
    assert row.changes == {"coordinator_ids": [[person.id], []]}


def test_district_admin_sees_only_their_coordinators_or_unlinked_ones(app, client, auth, make,
                                                                      place):
    platform = make("platform", district_id=place.district_id)
    neighbour = make("platform", district_id=place.district_id)
    far = make("platform", district_id=place.other_district_id)
    ours = make("user", role="coordinator", name="本区联络员", platform_ids=[neighbour.id])
    free = make("user", role="coordinator", name="未分配联络员")
    theirs = make("user", role="coordinator", name="外区联络员", platform_ids=[far.id])
    make("user", role="admin", name="不是联络员")
    auth.login(make("user", role="district_admin", district_id=place.district_id).username)

    for query in ("", "?coordinator_q=联络员"):
        page = client.get(f"/manage/platforms/{platform.id}/people{query}").text
        assert "本区联络员" in page and "未分配联络员" in page
        assert "外区联络员" not in page and "不是联络员" not in page

    refused = post(client, f"/manage/platforms/{platform.id}/coordinators",
                   {"person_id": theirs.id})
    assert refused.status_code == 422
    assert post(client, f"/manage/platforms/{platform.id}/coordinators",
                {"person_id": ours.id}).status_code == 303
    assert post(client, f"/manage/platforms/{platform.id}/coordinators",
                {"person_id": free.id}).status_code == 303
    with app.app_context():
        names = {u.name for u in db.session.get(Platform, platform.id).coordinators}
    assert names == {"本区联络员", "未分配联络员"}


def test_only_coordinator_accounts_can_be_linked(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id)
    admin = make("user", role="admin")
    auth.login(admin.username)
    for person_id in (admin.id, 999999, ""):
        response = post(client, f"/manage/platforms/{platform.id}/coordinators",
                        {"person_id": person_id})
        assert response.status_code == 422
    with app.app_context():
        assert db.session.get(Platform, platform.id).coordinators == []
    assert audit_rows(app, "platform_link_coordinator") == []


def test_members_are_found_by_name_and_linked(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id)
    wang = make("member", name="王建国", sector="经济界")
    make("member", name="李红")
    make("member", name="王退休", is_active=False)
    auth.login(make("user", role="admin").username)
    found = client.get(f"/manage/platforms/{platform.id}/people?member_q=王").text
    assert "王建国" in found and "李红" not in found and "王退休" not in found

    linked = post(client, f"/manage/platforms/{platform.id}/members",
                  {"person_id": wang.id, "member_q": "王"})
    assert linked.status_code == 303 and "member_q=" in linked.headers["Location"]
    assert "王建国（经济界）" in client.get(f"/manage/platforms/{platform.id}").text
    twice = post(client, f"/manage/platforms/{platform.id}/members", {"person_id": wang.id})
    assert twice.status_code == 422 and "已是该平台的下沉委员" in twice.text
    [row] = audit_rows(app, "platform_link_member")
    assert row.changes == {"member_ids": [[], [wang.id]]}

    assert post(client, f"/manage/platforms/{platform.id}/members/{wang.id}/remove",
                {}).status_code == 303
    with app.app_context():
        assert db.session.get(Platform, platform.id).members == []


# ---- coordinators: their platforms to view, not to manage ------------------------------------


def test_coordinator_views_their_platform_but_cannot_change_it(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id, name="百步亭社区协商议事室")
    member = make("member")
    coordinator = make("user", role="coordinator", platform_ids=[platform.id])
    auth.login(coordinator.username)
    page = client.get(f"/manage/platforms/{platform.id}")
    assert page.status_code == 200 and "百步亭社区协商议事室" in page.text
    assert "修改信息" not in page.text and "暂停平台" not in page.text
    base = f"/manage/platforms/{platform.id}"
    for path in ("/edit", "/people", "/suspend", "/close"):
        assert client.get(base + path).status_code == 403, path
    writes = {
        "/edit": facts(place, name="联络员改的名字", version="1", original=""),
        "/suspend": {"reason": "想暂停"},
        "/members": {"person_id": member.id},
        f"/coordinators/{coordinator.id}/remove": {},
    }
    for path, data in writes.items():
        assert post(client, base + path, data).status_code == 403, path
    stored = load(app, platform.id)
    assert (stored.name, stored.status) == ("百步亭社区协商议事室", PlatformStatus.ACTIVE)
    with app.app_context():
        coordinators = db.session.get(Platform, platform.id).coordinators
        assert [u.id for u in coordinators] == [coordinator.id]


# ---- the detail page -------------------------------------------------------------------------


def test_detail_shows_events_and_open_problems_with_overdue_marked(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id)
    make("event", platform_id=platform.id, topic="加装电梯协商会")
    department = make("department", name="区住房局")
    late = make("issue", platform_id=platform.id, title="路灯不亮")
    make("issue", platform_id=platform.id, title="垃圾分类点")
    with app.app_context():
        issue = db.session.get(Issue, late.id)
        issue.status, issue.department_id = IssueStatus.ASSIGNED, department.id
        issue.due_on = date.today() - timedelta(days=5)
        db.session.commit()
    auth.login(make("user", role="admin").username)
    page = client.get(f"/manage/platforms/{platform.id}").text
    assert "加装电梯协商会" in page
    assert "垃圾分类点" in page
    overdue_rows = re.findall(r'<tr class="overdue">(.*?)</tr>', page, re.S)
    assert len(overdue_rows) == 1 and "路灯不亮" in overdue_rows[0] and "逾期" in overdue_rows[0]
    assert "修改信息" in page and "暂停平台" in page and "撤销平台" in page
    assert "恢复运行" not in page


def test_detail_of_a_missing_platform_is_404(client, auth, make):
    auth.login(make("user", role="admin").username)
    for path in ("", "/edit", "/people", "/suspend"):
        assert client.get(f"/manage/platforms/999999{path}").status_code == 404


def test_linking_people_does_not_clash_with_an_open_edit_form(app, client, auth, make, place):
    platform = make("platform", district_id=place.district_id, area_id=place.community_id,
                    code="420102-0009")
    member = make("member")
    auth.login(make("user", role="admin").username)
    form = client.get(f"/manage/platforms/{platform.id}/edit").text
    assert post(client, f"/manage/platforms/{platform.id}/members",
                {"person_id": member.id}).status_code == 303
    saved = post(client, f"/manage/platforms/{platform.id}/edit", facts(
        place, name="新名字", version=hidden(form, "version"), original=hidden(form, "original")))
    assert saved.status_code == 303
    assert load(app, platform.id).name == "新名字"
