"""The one transition table for public-opinion reports (社情民意信息), and the function that
applies it (docs/design.md § Public-opinion reports).

草稿 → 已报送 (submit) → 已采用 (adopt: 编发 in an issue of the bulletin) / 未采用 (not_adopt,
with the reason); a submitted report may go back to its writer for revision (return: → 草稿,
with the reason). An adopted report may then be forwarded to the province or the national
CPPCC (forward: 报送上级, province first and national later, never down), receive a leader's
instruction (instruct: 获批示, who, what and when, once) and what was done about it
(follow_up, rewritten as it progresses). A decision is final: a report not adopted stays so
(a new report is written instead), so the year's figures never move back.

Each action names its sources, its target (None: the status stays), the values it needs and
its effect: the columns it writes. ``apply`` checks everything and changes the report, or
raises ValidationFailed naming the field and changes nothing. The demo generator builds its
rows from the same transitions (``Transition.changes`` on a row dict).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from flask_babel import lazy_pgettext as _lp

from consult_hub.core.db import max_length, set_columns, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.timefmt import local_today, to_local
from consult_hub.opinions.models import ForwardLevel, OpinionReport, OpinionStatus

S = OpinionStatus
# An effect: the columns an action writes besides the status, from the action's checked values
# (text stripped) and the report as it is before the action (an OpinionReport, or the dict a
# generator keeps for one; read it with ``column``).
Effect = Callable[[Mapping[str, Any], Any], dict[str, Any]]
# Forwarding goes up, never down: province first, then (perhaps) national.
FORWARD_ORDER = (ForwardLevel.PROVINCE, ForwardLevel.NATIONAL)


def column(record: Any, name: str) -> Any:
    """A column of ``record``, an OpinionReport or a generator's row dict."""
    return record.get(name) if isinstance(record, Mapping) else getattr(record, name)


def _submit(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # A report sent back for revision leaves the reason behind once it is sent again.
    return {"decision_note": None}


def _adopt(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"bulletin_issue": values["bulletin_issue"], "decision_note": values.get("note")}


def _not_adopt(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"decision_note": values["reason"], "bulletin_issue": None}


def _return(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    # Back with its writer: it is not "submitted" any more until it is sent again.
    return {"decision_note": values["reason"], "submitted_at": None}


def _forward(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"forwarded_to": ForwardLevel(values["forwarded_to"])}


def _instruct(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"instruction_leader": values["instruction_leader"],
            "instruction_text": values["instruction_text"],
            "instructed_on": values["instructed_on"]}


def _follow_up(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return {"follow_up": values["follow_up"]}


def _level(value: Any) -> ForwardLevel | None:
    if value is None or value == "":
        return None
    try:
        return ForwardLevel(value)
    except ValueError:
        return None


def _may_forward(record: Any) -> bool:
    """Not yet forwarded, or forwarded to the province only (the national CPPCC is next)."""
    return _level(column(record, "forwarded_to")) is not ForwardLevel.NATIONAL


def _not_instructed(record: Any) -> bool:
    return column(record, "instructed_on") is None


def _instructed(record: Any) -> bool:
    return column(record, "instructed_on") is not None


def _check_length(values: Mapping[str, Any], name: str, limit: int) -> dict[str, Any]:
    if len(values.get(name) or "") > limit:
        return {name: _("不超过 %(n)s 个字符", n=limit)}
    return {}


def _check_adopt(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    return _check_length(values, "bulletin_issue", max_length(OpinionReport.bulletin_issue))


def _check_forward(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    level = _level(values.get("forwarded_to"))
    if level is None:
        return {"forwarded_to": _("请选择报送到省政协还是全国政协")}
    before = _level(column(record, "forwarded_to"))
    if before is not None and FORWARD_ORDER.index(level) <= FORWARD_ORDER.index(before):
        return {"forwarded_to": _("已报送%(level)s，只能再报送更高一级", level=before.label)}
    return {}


def _check_instruct(values: Mapping[str, Any], record: Any) -> dict[str, Any]:
    errors = _check_length(values, "instruction_leader",
                           max_length(OpinionReport.instruction_leader))
    day = values.get("instructed_on")
    today = values.get("_today")
    if isinstance(day, date) and today is not None and day > today:
        errors["instructed_on"] = _("批示日期不能晚于今天")
    decided = column(record, "decided_at")
    if isinstance(day, date) and isinstance(decided, datetime) and day < to_local(decided).date():
        errors["instructed_on"] = _("批示日期不能早于采用日期")
    return errors


@dataclass(frozen=True)
class Transition:
    action: str
    label: Any  # a lazy translation
    sources: frozenset[OpinionStatus]
    # None: the status stays as it is (forwarding, an instruction, its follow-up).
    target: OpinionStatus | None
    requires: tuple[str, ...] = ()
    optional: tuple[str, ...] = field(default=())
    effect: Callable[[Mapping[str, Any], Any], dict[str, Any]] = lambda values, record: {}
    # Columns set to the action's moment.
    stamps_at: tuple[str, ...] = ()
    # Offered only when this holds for the report, besides the source statuses.
    when: Callable[[Any], bool] | None = None
    # Checks of the values together and against the report: {field: message}.
    check: Callable[[Mapping[str, Any], Any], dict[str, Any]] | None = None
    # Who takes it: "writer" (the author's side, or staff for them), "office" (district or
    # city staff of the report's district), "city" (city staff). opinions/access.py reads it.
    by: str = "office"

    def allows(self, record: Any) -> bool:
        """Whether the action may be taken on ``record`` now."""
        status = S(column(record, "status"))
        return status in self.sources and (self.when is None or self.when(record))

    def changes(self, current: OpinionStatus, values: Mapping[str, Any], at: Any,
                record: Any = None) -> dict[str, Any]:
        """Every column the action writes from ``current``: its effect, the status it leads
        to and the times it stamps (``at``, in whatever form the caller keeps time)."""
        record = {} if record is None else record
        changes = self.effect(values, record)
        changes["status"] = self.target or current
        for name in self.stamps_at:
            changes[name] = at
        return changes


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("submit", _lp("action", "报送"), frozenset({S.DRAFT}), S.SUBMITTED,
                   effect=_submit, stamps_at=("submitted_at",), by="writer"),
        Transition("adopt", _lp("action", "采用"), frozenset({S.SUBMITTED}), S.ADOPTED,
                   ("bulletin_issue",), optional=("note",), effect=_adopt,
                   stamps_at=("decided_at",), check=_check_adopt),
        Transition("not_adopt", _lp("action", "不予采用"), frozenset({S.SUBMITTED}),
                   S.NOT_ADOPTED, ("reason",), effect=_not_adopt, stamps_at=("decided_at",)),
        Transition("return", _lp("action", "退回修改"), frozenset({S.SUBMITTED}), S.DRAFT,
                   ("reason",), effect=_return),
        Transition("forward", _lp("action", "报送上级"), frozenset({S.ADOPTED}), None,
                   ("forwarded_to",), effect=_forward, stamps_at=("forwarded_at",),
                   when=_may_forward, check=_check_forward, by="city"),
        Transition("instruct", _lp("action", "登记批示"), frozenset({S.ADOPTED}), None,
                   ("instruction_leader", "instruction_text", "instructed_on"),
                   effect=_instruct, when=_not_instructed, check=_check_instruct),
        Transition("follow_up", _lp("action", "登记批示落实情况"), frozenset({S.ADOPTED}), None,
                   ("follow_up",), effect=_follow_up, when=_instructed),
    )
}

FIELD_LABELS = {
    "bulletin_issue": _l("编发期号"),
    "note": _l("采用说明"),
    "reason": _l("理由"),
    "forwarded_to": _l("报送上级"),
    "instruction_leader": _l("批示领导"),
    "instruction_text": _l("批示内容"),
    "instructed_on": _l("批示日期"),
    "follow_up": _l("落实情况"),
}


def allowed_actions(report: OpinionReport) -> list[Transition]:
    """The actions that fit ``report``'s state now (who may take them: opinions/access.py)."""
    return [t for t in TRANSITIONS.values() if t.allows(report)]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _plain(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def check(report: Any, action: str, values: Mapping[str, Any],
          today: date | None = None) -> dict[str, Any]:
    """What is wrong with taking ``action`` on ``report`` with ``values``: {field: message}."""
    transition = TRANSITIONS.get(action)
    if transition is None:
        return {"action": _("未知操作 %(action)s", action=repr(action))}
    if not transition.allows(report):
        return {"action": _("“%(status)s”状态下不能%(action)s",
                            status=S(column(report, "status")).label, action=transition.label)}
    errors: dict[str, Any] = {
        name: _("请填写%(field)s", field=FIELD_LABELS[name])
        for name in transition.requires if _missing(values.get(name))
    }
    unknown = set(values) - set(transition.requires) - set(transition.optional)
    errors.update({name: _("此操作不接受该字段") for name in sorted(unknown)})
    if not errors and transition.check is not None:
        errors.update(transition.check({**values, "_today": today}, report))
    return errors


def apply(report: OpinionReport, action: str, *, now: datetime | None = None,
          **values: Any) -> Transition:
    """Take ``action`` on ``report`` or raise ValidationFailed naming the field; nothing
    changes then. Returns the transition taken."""
    now = now or utcnow()
    plain = {name: _plain(value) for name, value in values.items()}
    errors = check(report, action, plain, today=local_today(now))
    if errors:
        raise ValidationFailed(errors)
    transition = TRANSITIONS[action]
    set_columns(report, transition.changes(report.status, plain, now, report))
    return transition
