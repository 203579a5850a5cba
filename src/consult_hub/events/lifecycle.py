"""The one transition table for events, and what each step writes on the event.

planned → held (minutes recorded) → concluded (outcome fed back); planned → cancelled (with
the reason). Operations check the input and call ``changes``/``expect``; the demo generator
builds its rows from the same transitions, so an event reads the same however it was made.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.events.models import Event, EventStatus

S = EventStatus
# An effect: the columns a step writes besides the status, from its checked values and its time.
Effect = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def _record(values: Mapping[str, Any], at: Any) -> dict[str, Any]:
    return {"minutes": values["minutes"], "opinions": values.get("opinions") or None,
            "resident_count": values["resident_count"],
            "department_count": values["department_count"],
            "expert_count": values["expert_count"], "held_at": at}


def _conclude(values: Mapping[str, Any], at: Any) -> dict[str, Any]:
    return {"outcome": values["outcome"], "concluded_at": at}


def _cancel(values: Mapping[str, Any], at: Any) -> dict[str, Any]:
    return {"cancel_reason": values["reason"], "cancelled_at": at}


@dataclass(frozen=True)
class Transition:
    action: str
    sources: frozenset[EventStatus]
    target: EventStatus
    effect: Effect
    # Calendar clients must see the change (iCal SEQUENCE moves on).
    reschedules: bool = False


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        Transition("record", frozenset({S.PLANNED}), S.HELD, _record),
        Transition("conclude", frozenset({S.HELD}), S.CONCLUDED, _conclude),
        Transition("cancel", frozenset({S.PLANNED}), S.CANCELLED, _cancel, reschedules=True),
    )
}
# Only a planned event may still be changed.
EDITABLE = frozenset({S.PLANNED})


def expect(event: Event, allowed: frozenset[EventStatus]) -> None:
    """Raise ValidationFailed (on ``status``) unless the event is in one of ``allowed``."""
    if event.status not in allowed:
        raise ValidationFailed({"status": _l("活动当前为“%(status)s”，不能进行这项操作",
                                             status=event.status.label)})


def changes(action: str, values: Mapping[str, Any], at: Any) -> dict[str, Any]:
    """Every column ``action`` writes (without the calendar sequence): its effect and status."""
    transition = TRANSITIONS[action]
    return {**transition.effect(values, at), "status": transition.target}
