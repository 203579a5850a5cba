"""The one transition table for residents' problems, and the one function that applies it.

Each action names the statuses it may start from, the status it leads to and
the fields it needs. ``apply`` checks all of that, changes the problem and
writes the IssueUpdate that becomes its timeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp

from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.issues.models import CLOSED_STATUSES, Issue, IssueStatus, IssueUpdate

S = IssueStatus
OPEN_WORKING = frozenset({S.RECEIVED, S.ASSIGNED, S.IN_PROGRESS})


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


# Labels name the action (context "action": 不予受理 is "Reject" here, "Rejected" as a status).
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("assign", _lp("action", "交办"), OPEN_WORKING, S.ASSIGNED,
                   ("department", "due_on")),
        Transition("start", _lp("action", "开始办理"), frozenset({S.ASSIGNED}), S.IN_PROGRESS),
        Transition("resolve", _lp("action", "办结(已解决或采纳)"), OPEN_WORKING | {S.PLANNED},
                   S.RESOLVED, ("resolution",)),
        Transition("plan", _lp("action", "列入计划"), frozenset({S.ASSIGNED, S.IN_PROGRESS}),
                   S.PLANNED, ("planned_on",), optional=("resolution",)),
        Transition("constrain", _lp("action", "因条件所限一时难以解决"),
                   frozenset({S.ASSIGNED, S.IN_PROGRESS, S.PLANNED}), S.CONSTRAINED,
                   ("resolution",)),
        Transition("reject", _lp("action", "不予受理"), frozenset({S.RECEIVED, S.ASSIGNED}),
                   S.REJECTED, ("reason",), optional=("duplicate_of",)),
        # Back to triage: staff assign again with a fresh due date.
        Transition("reopen", _lp("action", "重新办理"), CLOSED_STATUSES, S.RECEIVED, ("reason",)),
        Transition("note", _lp("action", "办理进展"), frozenset(IssueStatus) - CLOSED_STATUSES,
                   None, ("note",), optional=("is_public",)),
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


def next_status(current: IssueStatus, action: str) -> IssueStatus:
    """The status ``action`` leads to from ``current`` (the action must be allowed)."""
    return TRANSITIONS[action].target or current


def allowed_actions(issue: Issue) -> list[Transition]:
    """The actions that may be taken on ``issue`` in its current status."""
    return [t for t in TRANSITIONS.values() if issue.status in t.sources]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def apply(
    issue: Issue,
    action: str,
    *,
    actor_id: int | None,
    now: datetime | None = None,
    today: date | None = None,
    **values: Any,
) -> IssueUpdate:
    """Take ``action`` on ``issue`` or raise ValidationFailed naming the field; nothing changes then."""
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
    if action == "assign" and not errors and today is not None and values["due_on"] < today:
        errors["due_on"] = _("办理期限不能早于今天")
    if action == "plan" and not errors and today is not None and values["planned_on"] < today:
        errors["planned_on"] = _("计划完成日期不能早于今天")
    duplicate = values.get("duplicate_of")
    if duplicate is not None and duplicate.id == issue.id:
        errors["duplicate_of"] = _("不能标记为与自身重复")
    if errors:
        raise ValidationFailed(errors)

    before = issue.status
    note = values.get("note") or values.get("reason") or values.get("resolution")
    if action == "assign":
        issue.department = values["department"]
        issue.department_id = values["department"].id
        issue.due_on = values["due_on"]
    elif action == "plan":
        issue.planned_on = values["planned_on"]
        if not _missing(values.get("resolution")):
            issue.resolution = values["resolution"].strip()
    elif action in ("resolve", "constrain"):
        issue.resolution = values["resolution"].strip()
    elif action == "reject":
        issue.resolution = values["reason"].strip()
        issue.duplicate_of = duplicate

    if action == "reopen":
        # The old due date has passed; the department stays as a hint for re-assignment.
        issue.due_on = None
        issue.closed_at = None
        issue.resolved_at = None
        issue.satisfaction = None
        issue.rated_at = None
    target = next_status(before, action)
    issue.status = target
    if target is S.RESOLVED:
        issue.resolved_at = now
    if target in CLOSED_STATUSES:
        issue.closed_at = now

    update = IssueUpdate(
        action=action,
        from_status=before,
        to_status=target,
        note=note.strip() if isinstance(note, str) else note,
        is_public=bool(values.get("is_public", True)) if action == "note" else transition.is_public,
        actor_id=actor_id,
        created_at=now,
    )
    issue.updates.append(update)
    return update
