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

from flask_babel import lazy_pgettext as _lp

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, max_length, set_columns, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.extensions import db
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    DUE_STATUSES,
    OPEN_STATUSES,
    PROPOSABLE_STATUSES,
    Issue,
    IssueKind,
    IssueStatus,
    IssueUpdate,
)
from consult_hub.issues.privacy import ID_NUMBER, PHONE, public_text_errors
from consult_hub.platforms.models import Platform

S = IssueStatus
# A problem waiting on triage or on its department may be assigned (again) or resolved.
OPEN_WORKING = DUE_STATUSES
# Where a department holds the problem before answering: it acknowledges, asks for more time,
# answers or sends it back.
DEPARTMENT_WORKING = frozenset({S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS})

# An effect: the columns an action writes besides the status, from the action's checked values
# (text stripped, records such as the department given as their ids) and the record as it is
# before the action (an Issue, or the dict a generator keeps for one; read it with ``column``).
Effect = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def column(record: Any, name: str) -> Any:
    """A column of ``record``, an Issue or a generator's row dict."""
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name)


def _no_effect(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {}


# What a department's handling leaves behind, cleared whenever the problem starts afresh.
HANDLING_CLEARED = dict.fromkeys((
    "acknowledged_at", "replied_at", "reply", "proposed_status", "proposed_planned_on",
    "requested_due_on", "extension_reason", "rework_reason"))


def _accept(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # The public title and description staff wrote replace the working text; the resident's
    # own words stay in submitted_title / submitted_text.
    changes = {"title": values["title"], "description": values["description"]}
    # The location staff publish (the reported address, tidied), and the platform they chose
    # for a submission that arrived without one (Open311 with only an address). ``platform``
    # comes as its id; its district is read with it (the view passed the row: no query).
    if values.get("address"):
        changes["address"] = values["address"]
    # The classification staff give a resident's submission (it came without one), or their
    # correction of the one it came with.
    for name, enum_cls in (("kind", IssueKind), ("category", Category)):
        if values.get(name):
            changes[name] = enum_cls(values[name])
    if values.get("platform") is not None:
        platform = db.session.get(Platform, values["platform"])
        changes["platform_id"] = values["platform"]
        changes["district_id"] = platform.district_id if platform is not None else None
    return changes


def _assign(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {**HANDLING_CLEARED, "department_id": values["department"],
            "due_on": values["due_on"], "returned_at": None}


def _plan(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # The public explanation is optional here; without one the last answer stays.
    explained = {"resolution": values["resolution"]} if values.get("resolution") else {}
    return {"planned_on": values["planned_on"], **explained}


def _answer(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"resolution": values["resolution"]}


def _reject(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"resolution": values["reason"], "duplicate_of_id": values.get("duplicate_of")}


def _reopen(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # The old due date has passed; the department stays as a hint for re-assignment.
    return {"due_on": None, "closed_at": None, "resolved_at": None, "satisfaction": None,
            "rated_at": None}


def _reply(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    proposed = S(values["proposed_status"])
    return {"reply": values["reply"], "proposed_status": proposed,
            "proposed_planned_on": values.get("planned_on") if proposed is S.PLANNED else None,
            "rework_reason": None, "requested_due_on": None, "extension_reason": None}


def _request_extension(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"requested_due_on": values["requested_due_on"], "extension_reason": values["reason"]}


def _approve_extension(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"due_on": column(record, "requested_due_on"), "requested_due_on": None,
            "extension_reason": None}


def _refuse_extension(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"requested_due_on": None, "extension_reason": None}


def _send_back(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # Not this department's: back to triage, without a department or a due date.
    return {**HANDLING_CLEARED, "department_id": None, "due_on": None, "assigned_at": None}


def _confirm(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # The department's reply becomes the public answer, unless staff edited it.
    changes = {"resolution": values.get("resolution") or column(record, "reply"),
               "proposed_status": None, "proposed_planned_on": None}
    if column(record, "proposed_status") in (S.PLANNED, S.PLANNED.value):
        changes["planned_on"] = column(record, "proposed_planned_on")
    return changes


def _rework(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"rework_reason": values["reason"], "proposed_status": None,
            "proposed_planned_on": None}


def _proposed(record: Any) -> IssueStatus:
    return S(column(record, "proposed_status"))


def _has_extension_request(record: Any) -> bool:
    return column(record, "requested_due_on") is not None


def _no_extension_request(record: Any) -> bool:
    return column(record, "requested_due_on") is None


def _check_reply(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    try:
        proposed = S(values["proposed_status"])
    except ValueError:
        return {"proposed_status": _("请选择建议的办理结果")}
    if proposed not in PROPOSABLE_STATUSES:
        return {"proposed_status": _("请选择建议的办理结果")}
    if proposed is S.PLANNED and values.get("planned_on") is None:
        return {"planned_on": _("列入计划的，请填写计划完成日期")}
    return {}


def _check_extension(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    due_on = column(record, "due_on")
    if due_on is not None and values["requested_due_on"] <= due_on:
        return {"requested_due_on": _("申请的期限须晚于现在的办理期限")}
    return {}


def _check_public_text(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    errors = public_text_errors(values)
    limit = max_length(Issue.title)
    if len(values.get("title") or "") > limit:
        errors["title"] = _("标题不超过 %(n)s 个字符", n=limit)
    return errors


def _check_accept(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    """The public text, the published location, and a platform: chosen now when the
    submission arrived without one (nothing public lacks a place)."""
    errors = _check_public_text(values, record)
    address = values.get("address")
    if address:
        if PHONE.search(address) or ID_NUMBER.search(address):
            errors["address"] = _("公开地址中含有电话号码或身份证号，请删除后再公开")
        elif len(address.strip()) > max_length(Issue.address):
            errors["address"] = _("地址不超过 %(n)s 个字符", n=max_length(Issue.address))
    platform = values.get("platform")
    if platform is not None and not isinstance(platform, Platform):
        errors["platform"] = _("请从列表中选择平台")
    elif platform is None and column(record, "platform_id") is None:
        errors["platform"] = _("这个问题提交时没有指定平台，请选择受理平台")
    elif platform is not None and column(record, "platform_id") is not None:
        errors["platform"] = _("这个问题已有受理平台")
    # Nothing public is unclassified: a submission without a kind or category gets them now.
    for name, enum_cls in (("kind", IssueKind), ("category", Category)):
        given = values.get(name)
        if given:
            try:
                enum_cls(given)
            except ValueError:
                errors[name] = _("无效的取值 %(value)s", value=repr(given))
        elif column(record, name) is None:
            errors[name] = _("请选择%(field)s", field=FIELD_LABELS[name])
    return errors


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
    # Columns set to the action's moment besides those its target implies; ``first_stamps``
    # only while still empty (the first acknowledgement of an assignment).
    stamps_at: tuple[str, ...] = ()
    first_stamps: tuple[str, ...] = ()
    # Offered only when this holds for the record, besides the source statuses.
    when: Callable[[Any], bool] | None = None
    # The status it leads to when the record decides it (confirm: the proposed outcome).
    target_from: Callable[[Any], IssueStatus] | None = None
    # Checks of the values together and against the record: {field: message}.
    check: Callable[[Mapping[str, Any], Any], dict[str, Any]] | None = None

    def stamps(self, target: IssueStatus | None) -> tuple[str, ...]:
        """The time columns the action sets when it leads to ``target``."""
        implied = (("resolved_at", target is S.RESOLVED),
                   ("closed_at", target in CLOSED_STATUSES))
        return tuple(name for name, due in implied if due) + self.stamps_at

    def allows(self, record: Any) -> bool:
        """Whether the action may be taken on ``record`` now."""
        status = S(column(record, "status"))
        return status in self.sources and (self.when is None or self.when(record))

    def target_for(self, current: IssueStatus, record: Any = None) -> IssueStatus:
        if self.target_from is not None:
            return self.target_from(record)
        return self.target or current

    def changes(self, current: IssueStatus, values: Mapping[str, Any],
                at: Any, record: Any = None) -> dict[str, Any]:
        """Every column the action writes from ``current``: its effect, the status it leads
        to and the times it stamps (``at``, in whatever form the caller keeps time).
        ``record`` is the problem before the action (an Issue or a row dict)."""
        record = {} if record is None else record
        changes = self.effect(values, record)
        target = self.target_for(current, record)
        changes["status"] = target
        for name in self.stamps(target):
            changes[name] = at
        for name in self.first_stamps:
            if column(record, name) is None:
                changes[name] = at
        return changes


# Labels name the action (context "action": 不予受理 is "Reject" here, "Rejected" as a status).
TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # Review (受理): staff write the public title and description and publish the problem.
        Transition("accept", _lp("action", "受理并公开"), frozenset({S.PENDING}), S.RECEIVED,
                   ("title", "description"),
                   optional=("platform", "address", "kind", "category"),
                   effect=_accept, stamps_at=("published_at",), check=_check_accept),
        Transition("assign", _lp("action", "交办"), OPEN_WORKING | {S.REPLIED}, S.ASSIGNED,
                   ("department", "due_on"), effect=_assign, stamps_at=("assigned_at",)),
        # The department's side (承办单位).
        Transition("acknowledge", _lp("action", "签收"), frozenset({S.ASSIGNED}), S.ACKNOWLEDGED,
                   first_stamps=("acknowledged_at",)),
        Transition("start", _lp("action", "开始办理"), frozenset({S.ASSIGNED, S.ACKNOWLEDGED}),
                   S.IN_PROGRESS, first_stamps=("acknowledged_at",)),
        Transition("reply", _lp("action", "答复"), DEPARTMENT_WORKING, S.REPLIED,
                   ("reply", "proposed_status"), is_public=False, optional=("planned_on",),
                   effect=_reply, stamps_at=("replied_at",), first_stamps=("acknowledged_at",),
                   check=_check_reply),
        Transition("request_extension", _lp("action", "申请延期"), DEPARTMENT_WORKING, None,
                   ("requested_due_on", "reason"), is_public=False, effect=_request_extension,
                   when=_no_extension_request, check=_check_extension),
        Transition("return", _lp("action", "退回"), DEPARTMENT_WORKING, S.RECEIVED, ("reason",),
                   is_public=False, effect=_send_back, stamps_at=("returned_at",)),
        # District staff on what the department did.
        Transition("approve_extension", _lp("action", "同意延期"), DEPARTMENT_WORKING, None,
                   is_public=False, effect=_approve_extension, when=_has_extension_request),
        Transition("refuse_extension", _lp("action", "不同意延期"), DEPARTMENT_WORKING, None,
                   ("reason",), is_public=False, effect=_refuse_extension,
                   when=_has_extension_request),
        Transition("confirm", _lp("action", "办结确认"), frozenset({S.REPLIED}), None,
                   optional=("resolution",), effect=_confirm, target_from=_proposed),
        Transition("rework", _lp("action", "退回重办"), frozenset({S.REPLIED}), S.IN_PROGRESS,
                   ("reason",), is_public=False, effect=_rework),
        # Outcomes staff record themselves (a problem solved on the spot, or without a reply).
        Transition("resolve", _lp("action", "办结（已解决或采纳）"), OPEN_WORKING | {S.PLANNED},
                   S.RESOLVED, ("resolution",), effect=_answer),
        Transition("plan", _lp("action", "列入计划"), DEPARTMENT_WORKING, S.PLANNED,
                   ("planned_on",), optional=("resolution",), effect=_plan),
        Transition("constrain", _lp("action", "因条件所限一时难以解决"),
                   DEPARTMENT_WORKING | {S.PLANNED}, S.CONSTRAINED, ("resolution",),
                   effect=_answer),
        Transition("reject", _lp("action", "不予受理"),
                   frozenset({S.PENDING, S.RECEIVED, S.ASSIGNED}), S.REJECTED, ("reason",),
                   optional=("duplicate_of",), effect=_reject),
        # Back to triage: staff assign again with a fresh due date.
        Transition("reopen", _lp("action", "重新办理"), CLOSED_STATUSES, S.RECEIVED, ("reason",),
                   effect=_reopen),
        Transition("note", _lp("action", "办理进展"), OPEN_STATUSES, None, ("note",),
                   optional=("is_public",)),
    )
}

# The actions a department's contact takes; everything else is staff work.
DEPARTMENT_ACTIONS = frozenset({"acknowledge", "start", "reply", "request_extension", "return",
                                "note"})

FIELD_LABELS = {
    "title": _l("公开标题"),
    "description": _l("公开摘要"),
    "reply": _l("答复内容"),
    "proposed_status": _l("建议办理结果"),
    "requested_due_on": _l("申请延至"),
    "department": _l("承办单位"),
    "due_on": _l("办理期限"),
    "resolution": _l("答复内容"),
    "planned_on": _l("计划完成日期"),
    "reason": _l("理由"),
    "note": _l("进展说明"),
    "duplicate_of": _l("重复的问题"),
    "platform": _l("受理平台"),
    "address": _l("公开地址"),
    "kind": _l("问题类型"),
    "category": _l("类别"),
}
# The dates an action sets that may not lie in the past.
NOT_BEFORE_TODAY = {"due_on": _l("办理期限不能早于今天"),
                    "planned_on": _l("计划完成日期不能早于今天"),
                    "requested_due_on": _l("申请的期限不能早于今天")}


def allowed_actions(issue: Issue) -> list[Transition]:
    """The actions that may be taken on ``issue`` in its current state."""
    return [t for t in TRANSITIONS.values() if t.allows(issue)]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def timeline_note(values: Mapping[str, Any]) -> Any:
    """The text an action leaves on the timeline: the note, the reason or the answer."""
    return (values.get("note") or values.get("reason") or values.get("resolution")
            or values.get("reply"))


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
    if not transition.allows(issue):
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
    if not errors and transition.check is not None:
        errors.update(transition.check(values, issue))
    duplicate = values.get("duplicate_of")
    if duplicate is not None and duplicate.id == issue.id:
        errors["duplicate_of"] = _("不能标记为与自身重复")
    if errors:
        raise ValidationFailed(errors)

    before = issue.status
    department_before = issue.department_id
    plain = {name: _plain(value) for name, value in values.items()}
    set_columns(issue, transition.changes(before, plain, now, issue))

    update = IssueUpdate(
        action=action,
        from_status=before,
        to_status=issue.status,
        note=timeline_note(plain),
        is_public=bool(values.get("is_public", True)) if action == "note" else transition.is_public,
        actor_id=actor_id,
        created_at=now,
        department_id=issue.department_id or department_before,
        due_on=issue.due_on,
    )
    issue.updates.append(update)
    return update
