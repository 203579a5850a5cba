"""Write routes of the staff problem pages: coordinators record, district staff follow through,
departments act on the problems assigned to them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from consult_hub.issues import lifecycle
from consult_hub.issues.operations import change_status
from tests.support import factories
from tests.support.access import OK, Route, World, departments, staff

STAFF_ONLY = staff(coordinator=403)
# The department's own word (签收, 答复, 申请延期, 退回): the contact of the department holding
# the problem, nobody else (staff do not speak for a department).
DEPARTMENT_ONLY = staff(admin=403, district_admin=403, coordinator=403, department=OK)


def _later(days: int) -> str:
    return (datetime.now(ZoneInfo("Asia/Shanghai")).date() + timedelta(days=days)).isoformat()


def _issue_after(*actions: str, pending: bool = False) -> Callable[[World], None]:
    """A problem on the first platform, walked through ``actions`` (assigned to department A,
    whose contact is the matrix's "department"); ``pending``: a resident's submission."""

    def setup(world: World) -> None:
        department, _other = departments(world)
        issue = factories.issue(platform_id=world.platform.id, needs_review=pending)
        for action in actions:
            values: dict[str, Any] = {
                "assign": {"department": department, "due_on": date.today() + timedelta(days=9)},
                "resolve": {"resolution": "已解决"},
                "reply": {"reply": "已修复路灯。", "proposed_status": "resolved"},
                "request_extension": {"requested_due_on": date.today() + timedelta(days=30),
                                      "reason": "需要采购灯具"},
            }[action]
            change_status(issue, action, actor_id=None, **values)
        world.objects["issue"] = issue
        world.objects["department"] = department

    return setup


def _photo_submission(world: World) -> None:
    """A resident's submission with one photo (the row is enough: access is decided first)."""
    from consult_hub.issues.models import IssuePhoto

    issue = factories.issue(platform_id=world.platform.id, needs_review=True)
    issue.photos.append(IssuePhoto(stored_name=f"{issue.id:032x}.jpg", content_type="image/jpeg",
                                   size=1, width=1, height=1))
    world.objects["issue"] = issue


def _version(world: World, **data: Any) -> dict[str, Any]:
    return {"version": str(world.issue.version), **data}


def _act(action: str, data: Callable[[World], dict[str, Any]], setup: Callable[[World], None],
         expect: dict[str, str | int], name: str = "") -> Route:
    return Route("issues.act", lambda w: f"/manage/issues/{w.issue.id}/act/{action}",
                 expect, data=data, setup=setup, name=name or f"issues.act-{action}")


ACTIONS = [
    _act("accept", lambda w: _version(w, title="东门路灯不亮", description="东门路灯坏了一个月。"),
         _issue_after(pending=True), STAFF_ONLY),
    _act("assign", lambda w: _version(w, department=w.department.id, due_on=_later(10)),
         _issue_after(), STAFF_ONLY),
    _act("acknowledge", _version, _issue_after("assign"), DEPARTMENT_ONLY),
    _act("start", _version, _issue_after("assign"), staff(coordinator=403, department=OK)),
    _act("reply", lambda w: _version(w, reply="已修复。", proposed_status="resolved"),
         _issue_after("assign"), DEPARTMENT_ONLY),
    _act("request_extension",
         lambda w: _version(w, requested_due_on=_later(40), reason="需要采购灯具"),
         _issue_after("assign"), DEPARTMENT_ONLY),
    _act("return", lambda w: _version(w, reason="不属于本单位职责"), _issue_after("assign"),
         DEPARTMENT_ONLY),
    _act("approve_extension", _version, _issue_after("assign", "request_extension"),
         STAFF_ONLY),
    _act("refuse_extension", lambda w: _version(w, reason="期限内可以办结"),
         _issue_after("assign", "request_extension"), STAFF_ONLY),
    _act("confirm", lambda w: _version(w, resolution="路灯已修复。"),
         _issue_after("assign", "reply"), STAFF_ONLY),
    _act("rework", lambda w: _version(w, reason="请说明修复时间"),
         _issue_after("assign", "reply"), STAFF_ONLY),
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
    # A department's progress note on the problem it holds (another department's: refused).
    _act("note", lambda w: _version(w, note="已派人查看"), _issue_after("assign"),
         staff(coordinator=OK, department=OK), name="issues.act-note-assigned"),
    # A resident's submission is reviewed (accepted or rejected) by staff, not a coordinator.
    _act("reject", lambda w: _version(w, reason="不属于受理范围"), _issue_after(pending=True),
         STAFF_ONLY, name="issues.act-reject-pending"),
    # Showing or withholding a resident's photo: whoever reviews the problem.
    Route("issues.photo_public", lambda w: f"/manage/issues/photos/{w.issue.photos[0].id}/public",
          STAFF_ONLY, data=lambda w: {"show": "no"}, setup=_photo_submission),
    Route("issues.rate", lambda w: f"/manage/issues/{w.issue.id}/satisfaction", staff(),
          data=lambda w: _version(w, satisfaction="satisfied"),
          setup=_issue_after("assign", "resolve")),
    Route("issues.edit", lambda w: f"/manage/issues/{w.issue.id}/edit", staff(),
          data=lambda w: {"version": str(w.issue.version), "original": "{}", "title": "新标题",
                          "description": "新描述", "kind": "urgent", "category": "society"},
          setup=_issue_after()),
]
