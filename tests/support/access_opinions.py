"""Write routes of the opinion-report pages (社情民意信息): members and coordinators write and
send their own, district and city staff edit and decide, city staff forward (报送上级)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consult_hub.opinions import lifecycle
from tests.support.access import LOGIN, OK, Route, World, members, staff
from tests.support.opinions import report, step_values

# Decisions, instructions and their follow-up: city staff and the report's district's staff.
OFFICE = staff(coordinator=403)
CITY = staff(district_admin=403, coordinator=403)
# The writer's side of the matrix's report (member A's): member A and the office.
WRITER = staff(coordinator=403, member=OK)


def _report_after(*actions: str, platform: bool = False) -> Callable[[World], None]:
    """Member A's report (the "member" role's), or with ``platform`` the first platform's own
    report written by its coordinator, walked through ``actions``."""

    def setup(world: World) -> None:
        member_a, _member_b = members(world)
        if platform:
            made = report(author=world.users["coordinator"], platform=world.platform)
        else:
            made = report(author=world.users["member"], member=member_a)
        for action in actions:
            from consult_hub.opinions.operations import change_status

            change_status(made, action, actor_id=None, **step_values(action))
        world.objects["report"] = made

    return setup


def _form(action: str) -> dict[str, Any]:
    values = step_values(action)
    return {name: value.isoformat() if hasattr(value, "isoformat") else value
            for name, value in values.items()}


def _act(action: str, setup: Callable[[World], None], expect: dict[str, str | int],
         name: str = "") -> Route:
    return Route("opinions.act", lambda w: f"/manage/opinion-reports/{w.report.id}/act/{action}",
                 expect, data=lambda w: {"version": str(w.report.version), **_form(action)},
                 setup=setup, name=name or f"opinions.act-{action}")


ACTIONS = [
    _act("submit", _report_after(), WRITER),
    _act("adopt", _report_after("submit"), OFFICE),
    _act("not_adopt", _report_after("submit"), OFFICE),
    _act("return", _report_after("submit"), OFFICE),
    _act("forward", _report_after("submit", "adopt"), CITY),
    _act("instruct", _report_after("submit", "adopt"), OFFICE),
    _act("follow_up", _report_after("submit", "adopt", "instruct"), OFFICE),
]
assert {route.name.split("-", 1)[1] for route in ACTIONS} == set(lifecycle.TRANSITIONS)


def _new(platform: bool) -> Callable[[World], dict[str, Any]]:
    def data(world: World) -> dict[str, Any]:
        values = {"title": "关于社区养老服务的建议", "body": "日间照料中心床位不足。",
                  "category": "society", "send": "1"}
        if platform:
            values["platform"] = world.platform.id
        return values

    return data


def _edit(world: World) -> dict[str, Any]:
    return {"version": str(world.report.version), "original": "{}", "title": "修改后的标题",
            "body": "修改后的正文。", "category": "economy"}


ROUTES = [
    # Without a platform: a coordinator must name one of theirs (422); the others write.
    Route("opinions.new", lambda w: "/manage/opinion-reports/new",
          {**staff(other_district_admin=OK, coordinator=422, other_coordinator=422, member=OK,
                   other_member=OK), "anonymous": LOGIN},
          data=_new(platform=False), setup=lambda w: members(w) and None),
    # For the first platform: its coordinator, the member serving it and the office; the
    # others may not choose it (422, nothing stored).
    Route("opinions.new", lambda w: "/manage/opinion-reports/new",
          staff(other_district_admin=422, other_coordinator=422, member=OK, other_member=422),
          data=_new(platform=True), setup=lambda w: members(w) and None,
          name="opinions.new-platform"),
    *ACTIONS,
    # The platform's own report: its coordinator sends it, another platform's may not.
    _act("submit", _report_after(platform=True), staff(), name="opinions.act-submit-platform"),
    # A draft: its writer edits it; a submitted one: only the office, until decided (a
    # decided one: nobody, tests/opinions/test_pages.py).
    Route("opinions.edit", lambda w: f"/manage/opinion-reports/{w.report.id}/edit", WRITER,
          data=_edit, setup=_report_after()),
    Route("opinions.edit", lambda w: f"/manage/opinion-reports/{w.report.id}/edit", OFFICE,
          data=_edit, setup=_report_after("submit"), name="opinions.edit-submitted"),
]
