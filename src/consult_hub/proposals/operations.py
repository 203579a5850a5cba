"""Writes on proposals (提案). They flush but do not commit: ``core/saving.save`` commits once."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from consult_hub.audit.operations import diff, record
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import check_version
from consult_hub.core.db import max_length, utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.members.models import Member
from consult_hub.opinions.models import OpinionReport
from consult_hub.proposals import lifecycle
from consult_hub.proposals.models import (
    CollectiveKind,
    Proposal,
    ProposalMember,
    ProposalStatus,
    ProposalTiming,
    ProposalUpdate,
    ProposerKind,
)

TITLE_LENGTH = max_length(Proposal.title)
COLLECTIVE_NAME_LENGTH = max_length(Proposal.collective_name)
MIN_YEAR, MAX_YEAR = 2000, 2100
# The fields an edit compares on a conflict (what another person may have changed).
EDIT_FIELDS = ["title", "reasons", "suggestions", "category", "timing", "year", "proposer_kind",
               "collective_kind", "collective_name"]


def _enum(errors: dict[str, str], name: str, enum_cls: Any, value: Any) -> Any:
    try:
        return enum_cls(value)
    except ValueError:
        errors[name] = _("无效的取值 %(value)s", value=repr(value))
        return None


def _checked(*, title: str | None, reasons: str | None, suggestions: str | None,
             category: Any, timing: Any, year: Any, proposer_kind: Any,
             lead_member_id: int | None, co_member_ids: Iterable[int],
             collective_kind: Any, collective_name: str | None) -> dict[str, Any]:
    """The proposal's own values, checked together; raises ValidationFailed by field."""
    errors: dict[str, str] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = _("请填写标题")
    elif len(title) > TITLE_LENGTH:
        errors["title"] = _("标题不超过 %(n)s 个字符", n=TITLE_LENGTH)
    values: dict[str, Any] = {"title": title, "reasons": (reasons or "").strip(),
                              "suggestions": (suggestions or "").strip()}
    values["category"] = _enum(errors, "category", Category, category)
    values["timing"] = _enum(errors, "timing", ProposalTiming, timing)
    kind = values["proposer_kind"] = _enum(errors, "proposer_kind", ProposerKind, proposer_kind)
    try:
        values["year"] = int(year)
        if not MIN_YEAR <= values["year"] <= MAX_YEAR:
            raise ValueError(year)
    except (TypeError, ValueError):
        errors["year"] = _("请填写 %(low)s 到 %(high)s 之间的年份", low=MIN_YEAR, high=MAX_YEAR)
    co_ids = list(dict.fromkeys(i for i in co_member_ids if i is not None))
    values.update(lead_member_id=None, co_member_ids=[], collective_kind=None,
                  collective_name=None)
    if kind is ProposerKind.COLLECTIVE:
        values["collective_kind"] = _enum(errors, "collective_kind", CollectiveKind,
                                          collective_kind) if collective_kind else None
        if not collective_kind:
            errors["collective_kind"] = _("请选择集体提案的提案单位类别")
        name = (collective_name or "").strip()
        if not name:
            errors["collective_name"] = _("请填写提案单位名称")
        elif len(name) > COLLECTIVE_NAME_LENGTH:
            errors["collective_name"] = _("名称不超过 %(n)s 个字符", n=COLLECTIVE_NAME_LENGTH)
        values["collective_name"] = name
    elif kind is not None:
        known = {m.id for m in db.session.query(Member).filter(
            Member.id.in_([i for i in [lead_member_id, *co_ids] if i is not None]))}
        if lead_member_id is None or lead_member_id not in known:
            errors["lead_member"] = _("请选择领衔委员")
        if any(i not in known for i in co_ids):
            errors["co_members"] = _("请从列表中选择联名委员")
        co_ids = [i for i in co_ids if i != lead_member_id]
        if kind is ProposerKind.JOINT and not co_ids and "co_members" not in errors:
            errors["co_members"] = _("联名提案请至少选择一位联名委员")
        if kind is ProposerKind.MEMBER and co_ids:
            errors["co_members"] = _("个人提案没有联名委员；有联名委员的，请选择“委员联名”")
        values.update(lead_member_id=lead_member_id, co_member_ids=co_ids)
    if errors:
        raise ValidationFailed(errors)
    return values


def _evidence(issues: Iterable[Issue], reports: Iterable[OpinionReport]) -> dict[str, Any]:
    return {"issues": list(dict.fromkeys(issues)), "opinion_reports": list(dict.fromkeys(reports))}


def _set_proposers(proposal: Proposal, lead_member_id: int | None,
                   co_member_ids: list[int]) -> None:
    wanted = ([lead_member_id] if lead_member_id is not None else []) + co_member_ids
    rows = {row.member_id: row for row in proposal.proposers}
    for member_id, row in list(rows.items()):
        if member_id not in wanted:
            proposal.proposers.remove(row)
    db.session.flush()
    for position, member_id in enumerate(wanted):
        row = rows.get(member_id)
        if row is None:
            row = ProposalMember(member_id=member_id)
            proposal.proposers.append(row)
        row.is_lead, row.position = member_id == lead_member_id, position


def create_proposal(*, actor: Any, issues: Iterable[Issue] = (),
                    reports: Iterable[OpinionReport] = (), now: datetime | None = None,
                    **fields: Any) -> Proposal:
    """A new draft (草稿) with its proposers and evidence; ``fields`` as ``_checked`` takes
    them. Its reference is a placeholder until it is submitted (``TA2024-0001`` then)."""
    now = now or utcnow()
    values = _checked(**fields)
    co_ids = values.pop("co_member_ids")
    proposal = Proposal(reference=lifecycle.draft_reference(secrets.token_hex(8)),
                        status=ProposalStatus.DRAFT, created_by_id=getattr(actor, "id", None),
                        created_at=now, updated_at=now, **values,
                        **_evidence(issues, reports))
    db.session.add(proposal)
    _set_proposers(proposal, values["lead_member_id"], co_ids)
    proposal.updates.append(ProposalUpdate(action="create", from_status=None,
                                           to_status=ProposalStatus.DRAFT,
                                           actor_id=getattr(actor, "id", None), created_at=now))
    db.session.flush()
    record("proposal_create", proposal, {"title": proposal.title}, actor_id=proposal.created_by_id)
    return proposal


def _state(proposal: Proposal) -> dict[str, Any]:
    return {**{name: getattr(proposal, name) for name in EDIT_FIELDS},
            "lead_member_id": proposal.lead_member_id,
            "proposers": [p.member_id for p in proposal.proposers],
            "issues": [i.id for i in proposal.issues],
            "opinion_reports": [r.id for r in proposal.opinion_reports]}


def update_proposal(proposal: Proposal, *, actor: Any, version: Any = None,
                    original: str | None = None, issues: Iterable[Issue] = (),
                    reports: Iterable[OpinionReport] = (), now: datetime | None = None,
                    **fields: Any) -> dict[str, list[Any]]:
    """Change a draft (or a submitted proposal before review); returns the audited changes."""
    check_version(proposal, version=version, original=original, fields=EDIT_FIELDS)
    if proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.SUBMITTED):
        raise ValidationFailed({"action": _("“%(status)s”的提案不能修改",
                                            status=proposal.status.label)})
    values = _checked(**fields)
    co_ids = values.pop("co_member_ids")
    before = _state(proposal)
    for name, value in {**values, **_evidence(issues, reports)}.items():
        setattr(proposal, name, value)
    _set_proposers(proposal, values["lead_member_id"], co_ids)
    changes = diff(before, _state(proposal))
    if changes:
        proposal.updated_at = now or utcnow()
        db.session.flush()
        record("proposal_edit", proposal, changes, actor_id=getattr(actor, "id", None))
    return changes


def change_status(proposal: Proposal, action: str, *, actor: Any, values: dict[str, Any],
                  version: Any = None, now: datetime | None = None) -> ProposalUpdate:
    """Apply a lifecycle action and audit it; ValidationFailed on bad input, EditConflict when
    ``version`` (the page's) is not the proposal's any more."""
    check_version(proposal, version=version)
    now = now or utcnow()
    watched = ("status", "lead_department_id", "due_on", "outcome", "rating", "is_key",
               "reference", "number")
    before = {name: getattr(proposal, name) for name in watched}
    update = lifecycle.apply(proposal, action, values, actor, now)
    proposal.updated_at = now
    db.session.flush()
    changes = diff(before, {name: getattr(proposal, name) for name in watched})
    record(f"proposal_{action}", proposal, changes, actor_id=getattr(actor, "id", None))
    return update
