"""Importing residents' problems (群众诉求), matched by their reference (编号).

New problems are created in the status the file states, provided it is consistent: assigned,
acknowledged and in-progress ones need a department and a due date, planned ones a planned
date, closed ones an answer (答复). Staff enter what they import, so a new problem is
published as it is imported (its title and description may not hold a phone or ID-card
number), and it cannot be imported as waiting for review (待受理) or as a department's reply
awaiting confirmation (已答复待确认). Each gets one "import" timeline entry. A problem already in
the database changes status only by one staff step of the lifecycle (issues/lifecycle.py),
applied with the same function the problem page uses, so it is validated and audited the
same way; accepting a resident's submission (受理并公开) is a review done on its page, never
by import. See docs/import.md for the details.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.exc import StaleDataError

from consult_hub.core.categories import Category
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.departments.models import Department
from consult_hub.events.models import Event
from consult_hub.exchange import cells
from consult_hub.exchange.cells import CellError
from consult_hub.exchange.importing import (
    Column,
    Context,
    Importer,
    ImportRefused,
    Outcome,
    Row,
    RowError,
    audit_rows,
    bulk_insert,
    bulk_update,
    changed_fields,
    duplicates,
    fetch_by,
)
from consult_hub.extensions import db
from consult_hub.issues import references
from consult_hub.issues.lifecycle import TRANSITIONS, Transition
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    Issue,
    IssueKind,
    IssueSource,
    IssueStatus,
    IssueUpdate,
    ReferenceCounter,
)
from consult_hub.issues.operations import (
    SUBMITTER_NAME_LENGTH,
    TITLE_LENGTH,
    change_status,
    new_tracking_token,
    normalise_phone,
)
from consult_hub.issues.privacy import public_text_errors
from consult_hub.platforms.models import Platform

S = IssueStatus
IMPORT_NOTE = "批量导入"
# The columns a lifecycle action sets: what the file must give for a status change.
LIFECYCLE = ("department", "due_on", "planned_on", "resolution")
NEEDS = {S.ASSIGNED: ("department", "due_on"), S.ACKNOWLEDGED: ("department", "due_on"),
         S.IN_PROGRESS: ("department", "due_on"), S.PLANNED: ("planned_on",),
         S.RESOLVED: ("resolution",), S.CONSTRAINED: ("resolution",),
         S.REJECTED: ("resolution",)}
# Statuses a new problem cannot be imported in, and why.
NOT_IMPORTED = {
    S.PENDING: "导入的问题由工作人员录入，导入即受理并公开，不能导入为“待受理”；"
               "请将状态留空或填写“已受理”",
    S.REPLIED: "“已答复待确认”的答复须在系统中确认；请导入确认后的办理结果，或导入为“办理中”",
}
# The staff steps an import may take (the department's own steps — 签收 aside, which staff
# record when a department acknowledges by phone — and the review of a resident's
# submission are done on the problem's page). The file's columns give their values.
IMPORT_ACTIONS = frozenset({"assign", "acknowledge", "start", "confirm", "resolve", "plan",
                            "constrain", "reject", "reopen"})


def reference_cell(value: str) -> str:
    reference = references.parse_reference(references.normalise_reference(cells.plain(value)))
    if reference is None:
        raise CellError("编号格式应为 WH24-00123")
    return reference


COLUMNS = (
    Column("reference", "编号", _l("受理编号；再次导入时按编号更新。新问题留空，由系统编号"
           "（也可填本市格式的新编号，如从旧系统迁移）"), reference_cell,
           aliases=("reference", "受理编号", "诉求编号"),  # legacy-term: older files
           example="WH24-00123"),
    Column("platform", "平台编码", _l("受理平台的编码，须已存在"), cells.code(upper=True),
           required=True, aliases=("platform", "platform_code"), example="420102-0001"),
    Column("platform_name", "平台名称", _l("仅供阅读，导入时忽略"), ignored=True),
    Column("district_name", "所属区", _l("仅供阅读，导入时忽略"), ignored=True,
           aliases=("district",)),
    Column("title", "标题", _l("一句话说清楚问题（公开）"), cells.text(TITLE_LENGTH), required=True,
           aliases=("title",), example="小区东门路灯坏了"),
    Column("description", "描述", _l("问题描述（办理后公开；不要写姓名、电话）"), cells.text(5000),
           required=True, aliases=("description", "问题描述"),
           example="东门两盏路灯不亮已有一周。"),
    Column("kind", "类型", _l("问题类型"), cells.choice(IssueKind), required=True,
           aliases=("kind",), allowed=cells.allowed_values(IssueKind),
           example=IssueKind.DOORSTEP.source_label),
    Column("category", "类别", _l("类别"), cells.choice(Category), required=True,
           aliases=("category",), allowed=cells.allowed_values(Category),
           example=Category.SOCIETY.source_label),
    Column("source", "来源", _l("问题来源"), cells.choice(IssueSource), required=True,
           aliases=("source",), allowed=cells.allowed_values(IssueSource),
           example=IssueSource.LIAISON_POINT.source_label),
    Column("status", "状态", _l("空 = 已受理（新问题，导入即公开；不能导入为待受理、"
           "已答复待确认）；已有问题一次只能按办理流程走一步"),
           cells.choice(IssueStatus), aliases=("status",),
           allowed=cells.allowed_values(IssueStatus),
           example=IssueStatus.RECEIVED.source_label),
    Column("department", "承办单位", _l("承办单位的名称或编码（市级或该平台所在区的）；"
           "已交办、已签收、办理中的必填"), cells.text(100), aliases=("department",),
           example="江岸区城管局"),
    Column("due_on", "办理期限", _l("格式 2024-03-01；已交办、已签收、办理中的必填"),
           cells.parse_date, aliases=("due_on", "期限"), example="2024-04-01"),
    Column("planned_on", "计划完成日期", _l("列入计划的必填"), cells.parse_date,
           aliases=("planned_on",), example=""),
    Column("resolution", "答复", _l("公开的办理结果、情况说明或不予受理的理由；已解决、因条件所限、"
           "不予受理的必填"), cells.text(5000), aliases=("resolution", "答复内容", "公开答复"),
           example=""),
    Column("reason", "状态说明", _l("重新办理的理由（已办结的问题改回已受理时必填）；"
           "不予受理时可代替答复"),
           cells.text(2000), aliases=("reason",), example=""),
    Column("event", "活动编码", _l("提出问题的活动的编码或系统编号（可空），须是同一平台的活动"),
           cells.code(), aliases=("event", "活动编号")),
    Column("submitter_name", "反映人姓名", _l("不公开，只用于回访；空 = 不改"),
           cells.text(SUBMITTER_NAME_LENGTH),
           aliases=("submitter_name", "姓名", "提交人姓名")),  # legacy-term: older files
    Column("submitter_phone", "联系电话", _l("不公开，只用于回访；手机号或带区号的固定电话；"
           "空 = 不改"),
           cells.text(32), aliases=("submitter_phone", "电话")),
    Column("received", "受理时间", _l("新问题的受理日期或时间（空 = 导入时）；已有问题忽略"),
           cells.parse_date_or_datetime, aliases=("received", "受理日期", "created_at"),
           example="2024-03-01"),
    Column("closed", "办结时间", _l("新的已办结问题的办结日期或时间（空 = 导入时）；已有问题忽略"),
           cells.parse_date_or_datetime, aliases=("closed", "办结日期", "closed_at")),
    Column("satisfaction", "评价", _l("仅供阅读（由居民评价），导入时忽略"), ignored=True,
           aliases=("满意度",)),  # legacy-term: older exports
    # Written by exports (exports.HANDLING_HEADER): how the problem was published and handled.
    *(Column(key, header, _l("仅供阅读，导入时忽略"), ignored=True) for key, header in (
        ("published_at", "公开时间"), ("assigned_at", "交办时间"), ("acknowledged_at", "签收时间"),
        ("replied_at", "答复时间"), ("proposed_status", "建议办理结果"), ("reply", "承办单位答复"),
        ("requested_due_on", "申请延至"), ("extension_reason", "延期理由"),
        ("rework_reason", "退回重办理由"), ("returned_at", "退回时间"))),
)
TEXT = ("title", "description", "kind", "category")
CONTACT = ("submitter_name", "submitter_phone")
FIELDS = ("reference", "platform_id", "district_id", "source", "status", *TEXT, *CONTACT,
          "department_id", "due_on", "planned_on", "resolution", "event_id", "created_at",
          "resolved_at", "closed_at", "published_at", "proposed_status", "proposed_planned_on",
          "reply", "requested_due_on")


@dataclass
class Plan:
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    # (row, existing record, text changes, lifecycle action, the action's values by name)
    moves: list[tuple[Row, Any, dict[str, Any], str, dict[str, Any]]] = field(
        default_factory=list)
    unchanged: int = 0


class IssueImporter(Importer):
    kind = "issues"
    label = _l("问题")
    columns = COLUMNS

    def check(self, rows: list[Row], ctx: Context) -> Plan:
        plan = Plan()
        duplicates(rows, "reference", ctx)
        selected = (Issue.id, Issue.version, *(getattr(Issue, name) for name in FIELDS))
        existing = {r.reference: r for r in fetch_by(
            Issue.reference, (r.values.get("reference") for r in rows), *selected)}
        platforms = {p.code: p for p in fetch_by(
            Platform.code, (r.values.get("platform") for r in rows),
            Platform.id, Platform.code, Platform.district_id)}
        same = self._same_problems(rows, platforms, selected, ctx)
        departments = self._departments()
        events = self._events(rows) if ctx.has("event") else {}
        prefix = current_app.config["CITY_CODE"]
        matched: dict[int, int] = {}  # problem id → the row that changes it
        for row in rows:
            old = existing.get(row.values.get("reference")) or same.get(row.number)
            if old is not None and matched.setdefault(old.id, row.number) != row.number:
                ctx.error(row, "reference",
                          f"与第 {matched[old.id]} 行是同一个问题（{old.reference}）")
                continue
            if old is None and row.values.get("reference") and \
                    not references.is_this_citys(row.values["reference"]):
                ctx.error(row, "reference", f"没有编号为 {row.values['reference']} 的问题；"
                          f"新问题请留空编号，或使用本市的编号格式 {prefix}24-00123")
                continue
            self._check_row(row, old, platforms, departments, events, ctx, plan)
        return plan

    @staticmethod
    def _same_problems(rows: list[Row], platforms: dict[str, Any], selected: Any,
                       ctx: Context) -> dict[int, Any]:
        """Rows without 编号 that are a problem already recorded: same platform, title, description.

        So a file of new problems imported twice adds them once. Two such rows in one file
        are an error (give them numbers if they really are two problems).
        """
        keyed: dict[int, tuple[int, str, str]] = {}
        for row in rows:
            v = row.values
            platform = platforms.get(v.get("platform") or "")
            if not v.get("reference") and platform and v.get("title") and v.get("description"):
                keyed[row.number] = (platform.id, v["title"], v["description"])
        if not keyed:
            return {}
        found: dict[tuple[int, str, str], Any] = {}
        for r in sorted(fetch_by(Issue.title, {key[1] for key in keyed.values()}, *selected),
                        key=lambda r: r.id):
            found.setdefault((r.platform_id, r.title, r.description), r)
        first: dict[tuple[int, str, str], int] = {}
        for number, key in keyed.items():
            if key in first:
                ctx.error(number, "title", f"与第 {first[key]} 行是同一平台、相同标题和描述的问题；"
                          "如确是两个问题，请分别填写编号")
            first.setdefault(key, number)
        return {number: found[key] for number, key in keyed.items() if key in found}

    @staticmethod
    def _departments() -> dict[Any, Any]:
        """Departments by (district id or None for the city's, name), by ("code", code), by id."""
        found: dict[Any, Any] = {}
        for d in db.session.execute(sa.select(Department.id, Department.code, Department.name,
                                              Department.district_id, Department.is_active)):
            found[(d.district_id, cells.plain(d.name))] = d
            found.setdefault(("code", cells.plain(d.code)), d)
            found[d.id] = d
        return found

    @staticmethod
    def _events(rows: list[Row]) -> dict[str, Any]:
        codes = {r.values.get("event") for r in rows} - {None}
        found = {e.code: e for e in fetch_by(Event.code, codes, Event.id, Event.code,
                                            Event.platform_id)}
        numbers = [int(c) for c in codes - set(found) if c.isdigit()]
        found.update({str(e.id): e for e in fetch_by(Event.id, numbers, Event.id, Event.code,
                                                     Event.platform_id)})
        return found

    def _check_row(self, row: Row, old: Any, platforms: dict[str, Any],
                   departments: dict[Any, Any], events: dict[str, Any], ctx: Context,
                   plan: Plan) -> None:
        v = row.values
        platform = platforms.get(v.get("platform") or "")
        if v.get("platform") and platform is None:
            ctx.error(row, "platform", f"找不到编码为 {v['platform']} 的平台")
            return
        if platform is None:
            return
        if not ctx.may_manage(platform.district_id):
            ctx.error(row, "platform", f"平台 {platform.code} 属于其他区")
        if old is not None and not ctx.may_manage(old.district_id):
            ctx.error(row, "reference", f"问题 {old.reference} 属于其他区，不能修改")
        values: dict[str, Any] = {k: v.get(k) for k in TEXT}
        for name in CONTACT:
            if v.get(name) or (old is None and ctx.has(name)):
                values[name] = v.get(name)
        if values.get("submitter_phone"):
            values["submitter_phone"] = normalise_phone(v["submitter_phone"])
            if values["submitter_phone"] is None:
                ctx.error(row, "submitter_phone", "请填写有效的手机号（11 位）或带区号的固定电话")
        if v.get("event"):
            event = events.get(v["event"])
            if event is None:
                ctx.error(row, "event", f"找不到活动 {v['event']}")
            elif event.platform_id != platform.id:
                ctx.error(row, "event", "这场活动不属于该平台")
            else:
                values["event_id"] = event.id
        department = None
        if v.get("department"):
            department = departments.get((platform.district_id, cells.plain(v["department"]))) \
                or departments.get((None, cells.plain(v["department"]))) \
                or departments.get(("code", cells.plain(v["department"])))
            if department is None or department.district_id not in (None, platform.district_id):
                ctx.error(row, "department", f"找不到承办单位“{v['department']}”"
                          "（须是市级或该平台所在区的承办单位）")
                department = None
        if old is None:
            self._check_new(row, platform, department, values, ctx, plan)
        else:
            self._check_existing(row, old, platform, department, departments, values, ctx, plan)

    def _check_new(self, row: Row, platform: Any, department: Any, values: dict[str, Any],
                   ctx: Context, plan: Plan) -> None:
        v = row.values
        status = v.get("status") or S.RECEIVED
        if status in NOT_IMPORTED:
            ctx.error(row, "status", NOT_IMPORTED[status])
            return
        self._check_public_text(row, values, ctx)
        resolution = v.get("resolution") or (v.get("reason") if status is S.REJECTED else None)
        given = {"department": department, "due_on": v.get("due_on"),
                 "planned_on": v.get("planned_on"), "resolution": resolution}
        for name in NEEDS.get(status, ()):
            if given[name] is None and not (name == "department" and v.get("department")):
                ctx.error(row, name,
                          f"“{status.source_label}”的问题须填写{ctx.columns[name].header}")
        if status in (S.ASSIGNED, S.ACKNOWLEDGED, S.IN_PROGRESS) and department is not None \
                and not department.is_active:
            ctx.error(row, "department", f"承办单位“{department.name}”已停用")
        received = v.get("received") or ctx.now
        closed = v.get("closed") or ctx.now
        if received > ctx.now:
            ctx.error(row, "received", "受理时间不能晚于现在")
        if v.get("closed") and status not in CLOSED_STATUSES:
            ctx.error(row, "closed", "只有已办结（已解决、因条件所限、不予受理）的问题有办结时间")
        elif status in CLOSED_STATUSES and (closed > ctx.now or closed < received):
            ctx.error(row, "closed", "办结时间应在受理时间之后、不晚于现在")
        if ctx.failed(row):
            return
        plan.new.append({
            **values, "reference": v.get("reference"), "platform_id": platform.id,
            "district_id": platform.district_id, "source": v.get("source"), "status": status,
            "department_id": department.id if department else None, "due_on": v.get("due_on"),
            "planned_on": v.get("planned_on"), "resolution": resolution,
            "created_at": received, "updated_at": ctx.now,
            "resolved_at": closed if status is S.RESOLVED else None,
            "closed_at": closed if status in CLOSED_STATUSES else None,
            # Staff entered it: public from the moment it is imported.
            "published_at": ctx.now,
        })

    @staticmethod
    def _check_public_text(row: Row, values: dict[str, Any], ctx: Context) -> None:
        """A published problem's title and description may not hold a phone or ID number."""
        for name, message in public_text_errors(values).items():
            ctx.error(row, name, message)

    def _check_existing(self, row: Row, old: Any, platform: Any, department: Any,
                        departments: dict[Any, Any], values: dict[str, Any], ctx: Context,
                        plan: Plan) -> None:
        v = row.values
        if platform.id != old.platform_id:
            ctx.error(row, "platform", "已有问题不能在导入时换平台")
        if v.get("source") is not None and v["source"] is not old.source:
            ctx.error(row, "source",
                      f"已有问题的来源是“{old.source.source_label}”，不能在导入时修改")
        status = v.get("status") or old.status
        given = {"department": department.id if department else None, "due_on": v.get("due_on"),
                 "planned_on": v.get("planned_on"), "resolution": v.get("resolution")}
        current = {"department": old.department_id, "due_on": old.due_on,
                   "planned_on": old.planned_on, "resolution": old.resolution}
        action, action_values = None, {}
        if status is not old.status:
            action, action_values = self._transition(row, old, status, department, ctx)
        set_by_action = {name for name in LIFECYCLE
                         if action and name in self._fields_set(action)}
        for name in LIFECYCLE:
            if name in set_by_action or given[name] is None or given[name] == current[name]:
                continue
            if action == "reopen" and name == "due_on":
                continue
            shown = departments[current[name]].name if name == "department" and current[name] \
                else (current[name] or "空")
            ctx.error(row, name, f"与系统中的不同（系统中为“{shown}”）；"
                      "办理信息只能随状态一起改变，或在问题页面办理")
        if ctx.failed(row):
            return
        before = {name: getattr(old, name) for name in (*TEXT, *CONTACT, "event_id")}
        changes = changed_fields(before, values)
        if old.published_at is not None:  # public text: checked as publishing checks it
            self._check_public_text(row, {k: changes[k] for k in ("title", "description")
                                          if k in changes}, ctx)
            if ctx.failed(row):
                return
        if action is not None:
            plan.moves.append((row, old, changes, action, action_values))
        elif changes:
            plan.changed.append((old, changes))
        else:
            plan.unchanged += 1

    @staticmethod
    def _fields_set(action: str) -> set[str]:
        return {"assign": {"department", "due_on"}, "plan": {"planned_on", "resolution"},
                "resolve": {"resolution"}, "constrain": {"resolution"},
                "reject": {"resolution"}, "confirm": {"planned_on", "resolution"}
                }.get(action, set())

    @staticmethod
    def _steps_from(old: Any) -> list[Transition]:
        """The lifecycle steps an import may take from the problem's present state."""
        return [t for action, t in TRANSITIONS.items()
                if action in IMPORT_ACTIONS and t.allows(old)]

    def _transition(self, row: Row, old: Any, status: IssueStatus, department: Any,
                    ctx: Context) -> tuple[str | None, dict[str, Any]]:
        """The one lifecycle action from the problem's status to ``status``, with its values."""
        v = row.values
        if old.status is S.PENDING and status is S.RECEIVED:
            ctx.error(row, "status", "居民提交的问题须在问题页面受理：填写公开标题和摘要后"
                      "“受理并公开”，不能通过导入受理")
            return None, {}
        steps = self._steps_from(old)
        found = [t for t in steps if t.target_for(old.status, old) is status]
        if not found:
            reachable = [s.source_label for s in IssueStatus if s is not old.status
                         and any(t.target_for(old.status, old) is s for t in steps)]
            ctx.error(row, "status",
                      f"不能从“{old.status.source_label}”直接改为“{status.source_label}”"
                      f"（可改为：{'、'.join(reachable)}）")
            return None, {}
        transition = found[0]
        if transition.action == "confirm" and v.get("planned_on") is not None \
                and v["planned_on"] != old.proposed_planned_on:
            ctx.error(row, "planned_on", "办结确认采用承办单位答复中建议的计划完成日期"
                      f"（{old.proposed_planned_on or '无'}），不能在导入时修改")
            return None, {}
        given = {"department": department, "due_on": v.get("due_on"),
                 "planned_on": v.get("planned_on"), "resolution": v.get("resolution"),
                 "reason": v.get("reason") or (v.get("resolution") if transition.action == "reject"
                                               else None)}
        values = {}
        for name in (*transition.requires, *transition.optional):
            if given.get(name) is not None:
                values[name] = given[name]
            elif name in transition.requires:
                column = "reason" if name == "reason" else name
                ctx.error(row, column,
                          f"改为“{status.source_label}”须填写{ctx.columns[column].header}")
        if "due_on" in values and values["due_on"] < ctx.today:
            ctx.error(row, "due_on", "办理期限不能早于今天")
        if "planned_on" in values and values["planned_on"] < ctx.today:
            ctx.error(row, "planned_on", "计划完成日期不能早于今天")
        if department is not None and transition.action == "assign" and not department.is_active:
            ctx.error(row, "department", f"承办单位“{department.name}”已停用")
        return transition.action, values

    def write(self, plan: Plan, ctx: Context) -> Outcome:
        self._create(plan.new, ctx)
        updates, audits = [], []
        for old, changes in plan.changed:
            updates.append({"id": old.id, "version": old.version, "updated_at": ctx.now,
                            **changes})
            audits.append((old.id, {name: getattr(old, name) for name in changes}, changes))
        bulk_update(Issue, updates)
        self._move(plan.moves, ctx, audits)
        audit_rows("issue_import", Issue.__tablename__, audits, ctx)
        return Outcome(len(plan.new), len(plan.changed) + len(plan.moves), plan.unchanged)

    def _create(self, new: list[dict[str, Any]], ctx: Context) -> None:
        if not new:
            return
        _reserve_references(new)
        rows = [{**values, "tracking_token": new_tracking_token(), "created_by_id": ctx.actor_id,
                 "version": 1, "event_id": values.get("event_id"),
                 "submitter_name": values.get("submitter_name"),
                 "submitter_phone": values.get("submitter_phone")} for values in new]
        bulk_insert(Issue, rows)
        ids = {r.reference: r.id for r in fetch_by(
            Issue.reference, [values["reference"] for values in rows], Issue.id, Issue.reference)}
        bulk_insert(IssueUpdate, [
            {"issue_id": ids[values["reference"]], "action": "import", "from_status": None,
             "to_status": values["status"], "note": IMPORT_NOTE, "is_public": True,
             "actor_id": ctx.actor_id, "created_at": values["created_at"],
             # As lifecycle.apply records them: the department holding it and its due date.
             "department_id": values.get("department_id"), "due_on": values.get("due_on")}
            for values in rows])

    def _move(self, moves: list[tuple[Row, Any, dict[str, Any], str, dict[str, Any]]],
              ctx: Context, audits: list[tuple[int, dict[str, Any], dict[str, Any]]]) -> None:
        """Status changes go through the lifecycle, one problem at a time (they are few)."""
        if not moves:
            return
        issues = {i.id: i for i in db.session.scalars(
            sa.select(Issue).where(Issue.id.in_([old.id for _row, old, *_ in moves])))}
        wanted = {values["department"].id for *_, values in moves if "department" in values}
        departments = {d.id: d for d in db.session.scalars(
            sa.select(Department).where(Department.id.in_(wanted)))} if wanted else {}
        for row, old, changes, action, values in moves:
            issue = issues[old.id]
            if issue.version != old.version:
                raise StaleDataError("changed since the import was checked")
            if changes:
                audits.append((old.id, {name: getattr(issue, name) for name in changes}, changes))
                for name, value in changes.items():
                    setattr(issue, name, value)
            if "department" in values:
                values = {**values, "department": departments[values["department"].id]}
            try:
                change_status(issue, action, actor_id=ctx.actor_id, now=ctx.now, **values)
            except ValidationFailed as refused:  # checked before; the lifecycle has the last word
                raise ImportRefused([RowError(row.number, ctx.headers.get("status", "状态"), str(m))
                                     for m in refused.errors.values()]) from None


def _reserve_references(new: list[dict[str, Any]]) -> None:
    """Number the new problems; a reference given in the file moves its counter past it."""
    given: dict[str, int] = defaultdict(int)
    for values in new:
        if values["reference"]:
            prefix, number = values["reference"].split("-")
            given[prefix] = max(given[prefix], int(number))
    wanting: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for values in new:
        if not values["reference"]:
            wanting[references.reference_prefix(values["created_at"])].append(values)
    for prefix in sorted(set(given) | set(wanting)):
        _ensure_counter(prefix)
        counter = ReferenceCounter.last_value
        if given.get(prefix):
            db.session.execute(sa.update(ReferenceCounter).where(ReferenceCounter.prefix == prefix)
                               .values(last_value=sa.case((counter < given[prefix], given[prefix]),
                                                          else_=counter)))
        rows = wanting.get(prefix, [])
        if rows:
            last = db.session.execute(
                sa.update(ReferenceCounter).where(ReferenceCounter.prefix == prefix)
                .values(last_value=counter + len(rows)).returning(ReferenceCounter.last_value)
            ).scalar_one()
            for number, values in enumerate(rows, start=last - len(rows) + 1):
                values["reference"] = references.format_reference(prefix, number)


def _ensure_counter(prefix: str) -> None:
    """The counter row for ``prefix``, created if missing (a concurrent creator wins quietly)."""
    if db.session.get(ReferenceCounter, prefix) is not None:
        return
    try:
        with db.session.begin_nested():
            db.session.add(ReferenceCounter(prefix=prefix, last_value=0))
    except sa.exc.IntegrityError:
        pass
