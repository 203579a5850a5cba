"""The one transition table for residents' problems, and the one function that applies it.

Each action names the statuses it may start from, the status it leads to, the fields it
needs and its effect: what it writes on the problem. ``apply`` checks all of that, changes
the problem and writes the IssueUpdate that becomes its timeline. The demo and the bench
generators build their rows from the same transitions (``Transition.changes``), so a rule
written here holds for every problem, however it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from consult_hub.core.db import Base, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    DUE_STATUSES,
    OPEN_STATUSES,
    Issue,
    IssueStatus,
    IssueUpdate,
)

S = IssueStatus
# A problem waiting on triage or on its department may be assigned (again) or resolved.
OPEN_WORKING = DUE_STATUSES

# An effect: the columns an action writes besides the status, from the action's checked values
# (text stripped, records such as the department given as their ids).
Effect = Callable[[Mapping[str, Any]], dict[str, Any]]


def _no_effect(values: Mapping[str, Any]) -> dict[str, Any]:
    return {}


def _assign(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"department_id": values["department"], "due_on": values["due_on"]}


def _plan(values: Mapping[str, Any]) -> dict[str, Any]:
    # The public explanation is optional here; without one the last answer stays.
    explained = {"resolution": values["resolution"]} if values.get("resolution") else {}
    return {"planned_on": values["planned_on"], **explained}


def _answer(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"resolution": values["resolution"]}


def _reject(values: Mapping[str, Any]) -> dict[str, Any]:
    return {"resolution": values["reason"], "duplicate_of_id": values.get("duplicate_of")}


def _reopen(values: Mapping[str, Any]) -> dict[str, Any]:
    # The old due date has passed; the department stays as a hint for re-assignment.
    return {"due_on": None, "closed_at": None, "resolved_at": None, "satisfaction": None,
            "rated_at": None}


@dataclass(frozen=True)
class Transition:
    action: str
    label: Any  # a lazy translation
    sources: frozenset[IssueStatus]
    # None: the status stays as it is (a progress note).
    target: IssueStatus | None
    requires: tuple[str, ...] = ()
    is_public: bool = True
    optional: tuple[str, ...] = field(default=())
    effect: Effect = _no_effect
    # The time columns set to the action's moment, by the status it leads to (derived).
    stamps: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        stamps = (("resolved_at", self.target is S.RESOLVED),
                  ("closed_at", self.target in CLOSED_STATUSES))
        object.__setattr__(self, "stamps", tuple(name for name, due in stamps if due))

    def changes(self, current: IssueStatus, values: Mapping[str, Any],
                at: Any) -> dict[str, Any]:
        """Every column the action writes from ``current``: its effect, the status it leads
        to and the times it stamps (``at``, in whatever form the caller keeps time)."""
        changes = self.effect(values)
        changes["status"] = self.target or current
        for name in self.stamps:
            changes[name] = at
        return changes


# Labels name the action (context "action": 不予受理 is "Reject" here, "Rejected" as a status).
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("assign", _lp("action", "交办"), OPEN_WORKING, S.ASSIGNED,
                   ("department", "due_on"), effect=_assign),
        Transition("start", _lp("action", "开始办理"), frozenset({S.ASSIGNED}), S.IN_PROGRESS),
        Transition("resolve", _lp("action", "办结(已解决或采纳)"), OPEN_WORKING | {S.PLANNED},
                   S.RESOLVED, ("resolution",), effect=_answer),
        Transition("plan", _lp("action", "列入计划"), frozenset({S.ASSIGNED, S.IN_PROGRESS}),
                   S.PLANNED, ("planned_on",), optional=("resolution",), effect=_plan),
        Transition("constrain", _lp("action", "因条件所限一时难以解决"),
                   frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PLANNED}), S.CONSTRAINED,
                   ("resolution",), effect=_answer),
        Transition("reject", _lp("action", "不予受理"), frozenset({S.RECEIVED, S.ASSIGNED}),
                   S.REJECTED, ("reason",), optional=("duplicate_of",), effect=_reject),
        # Back to triage: staff assign again with a fresh due date.
        Transition("reopen", _lp("action", "重新办理"), CLOSED_STATUSES, S.RECEIVED, ("reason",),
                   effect=_reopen),
        Transition("note", _lp("action", "办理进展"), OPEN_STATUSES, None, ("note",),
                   optional=("is_public",)),
    )
}

FIELD_LABELS = {
    "department": _l("承办单位"),
    "due_on": _l("办理期限"),
    "resolution": _l("答复内容"),
    "planned_on": _l("计划完成日期"),
    "reason": _l("理由"),
    "note": _l("进展说明"),
    "duplicate_of": _l("重复的诉求"),
}
# The dates an action sets that may not lie in the past.
NOT_BEFORE_TODAY = {"due_on": _l("办理期限不能早于今天"),
                    "planned_on": _l("计划完成日期不能早于今天")}


def next_status(current: IssueStatus, action: str) -> IssueStatus:
    """The status ``action`` leads to from ``current`` (the action must be allowed)."""
    return TRANSITIONS[action].target or current


def allowed_actions(issue: Issue) -> list[Transition]:
    """The actions that may be taken on ``issue`` in its current status."""
    return [t for t in TRANSITIONS.values() if issue.status in t.sources]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def timeline_note(values: Mapping[str, Any]) -> Any:
    """The text an action leaves on the timeline: the note, the reason or the answer."""
    return values.get("note") or values.get("reason") or values.get("resolution")


def _plain(value: Any) -> Any:
    """A value as effects take it: text stripped, a record (department, original) as its id."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Base):
        return value.id
    return value


def apply(
    issue: Issue,
    action: str,
    *,
    actor_id: int | None,
    now: datetime | None = None,
    today: date | None = None,
    **values: Any,
) -> IssueUpdate:
    """Take ``action`` on ``issue`` or raise ValidationFailed naming the field; nothing changes
    then."""
    now = now or utcnow()
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationFailed({"action": _("未知操作 %(action)s", action=repr(action))})
    if issue.status not in transition.sources:
        raise ValidationFailed(
            {"action": _("“%(status)s”状态下不能%(action)s", status=issue.status.label,
                         action=transition.label)}
        )
    errors = {
        name: _("请填写%(field)s", field=FIELD_LABELS[name])
        for name in transition.requires
        if _missing(values.get(name))
    }
    unknown = set(values) - set(transition.requires) - set(transition.optional)
    if unknown:
        errors.update({name: _("此操作不接受该字段") for name in sorted(unknown)})
    if not errors and today is not None:
        errors.update({name: str(message) for name, message in NOT_BEFORE_TODAY.items()
                       if values.get(name) is not None and values[name] < today})
    duplicate = values.get("duplicate_of")
    if duplicate is not None and duplicate.id == issue.id:
        errors["duplicate_of"] = _("不能标记为与自身重复")
    if errors:
        raise ValidationFailed(errors)

    before = issue.status
    plain = {name: _plain(value) for name, value in values.items()}
    for name, value in transition.changes(before, plain, now).items():
        setattr(issue, name, value)
    for name, value in values.items():
        if isinstance(value, Base):  # the relationship too, so it reads right before a refresh
            setattr(issue, name, value)

    update = IssueUpdate(
        action=action,
        from_status=before,
        to_status=issue.status,
        note=timeline_note(plain),
        is_public=bool(values.get("is_public", True)) if action == "note" else transition.is_public,
        actor_id=actor_id,
        created_at=now,
    )
    issue.updates.append(update)
    return update
