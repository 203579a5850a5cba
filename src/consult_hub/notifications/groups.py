"""The inbox's groups of reminders, in the order they are shown: what is late first.

An escalation (逾期超过N天，请督办) and an overdue problem ask someone to act now; a due date
coming up, an event reminder or the monthly digest can wait. The inbox shows unread messages
group by group in this order, so the pinned groups stand above everything else however much
else arrived, and it counts each group's unread messages.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from consult_hub.core.i18n import lazy_gettext as _l


@dataclass(frozen=True)
class Group:
    key: str
    label: object  # a lazy string: shown in the reader's language
    kinds: tuple[str, ...]
    pinned: bool = False


GROUPS: tuple[Group, ...] = (
    Group("escalated", _l("督办"), ("issue_escalated",), pinned=True),
    Group("overdue", _l("逾期"), ("issue_overdue", "proposal_overdue"), pinned=True),
    Group("due_soon", _l("即将到期"), ("issue_due_soon", "proposal_due_soon")),
    Group("events", _l("活动提醒"), ("event_upcoming", "minutes_missing")),
    # One message per platform (``platform_inactive``) before the digest: the same group.
    Group("digest", _l("月度汇总"), ("inactive_digest", "platform_inactive")),
)
OTHER = Group("other", _l("其他"), ())
BY_KEY = {group.key: group for group in (*GROUPS, OTHER)}
KNOWN_KINDS = tuple(kind for group in GROUPS for kind in group.kinds)


def group_of(kind: str) -> Group:
    return next((group for group in GROUPS if kind in group.kinds), OTHER)


def rank(kind_column: sa.ColumnElement[str]) -> sa.ColumnElement[int]:
    """The group's place in ``GROUPS`` (other kinds last), for ORDER BY."""
    return sa.case({kind: index for index, group in enumerate(GROUPS) for kind in group.kinds},
                   value=kind_column, else_=len(GROUPS))


def kinds_clause(group: Group, kind_column: sa.ColumnElement[str]) -> sa.ColumnElement[bool]:
    if group is OTHER:
        return kind_column.not_in(KNOWN_KINDS)
    return kind_column.in_(group.kinds)
