"""The one transition table for proposals (提案), and the one function that applies it.

Like ``issues/lifecycle.py``: each action names the statuses it may start from, the status it
leads to, the values it needs (and may take), who may take it (``party``: the proposer, city
or district staff, city staff only, the lead department, a co-handling department) and its
effect, the columns it writes. ``apply`` checks all of that against the record, changes the
proposal (and its handling departments) and writes the ProposalUpdate that becomes its
timeline. The web pages, the demo and the generators take the same transitions: an effect
reads the record with ``column`` and so works on a Proposal or on a generator's row dict.

Who the person is (``party``) is the scope rules' question (``proposals/scopes.py``);
whether the action fits the proposal is this table's.

A generator building rows without the ORM calls ``Transition.changes(status, values, at,
row)`` with plain values (department ids, enum values as text) and ``values["today"]`` (the
local date of ``at``, for the due dates); it passes ``reference`` (submit) and ``number``
(accept) itself, or the effect takes the next ones from the counter table. The handling rows
(``proposal_departments``) and the timeline rows are the generator's to write, as ``apply``
does: the lead department row and the co-handling ones on ``accept``.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import lazy_pgettext as _lp

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, set_columns, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import N_
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.timefmt import local_today, to_local
from consult_hub.extensions import db
from consult_hub.issues.models import ReferenceCounter, Satisfaction
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    HANDLING_STATUSES,
    HandlingRole,
    Proposal,
    ProposalDepartment,
    ProposalOutcome,
    ProposalStatus,
    ProposalUpdate,
)

S = ProposalStatus
# The default time a department has to answer an accepted proposal (办理期限): three months
# from review; re-handling after 不满意 gets one more month from the rating.
DUE_MONTHS = 3
REHANDLE_MONTHS = 1
# Key proposals (重点提案) are chosen among those submitted or accepted, until closed.
KEY_STATUSES = frozenset({S.SUBMITTED}) | (ACCEPTED_STATUSES - {S.CLOSED})

Effect = Callable[[Mapping[str, Any], Any], dict[str, Any]]


class Party:
    """Who may take an action (``proposals/scopes.py`` decides whether a user is that party)."""

    PROPOSER = "proposer"  # a member among its proposers, or staff who entered it for them
    STAFF = "staff"  # city staff, or district staff of the proposal's district
    CITY = "city"  # city staff only (重点提案)
    LEAD = "lead"  # a contact of the lead department (主办单位)
    CO = "co"  # a contact of a co-handling department (会办单位)


def column(record: Any, name: str) -> Any:
    """A column of ``record``, a Proposal or a generator's row dict."""
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name)


def add_months(day: date, months: int) -> date:
    """``day`` ``months`` later, on the last day of the month when it is shorter."""
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(year=year, month=month,
                       day=min(day.day, calendar.monthrange(year, month)[1]))


def default_due_on(reviewed: date) -> date:
    """An accepted proposal's default due date: three months after review."""
    return add_months(reviewed, DUE_MONTHS)


def _next_number(prefix: str) -> int:
    """The next number of a counter (``TA2024``: references, ``AH2024``: 案号). The counter row
    is bumped with UPDATE … RETURNING, which locks it until the transaction ends."""
    bump = (sa.update(ReferenceCounter).where(ReferenceCounter.prefix == prefix)
            .values(last_value=ReferenceCounter.last_value + 1)
            .returning(ReferenceCounter.last_value))
    number = db.session.execute(bump).scalar()
    if number is None:
        dialect = db.session.get_bind().dialect.name
        if dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:
            from sqlalchemy.dialects.sqlite import insert
        db.session.execute(insert(ReferenceCounter).values(prefix=prefix, last_value=0)
                           .on_conflict_do_nothing())
        number = db.session.execute(bump).scalar_one()
    return number


def next_reference(year: int) -> str:
    """A submitted proposal's reference: ``TA2024-0001``."""
    return f"TA{year}-{_next_number(f'TA{year}'):04d}"


def next_number(year: int) -> str:
    """An accepted proposal's 案号 within its year: ``2024-0001`` (shown as 第0001号)."""
    return f"{year}-{_next_number(f'AH{year}'):04d}"


def draft_reference(token: str) -> str:
    """The placeholder reference of a draft, replaced by ``next_reference`` on submission."""
    return f"CG-{token}"[:20]


# --- Effects -------------------------------------------------------------------------------


def _no_effect(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {}


def _submit(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"reference": values.get("reference") or next_reference(column(record, "year"))}


def _accept(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    changes = {"lead_department_id": values["lead_department"],
               "due_on": values["due_on"],
               "number": values.get("number") or next_number(column(record, "year")),
               "review_note": None}
    if values.get("is_key") is not None:
        changes["is_key"] = bool(values["is_key"])
    if values.get("category"):
        changes["category"] = Category(values["category"])
    return changes


def _not_accept(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # The letter's department (``letter_department``), if any, is the timeline entry's
    # department (``handling_departments``): it reads the letter, with no reply required.
    return {"review_note": values["reason"]}


def _reply(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # A new round's answer replaces the last one (kept on the timeline), and its rating.
    return {"outcome": ProposalOutcome(values["outcome"]), "reply": values["reply"],
            "rating": None, "rated_at": None, "rating_note": None}


def _rate(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    rating = Satisfaction(values["rating"])
    changes: dict[str, Any] = {"rating": rating, "rating_note": values.get("rating_note")}
    if rating is Satisfaction.UNSATISFIED:
        # Back to the lead department for re-handling, with a month to answer again.
        changes.update(rehandled=(column(record, "rehandled") or 0) + 1, acknowledged_at=None,
                       due_on=add_months(values["today"], REHANDLE_MONTHS))
    return changes


def _rated(values: Mapping[str, Any], record: Any) -> ProposalStatus:
    unsatisfied = Satisfaction(values["rating"]) is Satisfaction.UNSATISFIED
    return S.ACCEPTED if unsatisfied else S.CLOSED


def _mark_key(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"is_key": True}


def _unmark_key(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"is_key": False}


def _reassign(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"lead_department_id": values["lead_department"], "acknowledged_at": None}


# --- Checks ------------------------------------------------------------------------------


def _check_submit(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    errors = {}
    for name in ("title", "reasons", "suggestions"):
        if not (column(record, name) or "").strip():
            errors[name] = _("提交前请填写%(field)s", field=FIELD_LABELS[name])
    return errors


def _check_departments(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    lead = values.get("lead_department")
    co = values.get("co_departments") or ()
    if lead is not None and lead in co:
        return {"co_departments": _("主办单位不能同时是会办单位")}
    if values.get("category"):
        try:
            Category(values["category"])
        except ValueError:
            return {"category": _("无效的取值 %(value)s", value=repr(values["category"]))}
    if values.get("due_on") is not None and values.get("today") is not None \
            and values["due_on"] < values["today"]:
        return {"due_on": _("办理期限不能早于今天")}
    return {}


def _check_reassign(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    if values.get("lead_department") == column(record, "lead_department_id"):
        return {"lead_department": _("请选择另一个主办单位")}
    return _check_departments(values, record)


def _check_reply(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    try:
        ProposalOutcome(values["outcome"])
    except ValueError:
        return {"outcome": _("请选择办复结果")}
    return {}


def _check_rate(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    try:
        rating = Satisfaction(values["rating"])
    except ValueError:
        return {"rating": _("请选择评价")}
    if rating is Satisfaction.UNSATISFIED and not values.get("rating_note"):
        return {"rating_note": _("不满意的，请说明理由，承办单位据此重新办理")}
    return {}


def _is_key(record: Any) -> bool:
    return bool(column(record, "is_key"))


def _not_key(record: Any) -> bool:
    return not column(record, "is_key")


@dataclass(frozen=True)
class Transition:
    action: str
    label: Any  # a lazy translation
    sources: frozenset[ProposalStatus]
    # None: the status stays as it is (a co-handling department's word, a key mark).
    target: ProposalStatus | None
    party: str
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = field(default=())
    effect: Effect = _no_effect
    # Columns set to the action's moment; ``first_stamps`` only while still empty.
    stamps_at: tuple[str, ...] = ()
    first_stamps: tuple[str, ...] = ()
    when: Callable[[Any], bool] | None = None
    # The status it leads to when the values decide it (rate: closed, or back to accepted).
    target_from: Callable[[Mapping[str, Any], Any], ProposalStatus] | None = None
    check: Callable[[Mapping[str, Any], Any], dict[str, Any]] | None = None

    def allows(self, record: Any) -> bool:
        """Whether the action may be taken on ``record`` now."""
        status = S(column(record, "status"))
        return status in self.sources and (self.when is None or self.when(record))

    def target_for(self, current: ProposalStatus, values: Mapping[str, Any],
                   record: Any = None) -> ProposalStatus:
        if self.target_from is not None:
            return self.target_from(values, record)
        return self.target or current

    def changes(self, current: ProposalStatus, values: Mapping[str, Any], at: Any,
                record: Any = None) -> dict[str, Any]:
        """Every column the action writes from ``current``: its effect, the status it leads
        to and the times it stamps (``at``). ``values`` are checked and plain (ids, stripped
        text) and carry ``today`` (the local date of ``at``)."""
        record = {} if record is None else record
        changes = self.effect(values, record)
        changes["status"] = self.target_for(current, values, record)
        for name in self.stamps_at:
            changes[name] = at
        for name in self.first_stamps:
            if column(record, name) is None and name not in changes:
                changes[name] = at
        return changes


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("submit", _lp("action", "提交提案"), frozenset({S.DRAFT}), S.SUBMITTED,
                   Party.PROPOSER, optional=("reference",), effect=_submit,
                   stamps_at=("submitted_at",), check=_check_submit),
        # Review (审查): 立案 with the handling departments, or 不予立案 with the reason.
        Transition("accept", _lp("action", "立案"), frozenset({S.SUBMITTED}), S.ACCEPTED,
                   Party.STAFF, ("lead_department",),
                   optional=("co_departments", "due_on", "is_key", "category", "number"),
                   effect=_accept, stamps_at=("reviewed_at",), check=_check_departments),
        # 不予立案: the proposal goes on as an opinion letter (转为意见建议), to a department
        # for reference when staff name one (``letter_department``): it replies to nothing.
        Transition("not_accept", _lp("action", "不予立案"), frozenset({S.SUBMITTED}),
                   S.NOT_ACCEPTED, Party.STAFF, ("reason",), optional=("letter_department",),
                   effect=_not_accept, stamps_at=("reviewed_at",)),
        # The lead department (主办单位) signs for it and answers for all.
        Transition("acknowledge", _lp("action", "签收"), frozenset({S.ACCEPTED}), S.ACKNOWLEDGED,
                   Party.LEAD, stamps_at=("acknowledged_at",)),
        Transition("reply", _lp("action", "办复"), HANDLING_STATUSES, S.REPLIED, Party.LEAD,
                   ("outcome", "reply"), effect=_reply, stamps_at=("replied_at",),
                   first_stamps=("acknowledged_at",), check=_check_reply),
        # A co-handling department (会办单位) signs and sends its opinion to the lead one.
        Transition("co_acknowledge", _lp("action", "会办签收"), HANDLING_STATUSES, None,
                   Party.CO),
        Transition("co_opinion", _lp("action", "提出会办意见"), HANDLING_STATUSES, None, Party.CO,
                   ("opinion",)),
        # The proposer rates the answer: 满意 / 基本满意 close it, 不满意 sends it back.
        Transition("rate", _lp("action", "评价办复"), frozenset({S.REPLIED}), None,
                   Party.PROPOSER, ("rating",), optional=("rating_note",), effect=_rate,
                   stamps_at=("rated_at",), target_from=_rated, check=_check_rate),
        Transition("mark_key", _lp("action", "列为重点提案"), KEY_STATUSES, None, Party.CITY,
                   effect=_mark_key, when=_not_key),
        Transition("unmark_key", _lp("action", "取消重点提案"), KEY_STATUSES, None, Party.CITY,
                   effect=_unmark_key, when=_is_key),
        Transition("reassign", _lp("action", "调整主办单位"), HANDLING_STATUSES, S.ACCEPTED,
                   Party.STAFF, ("lead_department", "reason"), effect=_reassign,
                   check=_check_reassign),
    )
}

FIELD_LABELS = {
    "title": _l("标题"),
    "reasons": _l("案由"),
    "suggestions": _l("建议"),
    "reference": _l("提案编号"),
    "lead_department": _l("主办单位"),
    "co_departments": _l("会办单位"),
    "due_on": _l("办理期限"),
    "is_key": _l("重点提案"),
    "category": _l("类别"),
    "number": _l("案号"),
    "reason": _l("理由"),
    "outcome": _l("办复结果"),
    "reply": _l("办复内容"),
    "rating": _l("评价"),
    "rating_note": _l("不满意的理由"),
    "opinion": _l("会办意见"),
    "letter_department": _l("意见建议转送单位"),
}

# The timeline note of a rating, stored in Chinese (shown translated: |stored_text).
RATING_NOTES = {
    Satisfaction.SATISFIED: N_("提案者评价：满意"),
    Satisfaction.BASICALLY: N_("提案者评价：基本满意"),
    Satisfaction.UNSATISFIED: N_("提案者评价：不满意"),
}


def allowed_actions(proposal: Any) -> list[Transition]:
    """The actions that fit ``proposal`` in its current state (who may take them: scopes)."""
    return [t for t in TRANSITIONS.values() if t.allows(proposal)]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _plain(value: Any) -> Any:
    """A value as effects take it: text stripped, a record as its id, records as ids."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, Base):
        return value.id
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def timeline_note(action: str, values: Mapping[str, Any]) -> str | None:
    """What an action leaves on the timeline: the reason, the reply (with its class), the
    co-handling opinion or the rating. Stored as written (Chinese), like problems' notes."""
    if action == "reply":
        outcome = ProposalOutcome(values["outcome"])
        return f"{outcome.letter}\u7c7b\uff08{outcome.source_label}\uff09\n{values['reply']}"
    if action == "rate":
        note = RATING_NOTES[Satisfaction(values["rating"])]
        return f"{note}\n{values['rating_note']}" if values.get("rating_note") else note
    return values.get("reason") or values.get("opinion")


HANDLING_COLUMNS = ("department_id", "role", "acknowledged_at", "opinion", "opinion_at")


def handling_departments(action: str, rows: Mapping[int, Mapping[str, Any]],
                         values: Mapping[str, Any], record: Any, department: int | None,
                         at: datetime) -> tuple[dict[int, dict[str, Any]], int | None]:
    """What ``action`` does to the handling departments, and the department acting.

    ``rows`` are the handling departments by id, each with HANDLING_COLUMNS; ``record`` is
    the proposal (or a generator's row dict) after the action's own changes; ``department``
    the co-handling department acting for itself. Returns the rows after the action (a new
    dict: rows left out are no longer handling it) and the department the timeline names.
    ``apply`` stores them on a Proposal; the demo keeps them as dicts.
    """
    rows = {d: dict(row) for d, row in rows.items()}
    if action in ("accept", "reassign"):
        # 立案 names the lead and co-handling ones; a new lead keeps the co-handling ones
        # (less the new lead). A department whose role changes signs again.
        lead = values["lead_department"]
        co = values.get("co_departments") if action == "accept" else None
        keep_co = ([d for d, row in rows.items() if row["role"] is HandlingRole.CO]
                   if co is None else co)
        wanted = {lead: HandlingRole.LEAD,
                  **{d: HandlingRole.CO for d in keep_co if d != lead}}
        after = {}
        for department_id, role in wanted.items():
            row = rows.get(department_id) or dict.fromkeys(HANDLING_COLUMNS)
            if row["role"] is not role:
                row.update(department_id=department_id, role=role, acknowledged_at=None)
            after[department_id] = row
        return after, lead
    if action == "not_accept":
        # The department the opinion letter (意见建议) goes to, if staff chose one.
        return rows, values.get("letter_department")
    if action in ("acknowledge", "reply"):
        lead_id = column(record, "lead_department_id")
        if lead_id in rows and rows[lead_id]["acknowledged_at"] is None:
            rows[lead_id]["acknowledged_at"] = at
        return rows, lead_id
    if action in ("co_acknowledge", "co_opinion"):
        row = rows[department]
        if row["acknowledged_at"] is None:
            row["acknowledged_at"] = at
        if action == "co_opinion":
            row.update(opinion=values["opinion"], opinion_at=at)
        return rows, department
    if action == "rate" and S(column(record, "status")) is S.ACCEPTED:
        for row in rows.values():  # 不满意: a new round, everyone signs again
            row["acknowledged_at"] = None
    return rows, None


def _store_departments(proposal: Proposal, after: Mapping[int, Mapping[str, Any]]) -> None:
    """Make ``proposal.departments`` hold ``after`` (handling_departments' rows)."""
    present = {row.department_id: row for row in proposal.departments}
    removed = [row for d, row in present.items() if d not in after]
    for row in removed:
        proposal.departments.remove(row)
    if removed:
        db.session.flush()  # the removed rows go before a new row takes their (proposal, dept)
    for department_id, state in after.items():
        row = present.get(department_id)
        if row is None:
            proposal.departments.append(ProposalDepartment(**state))
            continue
        for name, value in state.items():
            if getattr(row, name) != value:
                setattr(row, name, value)


def co_row(proposal: Proposal, department_id: int | None) -> ProposalDepartment | None:
    """The co-handling row of ``department_id`` on ``proposal``, if it is one."""
    return next((row for row in proposal.departments
                 if row.department_id == department_id and row.role is HandlingRole.CO), None)


def apply(proposal: Proposal, action: str, values: Mapping[str, Any] | None = None,
          actor: Any = None, now: datetime | None = None) -> ProposalUpdate:
    """Take ``action`` on ``proposal`` with ``values`` (by the names of FIELD_LABELS;
    departments as rows or ids) as ``actor`` (a User, or None for the demo and imports), or
    raise ValidationFailed naming the field; nothing changes then.

    A co-handling department's actions (``co_acknowledge``, ``co_opinion``) act for
    ``values["department"]``, else the actor's department.
    """
    now = now or utcnow()
    today = local_today(now)
    values = dict(values or {})
    department = _plain(values.pop("department", None)) or getattr(actor, "department_id", None)
    transition = TRANSITIONS.get(action)
    if transition is None:
        raise ValidationFailed({"action": _("未知操作 %(action)s", action=repr(action))})
    if not transition.allows(proposal):
        raise ValidationFailed(
            {"action": _("“%(status)s”状态下不能%(action)s", status=proposal.status.label,
                         action=transition.label)})
    errors = {name: _("请填写%(field)s", field=FIELD_LABELS[name])
              for name in transition.requires if _missing(values.get(name))}
    unknown = set(values) - set(transition.requires) - set(transition.optional)
    errors.update({name: _("此操作不接受该字段") for name in sorted(unknown)})
    plain = {name: _plain(value) for name, value in values.items()}
    plain["today"] = today
    if action in ("co_acknowledge", "co_opinion"):
        row = co_row(proposal, department)
        if row is None:
            errors["department"] = _("只有会办单位可以%(action)s", action=transition.label)
        elif action == "co_acknowledge" and row.acknowledged_at is not None:
            errors["action"] = _("已经签收过了")
    if not errors and transition.check is not None:
        errors.update(transition.check(plain, proposal))
    if errors:
        raise ValidationFailed(errors)

    if action == "accept" and plain.get("due_on") is None:
        plain["due_on"] = default_due_on(today)
    before = proposal.status
    set_columns(proposal, transition.changes(before, plain, now, proposal))
    before_rows = {row.department_id: {name: getattr(row, name) for name in HANDLING_COLUMNS}
                   for row in proposal.departments}
    after_rows, acting_department = handling_departments(action, before_rows, plain, proposal,
                                                         department, now)
    _store_departments(proposal, after_rows)

    update = ProposalUpdate(
        action=action, from_status=before, to_status=proposal.status,
        note=timeline_note(action, plain), department_id=acting_department,
        actor_id=getattr(actor, "id", None), created_at=now)
    proposal.updates.append(update)
    return update


def local_year(when: datetime) -> int:
    """The year of ``when`` in the people's time zone (a new proposal's session year)."""
    return to_local(when).year

