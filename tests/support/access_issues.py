"""Write routes of the staff problem pages: coordinators record, district staff follow through."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consult_hub.issues import lifecycle
from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.access import Route, World, staff

STAFF_ONLY = staff(coordinator=403)


def _later(days: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def _issue_after(*actions: str) -> Callable[[World], None]:
    """A problem on the first platform, walked through ``actions``."""

    def setup(world: World) -> None:
        issue = factories.issue(platform_id=world.platform.id)
        department = factories.department()
        for action in actions:
            values: dict[str, Any] = {
                "assign": {"department": department, "due_on": date.today() + timedelta(days=9)},
                "resolve": {"resolution": "已解决"},
            }[action]
            change_status(issue, action, actor_id=None, **values)
        world.objects["issue"] = issue
        world.objects["department"] = department

    return setup


def _version(world: World, **data: Any) -> dict[str, Any]:
    return {"version": str(world.issue.version), **data}


def _act(action: str, data: Callable[[World], dict[str, Any]], setup: Callable[[World], None],
         expect: dict[str, str | int]) -> Route:
    return Route("issues.act", lambda w: f"/manage/issues/{w.issue.id}/act/{action}",
                 expect, data=data, setup=setup, name=f"issues.act-{action}")


ACTIONS = [
    _act("assign", lambda w: _version(w, department=w.department.id, due_on=_later(10)),
         _issue_after(), STAFF_ONLY),
    _act("start", _version, _issue_after("assign"), STAFF_ONLY),
    _act("resolve", lambda w: _version(w, resolution="已协调解决"), _issue_after(), staff()),
    _act("plan", lambda w: _version(w, planned_on=_later(60)), _issue_after("assign"),
         STAFF_ONLY),
    _act("constrain", lambda w: _version(w, resolution="一时难以解决"), _issue_after("assign"),
         STAFF_ONLY),
    _act("reject", lambda w: _version(w, reason="不属于受理范围"), _issue_after(), staff()),
    _act("reopen", lambda w: _version(w, reason="居民不满意"), _issue_after("assign", "resolve"),
         STAFF_ONLY),
    _act("note", lambda w: _version(w, note="已约谈物业", is_public="y"), _issue_after(), staff()),
]
assert {route.name.split("-")[1] for route in ACTIONS} == set(lifecycle.TRANSITIONS)

ROUTES = [
    Route("issues.new", lambda w: f"/manage/issues/new?platform={w.platform.id}", staff(),
          data=lambda w: {"platform_id": w.platform.id, "source": "resident", "title": "路灯不亮",
                          "description": "小区东门路灯坏了一个月", "kind": "doorstep",
                          "category": "society", "submitter_phone": "13800001234"}),
    *ACTIONS,
    Route("issues.rate", lambda w: f"/manage/issues/{w.issue.id}/satisfaction", staff(),
          data=lambda w: _version(w, satisfaction="satisfied"),
          setup=_issue_after("assign", "resolve")),
    Route("issues.edit", lambda w: f"/manage/issues/{w.issue.id}/edit", staff(),
          data=lambda w: {"version": str(w.issue.version), "original": "{}", "title": "新标题",
                          "description": "新描述", "kind": "urgent", "category": "society"},
          setup=_issue_after()),
]
