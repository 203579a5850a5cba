"""Routing rules (交办规则): kept by district staff, and what 交办 is pre-filled with."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.models import AuditLog
from consult_hub.core.errors import ValidationFailed
from consult_hub.departments import routing
from consult_hub.departments.models import Department, RoutingRule
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from tests.support import factories
from tests.support.auth import csrf_token, signed_in

TODAY = date(2025, 3, 17)


@dataclass
class Place:
    district: int
    other_district: int
    street: int  # 一元街道: 一元社区 lies in it, the first platform sits there
    other_street: int  # 大智街道: the second platform sits on the street itself
    foreign_street: int  # a street of the other district
    community_platform: int
    street_platform: int
    own: int  # departments: the district's
    own_too: int
    city: int
    foreign: int  # the other district's
    retired: int  # the district's, out of use


def _area(code: str, name: str, level: AreaLevel, parent: Area | None) -> Area:
    area = Area(code=code, name=name, level=level, parent=parent)
    db.session.add(area)
    db.session.flush()
    return area


@pytest.fixture()
def place(app) -> Place:
    with app.app_context():
        district = _area("RT-D1", "江岸区", AreaLevel.DISTRICT, None)
        other = _area("RT-D2", "汉阳区", AreaLevel.DISTRICT, None)
        street = _area("RT-S1", "一元街道", AreaLevel.STREET, district)
        other_street = _area("RT-S2", "大智街道", AreaLevel.STREET, district)
        foreign_street = _area("RT-S3", "鹦鹉街道", AreaLevel.STREET, other)
        community = _area("RT-C1", "一元社区", AreaLevel.COMMUNITY, street)
        on_community = factories.platform(district_id=district.id, area_id=community.id)
        on_street = factories.platform(district_id=district.id, area_id=other_street.id)
        departments = [factories.department(district_id=district.id, name="江岸区住建局"),
                       factories.department(district_id=district.id, name="江岸区城管局"),
                       factories.department(name="市供电公司"),
                       factories.department(district_id=other.id, name="汉阳区住建局"),
                       factories.department(district_id=district.id, name="江岸区旧局",
                                            is_active=False)]
        factories.user("district_admin", district_id=district.id, username="rt_district")
        factories.user("district_admin", district_id=other.id, username="rt_other")
        factories.user("admin", username="rt_city")
        factories.user("coordinator", platform_ids=[on_community.id], username="rt_coordinator")
        db.session.commit()
        return Place(district.id, other.id, street.id, other_street.id, foreign_street.id,
                     on_community.id, on_street.id, *(d.id for d in departments))


def _issue(platform_id: int, title: str, category: str = "society",
           description: str = "居民反映的问题。") -> Issue:
    return factories.issue(platform_id=platform_id, title=title, description=description,
                           category=category)


def _suggested(issue: Issue) -> tuple[int, date] | None:
    found = routing.suggestion(issue, TODAY)
    return None if found is None else (found.department_id, found.due_on)


# --- the suggestion ---------------------------------------------------------------------------


def test_the_most_specific_matching_rule_fills_in_the_assignment(app, place):
    with app.app_context():
        rule = routing.create_rule
        rule(district_id=place.district, category="society", department_id=place.own,
             due_days=15)
        rule(district_id=place.district, keyword="电梯", department_id=place.city, due_days=30)
        rule(district_id=place.district, category="society", keyword="电梯",
             department_id=place.own_too, due_days=10)
        rule(district_id=place.district, keyword="电梯", street_ids=[place.street],
             department_id=place.own, due_days=5)
        rule(district_id=place.other_district, keyword="加装", department_id=place.foreign)
        db.session.commit()

        # Street-limited beats district-wide (the platform's community lies in 一元街道).
        in_street = _issue(place.community_platform, "加装电梯进展慢")
        assert _suggested(in_street) == (place.own, TODAY + timedelta(days=5))
        # Elsewhere in the district: category and keyword together beat either alone.
        both = _issue(place.street_platform, "楼道问题", description="希望加装电梯。")
        assert _suggested(both) == (place.own_too, TODAY + timedelta(days=10))
        # One condition each: the category alone, the keyword alone.
        assert _suggested(_issue(place.street_platform, "路面破损")) == (
            place.own, TODAY + timedelta(days=15))
        assert _suggested(_issue(place.street_platform, "电梯停运", category="economy")) == (
            place.city, TODAY + timedelta(days=30))
        # Nothing matches: no suggestion (and the other district's rule never applies here).
        assert _suggested(_issue(place.street_platform, "加装路灯", category="economy")) is None


def test_between_equally_specific_rules_the_newest_wins(app, place):
    with app.app_context():
        older = routing.create_rule(district_id=place.district, keyword="电梯",
                                    department_id=place.own)
        db.session.commit()
        newer = routing.create_rule(district_id=place.district, keyword="加装",
                                    department_id=place.own_too, due_days=7)
        db.session.commit()
        issue = _issue(place.street_platform, "加装电梯")
        assert routing.suggestion(issue, TODAY).rule_id == newer.id
        routing.delete_rule(newer, version=None)
        db.session.commit()
        assert routing.suggestion(issue, TODAY).rule_id == older.id


def test_keywords_match_title_or_description_whatever_the_case(app, place):
    with app.app_context():
        routing.create_rule(district_id=place.district, keyword="LED", department_id=place.own)
        db.session.commit()
        lamp = _issue(place.street_platform, "路灯", description="换成led灯")
        assert _suggested(lamp) is not None
        assert _suggested(_issue(place.street_platform, "路灯", description="灯不亮")) is None


def test_a_rule_leading_to_a_retired_department_suggests_nothing(app, place):
    with app.app_context():
        rule = routing.create_rule(district_id=place.district, keyword="电梯",
                                   department_id=place.city)
        db.session.commit()
        issue = _issue(place.street_platform, "电梯坏了")
        assert _suggested(issue) is not None
        db.session.get(Department, place.city).is_active = False
        db.session.commit()
        assert _suggested(issue) is None
        assert db.session.get(RoutingRule, rule.id) is not None  # the rule stays, listed


# --- validation -------------------------------------------------------------------------------


@pytest.mark.parametrize(("values", "field"), [
    ({"department": "own"}, "keyword"),  # neither a category nor a keyword
    ({"keyword": "电" * 21, "department": "own"}, "keyword"),
    ({"category": "weather", "department": "own"}, "category"),
    ({"keyword": "电梯", "streets": "foreign_street", "department": "own"}, "streets"),
    ({"keyword": "电梯", "department": "foreign"}, "department"),
    ({"keyword": "电梯", "department": "retired"}, "department"),
    ({"keyword": "电梯"}, "department"),
    ({"keyword": "电梯", "department": "own", "due_days": 0}, "due_days"),
    ({"keyword": "电梯", "department": "own", "due_days": 366}, "due_days"),
])
def test_a_refused_rule_names_the_field_and_stores_nothing(app, place, values, field):
    with app.app_context():
        kwargs = {"keyword": values.get("keyword"), "category": values.get("category"),
                  "due_days": values.get("due_days", 15)}
        if "department" in values:
            kwargs["department_id"] = getattr(place, values["department"])
        if "streets" in values:
            kwargs["street_ids"] = [getattr(place, values["streets"])]
        with pytest.raises(ValidationFailed) as refused:
            routing.create_rule(district_id=place.district, **kwargs)
        assert field in refused.value.errors
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RoutingRule)) == 0


def test_two_rules_with_the_same_conditions_are_refused(app, place):
    with app.app_context():
        routing.create_rule(district_id=place.district, keyword="电梯",
                            street_ids=[place.street], department_id=place.own)
        with pytest.raises(ValidationFailed) as refused:
            routing.create_rule(district_id=place.district, keyword=" 电梯 ",
                                street_ids=[place.street], department_id=place.city)
        assert "keyword" in refused.value.errors
        # Other streets, or the whole district, are other conditions.
        routing.create_rule(district_id=place.district, keyword="电梯", department_id=place.city)


# --- the pages --------------------------------------------------------------------------------


def _post(client, page: str, data: dict, path: str | None = None):
    return client.post(path or page, data={**data, "csrf_token": csrf_token(client, page)})


def _rules(app) -> list[RoutingRule]:
    with app.app_context():
        rules = list(db.session.scalars(sa.select(RoutingRule).order_by(RoutingRule.id)))
        for rule in rules:
            rule.street_ids = [s.id for s in rule.streets]
        db.session.expunge_all()
        return rules


def _audit(app, action: str) -> list[AuditLog]:
    with app.app_context():
        return list(db.session.scalars(sa.select(AuditLog).where(AuditLog.action == action)))


def test_district_staff_create_edit_and_delete_rules_audited(app, place):
    client = signed_in(app, "rt_district")
    form = client.get("/manage/departments/routing/new")
    assert form.status_code == 200
    assert "一元街道" in form.text and "鹦鹉街道" not in form.text  # only their streets
    assert "江岸区住建局" in form.text and "市供电公司" in form.text
    assert "汉阳区住建局" not in form.text and "江岸区旧局" not in form.text
    created = _post(client, "/manage/departments/routing/new", {
        "district": str(place.district), "category": "society", "keyword": "电梯",
        "streets": [str(place.street)], "department": str(place.own), "due_days": "10"})
    assert created.status_code == 303
    [rule] = _rules(app)
    assert (rule.district_id, rule.category.value, rule.keyword, rule.street_ids,
            rule.department_id, rule.due_days) == (place.district, "society", "电梯",
                                                   [place.street], place.own, 10)
    listing = client.get("/manage/departments/routing")
    assert "电梯" in listing.text and "一元街道" in listing.text and "10 天" in listing.text

    edit_page = f"/manage/departments/routing/{rule.id}/edit"
    version = re.search(r'name="version"[^>]*value="(\d+)"', client.get(edit_page).text)
    edited = _post(client, edit_page, {
        "version": version.group(1), "category": "", "keyword": "电梯井",
        "department": str(place.city), "due_days": ""})  # empty: the default 15 days
    assert edited.status_code == 303
    [rule] = _rules(app)
    assert (rule.category, rule.keyword, rule.street_ids, rule.department_id, rule.due_days) == (
        None, "电梯井", [], place.city, 15)

    deleted = _post(client, "/manage/departments/routing",
                    {"version": str(rule.version)},
                    f"/manage/departments/routing/{rule.id}/delete")
    assert deleted.status_code == 303 and _rules(app) == []
    [create] = _audit(app, "routing_rule_create")
    assert create.entity_type == "routing_rules" and create.changes["keyword"] == [None, "电梯"]
    [update] = _audit(app, "routing_rule_update")
    assert update.changes["streets"] == [[place.street], []]
    assert update.changes["department_id"] == [place.own, place.city]
    [delete] = _audit(app, "routing_rule_delete")
    assert delete.entity_id == rule.id and delete.changes["keyword"] == ["电梯井", None]


def test_the_default_due_days_are_fifteen(app, place):
    client = signed_in(app, "rt_district")
    assert 'value="15"' in client.get("/manage/departments/routing/new").text


def test_a_refused_rule_shows_each_message_on_its_field(app, place):
    client = signed_in(app, "rt_district")
    refused = _post(client, "/manage/departments/routing/new", {
        "district": str(place.district), "keyword": "", "category": "",
        "streets": [str(place.foreign_street)], "department": str(place.own),
        "due_days": "400"})
    assert refused.status_code == 422
    assert "请填写关键词或选择议题类别，至少一项" in refused.text
    assert "只能选择本区的街道" in refused.text
    assert "办理期限为 1 到 365 天" in refused.text
    not_a_number = _post(client, "/manage/departments/routing/new", {
        "district": str(place.district), "keyword": "电梯", "department": str(place.own),
        "due_days": "十五"})
    assert not_a_number.status_code == 422 and "请填写 1 到 365 之间的整数" in not_a_number.text
    assert _rules(app) == []


def test_a_stale_edit_or_delete_is_409(app, place):
    with app.app_context():
        rule = routing.create_rule(district_id=place.district, keyword="电梯",
                                   department_id=place.own)
        db.session.commit()
        rule_id, opened = rule.id, rule.version
    first, second = signed_in(app, "rt_district"), signed_in(app, "rt_city")
    page = f"/manage/departments/routing/{rule_id}/edit"
    assert _post(second, page, {"version": str(opened), "keyword": "电梯",
                                "department": str(place.own), "due_days": "20",
                                "streets": [str(place.street)]}).status_code == 303
    stale = _post(first, page, {"version": str(opened), "keyword": "路灯",
                                "department": str(place.own), "due_days": "15"})
    assert stale.status_code == 409
    assert "已被他人修改" in stale.text and "一元街道" in stale.text  # what the other changed
    late_delete = _post(first, "/manage/departments/routing", {"version": str(opened)},
                        f"/manage/departments/routing/{rule_id}/delete")
    assert late_delete.status_code == 409
    [rule] = _rules(app)
    assert (rule.keyword, rule.due_days, rule.street_ids) == ("电梯", 20, [place.street])


def test_other_districts_and_coordinators_are_refused(app, place):
    with app.app_context():
        rule = routing.create_rule(district_id=place.district, keyword="电梯",
                                   department_id=place.own)
        db.session.commit()
        rule_id, version = rule.id, rule.version
    other = signed_in(app, "rt_other")
    assert other.get(f"/manage/departments/routing/{rule_id}/edit").status_code == 403
    assert _post(other, "/manage/departments/routing", {
        "version": str(version), "keyword": "x", "department": str(place.own)},
        f"/manage/departments/routing/{rule_id}/edit").status_code == 403
    assert _post(other, "/manage/departments/routing", {"version": str(version)},
                 f"/manage/departments/routing/{rule_id}/delete").status_code == 403
    assert _post(other, "/manage/departments/routing", {
        "district": str(place.district), "keyword": "路灯", "department": str(place.own)},
        "/manage/departments/routing/new").status_code == 403
    assert other.get(f"/manage/departments/routing/new?district={place.district}"
                     ).status_code == 403
    assert "电梯" not in other.get("/manage/departments/routing").text  # not their district's
    coordinator = signed_in(app, "rt_coordinator")
    assert coordinator.get("/manage/departments/routing").status_code == 403
    assert [r.keyword for r in _rules(app)] == ["电梯"]


def test_city_staff_pick_the_district_first(app, place):
    client = signed_in(app, "rt_city")
    picker = client.get("/manage/departments/routing/new")
    assert picker.status_code == 200 and "江岸区" in picker.text and "汉阳区" in picker.text
    form = client.get(f"/manage/departments/routing/new?district={place.other_district}")
    assert "鹦鹉街道" in form.text and "一元街道" not in form.text
    assert "汉阳区住建局" in form.text and "江岸区住建局" not in form.text
    created = _post(client, f"/manage/departments/routing/new?district={place.other_district}", {
        "district": str(place.other_district), "keyword": "积水",
        "streets": [str(place.foreign_street)], "department": str(place.foreign),
        "due_days": "3"}, "/manage/departments/routing/new")
    assert created.status_code == 303
    [rule] = _rules(app)
    assert rule.district_id == place.other_district and rule.street_ids == [place.foreign_street]


def test_the_department_list_shows_each_departments_rules(app, place):
    with app.app_context():
        routing.create_rule(district_id=place.district, keyword="电梯",
                            street_ids=[place.street], department_id=place.city, due_days=9)
        routing.create_rule(district_id=place.other_district, keyword="积水",
                            department_id=place.city)
        db.session.commit()
    page = signed_in(app, "rt_district").get("/manage/departments/")
    assert page.status_code == 200
    assert "含“电梯”" in page.text and "一元街道" in page.text and "9 天" in page.text
    assert "积水" not in page.text  # another district's rule for the same city department
    assert f"/manage/departments/routing?department={place.city}" in page.text
    city = signed_in(app, "rt_city").get("/manage/departments/")
    assert "积水" in city.text and "电梯" in city.text
    only = signed_in(app, "rt_city").get(f"/manage/departments/routing?department={place.own}")
    assert only.status_code == 200 and "电梯" not in only.text
