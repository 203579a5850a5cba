"""Write routes of the proposal pages (提案): members write and rate their own, staff review
and follow them, the lead department replies, a co-handling department sends its opinion."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from consult_hub.proposals import lifecycle
from consult_hub.proposals.operations import change_status, create_proposal
from tests.support.access import OK, Route, World, departments, members, staff

# Review and follow-through: city staff, and district staff of the proposer's district.
OFFICE = staff(coordinator=403)
CITY = staff(district_admin=403, coordinator=403)
# The proposer's own word (the matrix's proposal is member A's).
PROPOSER = staff(admin=403, district_admin=403, coordinator=403, member=OK)
LEAD = staff(admin=403, district_admin=403, coordinator=403, department=OK)
CO = staff(admin=403, district_admin=403, coordinator=403, other_department=OK)

VALUES: dict[str, dict[str, Any]] = {
    "reply": {"outcome": "planned", "reply": "已列入明年计划。"},
    "rate": {"rating": "satisfied"},
}


def proposal_after(*actions: str, key: bool = False) -> Callable[[World], None]:
    """Member A's proposal (a draft written by them), walked through ``actions``; accepted
    with department A leading and B co-handling."""

    def setup(world: World) -> None:
        dept_a, dept_b = departments(world)
        member_a, _member_b = members(world)
        proposal = create_proposal(
            actor=world.users["member"], title="关于加快老旧小区加装电梯的建议",
            reasons="老旧小区老人上下楼难。", suggestions="简化审批，给予补贴。",
            category="society", timing="interim", year=2026, proposer_kind="member",
            lead_member_id=member_a.id, co_member_ids=[], collective_kind=None,
            collective_name=None)
        for action in actions:
            values = dict(VALUES.get(action, {}))
            if action == "accept":
                values = {"lead_department": dept_a, "co_departments": [dept_b]}
            change_status(proposal, action, actor=None, values=values)
        if key:
            proposal.is_key = True
        world.objects["proposal"] = proposal

    return setup


def _version(world: World, **data: Any) -> dict[str, Any]:
    return {"version": str(world.proposal.version), **data}


def _act(action: str, data: Callable[[World], dict[str, Any]], setup: Callable[[World], None],
         expect: dict[str, str | int], name: str = "") -> Route:
    return Route("proposals.act", lambda w: f"/manage/proposals/{w.proposal.id}/act/{action}",
                 expect, data=data, setup=setup, name=name or f"proposals.act-{action}")


ACCEPTED = ("submit", "accept")
ACTIONS = [
    _act("submit", _version, proposal_after(), staff(other_coordinator=403, coordinator=403,
                                                     member=OK)),
    _act("accept", lambda w: _version(w, lead_department=w.dept_a.id,
                                      co_departments=[w.dept_b.id]),
         proposal_after("submit"), OFFICE),
    _act("not_accept", lambda w: _version(w, reason="建议属于个案，转有关部门研究。"),
         proposal_after("submit"), OFFICE),
    _act("acknowledge", _version, proposal_after(*ACCEPTED), LEAD),
    _act("reply", lambda w: _version(w, outcome="planned", reply="已列入明年计划。"),
         proposal_after(*ACCEPTED), LEAD),
    _act("co_acknowledge", _version, proposal_after(*ACCEPTED), CO),
    _act("co_opinion", lambda w: _version(w, opinion="同意主办单位意见。"),
         proposal_after(*ACCEPTED), CO),
    _act("rate", lambda w: _version(w, rating="satisfied"),
         proposal_after(*ACCEPTED, "reply"), PROPOSER),
    _act("mark_key", _version, proposal_after(*ACCEPTED), CITY),
    _act("unmark_key", _version, proposal_after(*ACCEPTED, key=True), CITY),
    _act("reassign", lambda w: _version(w, lead_department=w.dept_b.id, reason="职责调整"),
         proposal_after(*ACCEPTED), OFFICE),
]
assert {route.name.split("-")[1] for route in ACTIONS} == set(lifecycle.TRANSITIONS)


def _with_members(world: World) -> None:
    members(world)


def _new_data(world: World) -> dict[str, Any]:
    departments(world)
    member_a, member_b = members(world)
    return {"title": "关于完善社区养老服务的建议", "reasons": "社区老人多。",
            "suggestions": "增设助餐点。", "category": "society", "timing": "interim",
            "year": "2026", "proposer_kind": "member", "lead_member": member_a.id}


ROUTES = [
    # A member writes for themselves (the lead member is always them); district staff for the
    # members of their district only (another district's member: refused on the field).
    Route("proposals.new", lambda w: "/manage/proposals/new",
          staff(coordinator=403, other_coordinator=403, other_district_admin=422,
                member=OK, other_member=OK), data=_new_data, setup=_with_members),
    Route("proposals.edit", lambda w: f"/manage/proposals/{w.proposal.id}/edit",
          staff(coordinator=403, member=OK),
          data=lambda w: {**_new_data(w), "version": str(w.proposal.version), "original": "{}"},
          setup=proposal_after()),
    *ACTIONS,
]
