"""Proposal pages (提案): staff, members and departments under ``/manage/proposals``; the public
list, a proposal's public page and the year's review under ``/proposals``."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms.fields import SelectChoice

from consult_hub.auth.decorators import public, roles_required
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import can_view_issue, reads_issue, require
from consult_hub.core import params
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import EditConflict
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.pagecache import remembered, shared_page
from consult_hub.core.pagination import paginate
from consult_hub.core.saving import save
from consult_hub.core.timefmt import format_date, format_datetime, local_today
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.members.models import Member
from consult_hub.opinions.models import OpinionReport
from consult_hub.proposals import queries, scopes
from consult_hub.proposals.forms import (
    ActionForm,
    ProposalFilterForm,
    ProposalForm,
    action_form,
    form_fields,
)
from consult_hub.proposals.lifecycle import (
    TRANSITIONS,
    Transition,
    allowed_actions,
    default_due_on,
    local_year,
)
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    HANDLING_STATUSES,
    HandlingRole,
    Proposal,
    ProposalOutcome,
    ProposalStatus,
    ProposerKind,
)
from consult_hub.proposals.operations import (
    EDIT_FIELDS,
    change_status,
    create_proposal,
    update_proposal,
)
from consult_hub.proposals.review import read_review

T = TypeVar("T")  # what a write returns (``_write``)
bp = Blueprint("proposals", __name__)

manage_required = roles_required(*scopes.PROPOSAL_ROLES)
author_required = roles_required(*scopes.AUTHOR_ROLES)

# Timeline entries that are not lifecycle actions.
OTHER_ACTION_LABELS = {"create": _l("起草")}


@bp.app_template_global("proposal_action_label")
def action_label(action: str) -> str:
    transition = TRANSITIONS.get(action)
    return str(transition.label if transition else OTHER_ACTION_LABELS.get(action, action))


def _ids(name: str) -> list[int]:
    """``?name=`` repeated, as ids (what is no id is ignored)."""
    found = []
    for raw in request.args.getlist(name)[:50]:
        try:
            found.append(params.to_id(raw))
        except params.BadParam:
            continue
    return list(dict.fromkeys(found))


# --- the staff list ------------------------------------------------------------------------


@bp.route("/manage/proposals/")
@manage_required
def index():
    user = current_user
    form = ProposalFilterForm(formdata=request.args)
    form.validate()
    form.year.choices = select_choices([("", _("全部年度")),
                                        *((y, str(y)) for y in queries.years(user))])
    by_department = user.role is Role.DEPARTMENT
    form.department.choices = select_choices([("", _("全部承办单位")), *(
        (d.id, d.name) for d in ([] if by_department else queries.department_choices()))])
    status = form.valid("status")
    filters = queries.ProposalFilters(
        year=form.valid("year"), status=ProposalStatus(status) if status else None,
        category=Category(form.valid("category")) if form.valid("category") else None,
        proposer_kind=(ProposerKind(form.valid("proposer_kind"))
                       if form.valid("proposer_kind") else None),
        key=bool(form.key.data), department_id=form.valid("department"),
        overdue=bool(form.overdue.data), text=(form.q.data or "")[:100])
    today = local_today(utcnow())
    counts = queries.status_counts(user, filters, today)
    page = queries.proposal_page(user, filters, today, params.arg_page())
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("status", "page")}
    chips = [(None, _("全部"), sum(counts.values()), url_for("proposals.index", **args),
              filters.status is None)]
    chips += [(s, s.label, counts[s], url_for("proposals.index", **args, status=s.value),
               filters.status is s) for s in ProposalStatus if counts[s] or filters.status is s]
    return render_template("proposals/index.html", form=form, page=page, chips=chips,
                           today=today, can_create=scopes.can_create(user),
                           by_department=by_department, handling=HANDLING_STATUSES)


# --- new and edit --------------------------------------------------------------------------


def _choices(form: ProposalForm, proposal: Proposal | None = None) -> None:
    user = current_user
    chosen = [form.lead_member.data, *(form.co_members.data or [])]
    if proposal is not None:
        chosen += [p.member_id for p in proposal.proposers]
    members = _member_options(chosen)
    form.lead_member.choices = [*select_choices([("", _("请选择领衔委员"))]), *members]
    # A member does not sign alongside themselves (read once: ``user`` is a proxy).
    themselves = user.member_id if user.role is Role.MEMBER else None
    form.co_members.choices = [m for m in members if themselves is None or m.value != themselves]
    if user.role is Role.MEMBER:
        # A member proposes for themselves, alone or with others: not for a collective body.
        form.proposer_kind.choices = select_choices(
            [(k.value, k.label) for k in ProposerKind if k is not ProposerKind.COLLECTIVE])


def _member_options(chosen: list[int | None]) -> tuple[SelectChoice, ...]:
    """The members to choose proposers from, as options by name: the active ones made once
    while the site version stands (a city's 1,200 members, read and made into options on every
    request, were 8,000 new objects a page, and the collector's runs put the form's p95 past
    50 ms); a proposal that names a member no longer active reads them afresh, with it."""
    options, ids = remembered(("proposals.member_options",), _active_member_options)
    if all(member_id is None or member_id in ids for member_id in chosen):
        return options
    return tuple(select_choices((m.id, m.name) for m in queries.member_choices(include=chosen)))


def _active_member_options() -> tuple[tuple[SelectChoice, ...], frozenset[int]]:
    rows = queries.member_choices()
    return tuple(select_choices((m.id, m.name) for m in rows)), frozenset(m.id for m in rows)


def _prefill(form: ProposalForm, issues: list[Issue], reports: list[OpinionReport]) -> None:
    """Start from the evidence: a title, the 案由 from the problems' and reports' public text."""
    form.year.data = local_year(utcnow())
    form.timing.data = "interim"
    if current_user.role is Role.MEMBER:
        form.lead_member.data = current_user.member_id
    first = issues[0] if issues else None
    if first is not None:
        subject = first.title if len(issues) == 1 else _("%(title)s等问题", title=first.title)
        form.title.data = _("关于解决%(subject)s的建议", subject=subject)[:200]
        form.category.data = first.category.value if first.category else None
    elif reports:
        form.title.data = _("关于%(title)s的建议", title=reports[0].title)[:200]
        form.category.data = reports[0].category.value
    lines = [_("%(ref)s %(title)s（%(platform)s）：%(text)s", ref=i.reference, title=i.title,
               platform=i.platform.name if i.platform else "", text=i.description)
             for i in issues]
    lines += [_("社情民意信息 %(ref)s %(title)s：%(text)s", ref=r.reference, title=r.title,
                text=r.body) for r in reports]
    if lines:
        form.reasons.data = "\n\n".join(lines)
    form.issues.data = [i.id for i in issues]
    form.reports.data = [r.id for r in reports]


def _written(form: ProposalForm) -> dict[str, Any]:
    """The form's values as the operations take them (a member is always their own lead)."""
    user = current_user
    lead = user.member_id if user.role is Role.MEMBER else form.lead_member.data
    kind = form.proposer_kind.data or ""
    if user.role is Role.MEMBER and kind == ProposerKind.COLLECTIVE.value:
        raise ValidationFailed({"proposer_kind": _("委员不能以集体名义提出提案")})
    if (user.role is Role.DISTRICT_ADMIN and kind != ProposerKind.COLLECTIVE.value
            and lead is not None):
        member = db.session.get(Member, lead)
        if member is not None and member.district_id != user.district_id:
            raise ValidationFailed({"lead_member": _("只能为本区的委员录入提案")})
    return dict(
        title=form.title.data, reasons=form.reasons.data, suggestions=form.suggestions.data,
        category=form.category.data or "", timing=form.timing.data or "",
        year=form.year.data if form.year.data is not None else local_year(utcnow()),
        proposer_kind=kind, lead_member_id=lead, co_member_ids=form.co_members.data or [],
        collective_kind=form.collective_kind.data, collective_name=form.collective_name.data,
        issues=queries.evidence_issues(user, form.issues.data or []),
        reports=queries.evidence_reports(user, form.reports.data or []))


def _evidence_of(form: ProposalForm) -> tuple[list[Issue], list[OpinionReport]]:
    user = current_user
    return (queries.evidence_issues(user, form.issues.data or []),
            queries.evidence_reports(user, form.reports.data or []))


def _render_form(form: ProposalForm, proposal: Proposal | None, status: int = 200,
                 conflict: Any = None):
    issues, reports = _evidence_of(form)
    return render_template(
        "proposals/form.html", form=form, proposal=proposal, issues=issues, reports=reports,
        for_others=scopes.can_enter_for_others(current_user), conflict=conflict,
        recent=(queries.recent_issues(current_user) if proposal is None and not issues
                and not form.is_submitted() else [])), status


def _submit_after(proposal: Proposal, form: ProposalForm) -> None:
    if form.submit_now.data:
        change_status(proposal, "submit", actor=current_user, values={})


@bp.route("/manage/proposals/new", methods=["GET", "POST"])
@author_required
def new():
    user = current_user
    require(scopes.can_create(user), "proposal:new")
    form = ProposalForm()
    _choices(form)
    if not form.is_submitted():
        issues = queries.evidence_issues(user, _ids("issue"))
        reports = queries.evidence_reports(user, _ids("report"))
        _prefill(form, issues, reports)
        return _render_form(form, None)

    def write() -> Proposal:
        proposal = create_proposal(actor=user, **_written(form))
        _submit_after(proposal, form)
        return proposal

    if form.validate() and (saved := save(form, write, aliases={
            "lead_member_id": "lead_member", "co_member_ids": "co_members"})):
        proposal = saved.value
        if proposal.status is ProposalStatus.SUBMITTED:
            flash(_("提案已提交，编号 %(ref)s。", ref=proposal.reference), "success")
        else:
            flash(_("提案草稿已保存。"), "success")
        return redirect(url_for("proposals.show", proposal_id=proposal.id), 303)
    return _render_form(form, None, 422)


def _load(proposal_id: int) -> Proposal:
    proposal = queries.proposal_for_page(proposal_id)
    if proposal is None:
        abort(404)
    require(scopes.can_view(current_user, proposal), scopes.what(proposal_id))
    return proposal


@bp.route("/manage/proposals/<int:proposal_id>/edit", methods=["GET", "POST"])
@author_required
def edit(proposal_id: int):
    user = current_user
    proposal = _load(proposal_id)
    require(scopes.can_edit(user, proposal), scopes.what(proposal_id, "edit"))
    form = ProposalForm(obj=proposal)
    _choices(form, proposal)
    if not form.is_submitted():
        form.start_from(proposal, EDIT_FIELDS)
        form.category.data = proposal.category.value
        form.timing.data = proposal.timing.value
        form.proposer_kind.data = proposal.proposer_kind.value
        form.collective_kind.data = (proposal.collective_kind.value
                                     if proposal.collective_kind else "")
        form.lead_member.data = proposal.lead_member_id
        form.co_members.data = [p.member_id for p in proposal.proposers if not p.is_lead]
        form.issues.data = [i.id for i in proposal.issues]
        form.reports.data = [r.id for r in proposal.opinion_reports]
        return _render_form(form, proposal)
    if not form.validate():
        return _render_form(form, proposal, 422)

    def write() -> Any:
        changes = update_proposal(proposal, actor=user, version=form.version.data,
                                  original=form.original.data, **_written(form))
        if proposal.status is ProposalStatus.DRAFT:
            _submit_after(proposal, form)
        return changes

    saved = save(form, write, edited=(proposal, EDIT_FIELDS),
                 aliases={"lead_member_id": "lead_member", "co_member_ids": "co_members"})
    if not saved:
        return _render_form(form, proposal, saved.status, saved.conflict)
    flash(_("提案已提交，编号 %(ref)s。", ref=proposal.reference)
          if proposal.status is ProposalStatus.SUBMITTED and form.submit_now.data
          else _("提案的修改已保存。"), "success")
    return redirect(url_for("proposals.show", proposal_id=proposal.id), 303)


# --- one proposal --------------------------------------------------------------------------


@bp.route("/manage/proposals/<int:proposal_id>")
@manage_required
def show(proposal_id: int):
    return _page(_load(proposal_id))


def _department_choices(form: ActionForm, proposal: Proposal) -> None:
    handling = [row.department_id for row in proposal.departments]
    departments = queries.department_choices(include=handling)
    if "lead_department" in form:
        form["lead_department"].choices = select_choices(
            [("", _("请选择主办单位")), *((d.id, d.name) for d in departments)])
    if "co_departments" in form:
        form["co_departments"].choices = select_choices([(d.id, d.name) for d in departments])
    if "letter_department" in form:
        form["letter_department"].choices = select_choices(
            [("", _("不转送，由政协留存")), *((d.id, d.name) for d in departments)])


def _prefill_action(proposal: Proposal, action: str, form: ActionForm, today: date) -> None:
    if action == "accept":
        form["due_on"].data = default_due_on(today)
    elif action == "reply" and proposal.reply:
        form["reply"].data = proposal.reply  # sent back: the department revises its answer
        form["outcome"].data = proposal.outcome.value if proposal.outcome else None


def _page(proposal: Proposal, *, status: int = 200,
          posted: tuple[str, ActionForm] | None = None, problem: str | None = None,
          conflict: str | None = None):
    user = current_user
    today = local_today(utcnow())
    forms: dict[str, ActionForm] = {}
    transitions = [t for t in allowed_actions(proposal) if scopes.can_take(user, proposal, t)]
    for transition in transitions:
        if transition.action == "co_acknowledge":
            row = next((r for r in proposal.departments
                        if r.department_id == user.department_id), None)
            if row is None or row.acknowledged_at is not None:
                continue
        form = posted[1] if posted and posted[0] == transition.action else None
        fresh = form is None
        if fresh:
            form = action_form(transition, formdata=None)
        _offered(form, user)
        _department_choices(form, proposal)
        if fresh:
            _prefill_action(proposal, transition.action, form, today)
        form.start_from(proposal)
        forms[transition.action] = form
    if posted and posted[0] not in forms:
        problem = problem or " ".join(
            str(message) for errors in posted[1].errors.values() for message in errors)
    lead = next((r for r in proposal.departments if r.role is HandlingRole.LEAD), None)
    co = [r for r in proposal.departments if r.role is HandlingRole.CO]
    return render_template(
        "proposals/show.html", proposal=proposal, forms=forms,
        letter=scopes.letter_review(proposal), reads_letter=scopes.reads_letter(user, proposal),
        transitions=[t for t in transitions if t.action in forms], lead=lead, co=co,
        quick={t.action for t in transitions if not form_fields(t)},
        posted_action=posted[0] if posted else None, problem=problem, conflict=conflict,
        today=today, can_edit=scopes.can_edit(user, proposal),
        readable_issue=lambda issue: can_view_issue(user, issue) or reads_issue(user, issue),
        overdue=(proposal.status in HANDLING_STATUSES and proposal.due_on is not None
                 and proposal.due_on < today),
        answered=proposal.status in ANSWERED_STATUSES,
    ), status


def _offered(form: ActionForm, user: Any) -> None:
    """Only city staff mark a proposal key (重点提案), on acceptance too."""
    if "is_key" in form and user.role is not Role.ADMIN:
        del form["is_key"]


def _lifecycle_values(transition: Transition, form: ActionForm,
                      proposal: Proposal) -> dict[str, Any]:
    values = form.values(transition)
    known = {d.id for d in queries.department_choices(
        include=[r.department_id for r in proposal.departments])}
    for name in ("lead_department", "letter_department"):
        if values.get(name) is not None and values[name] not in known:
            raise ValidationFailed({name: _("请从列表中选择承办单位")})
    if any(d not in known for d in values.get("co_departments") or []):
        raise ValidationFailed({"co_departments": _("请从列表中选择承办单位")})
    return values


def _stale(proposal: Proposal, seen: Any, conflict: EditConflict | None,
           posted: tuple[str, ActionForm]):
    db.session.rollback()
    fresh = _load(proposal.id)
    try:
        seen_id = int(seen)
    except (TypeError, ValueError):
        seen_id = 0
    news = queries.updates_after(fresh, seen_id)
    if news:
        last = news[-1]
        said = _("%(when)s，%(who)s已对此提案进行“%(action)s”。",
                 when=format_datetime(last.created_at),
                 who=last.actor.name if last.actor else _("系统"),
                 action=action_label(last.action))
    else:
        said = _("您打开页面后，此提案已被他人修改。")
    said += _("您的操作没有执行：页面已更新为最新情况，您填写的内容仍保留，请核对后再提交。")
    return _page(fresh, status=409, posted=posted, conflict=said)


def _write(proposal: Proposal, name: str, form: ActionForm,
           write: Callable[[], T]) -> tuple[Any, T | None]:
    """The error page to answer with (None when stored) and what ``write`` returned: read
    there, before the commit expires the proposal, which would reload with everything its page
    loaded (13 ms of an action's 25, profiled)."""
    posted = (name, form)
    if not form.validate():
        return _page(proposal, status=422, posted=posted), None
    saved = save(form, write)
    if saved.status == 409:
        return _stale(proposal, form.seen.data, saved.conflict, posted), None
    if not saved:
        return _page(_load(proposal.id), status=saved.status, posted=posted,
                     problem=" ".join(str(m) for m in saved.leftover) or None), None
    return None, saved.value


@bp.route("/manage/proposals/<int:proposal_id>/act/<action>", methods=["POST"])
@manage_required
def act(proposal_id: int, action: str):
    proposal = _load(proposal_id)
    transition = TRANSITIONS.get(action)
    if transition is None:
        abort(404)
    require(scopes.can_take(current_user, proposal, transition),
            scopes.what(proposal_id, action))
    form = action_form(transition)
    _offered(form, current_user)

    def write() -> str:
        change_status(proposal, action, actor=current_user, version=form.version.data,
                      values=_lifecycle_values(transition, form, proposal))
        return _done(proposal, transition)

    refused, done = _write(proposal, action, form, write)
    if refused is not None:
        return refused
    flash(done, "success")
    return redirect(url_for("proposals.show", proposal_id=proposal_id), 303)


def _done(proposal: Proposal, transition: Transition) -> str:
    ref, action = proposal.reference, transition.action
    if action == "submit":
        return _("提案已提交，编号 %(ref)s，等待审查。", ref=ref)
    if action == "accept" and proposal.lead_department is not None:
        return _("提案 %(ref)s 已立案，案号 %(number)s，交%(department)s主办，办理期限 %(due)s。",
                 ref=ref, number=proposal.number, department=proposal.lead_department.name,
                 due=format_date(proposal.due_on))
    if action == "not_accept":
        return _("提案 %(ref)s 不予立案，转为意见建议。", ref=ref)
    if action == "reply":
        return _("已办复提案 %(ref)s，等待提案者评价。", ref=ref)
    if action == "rate" and proposal.status is ProposalStatus.ACCEPTED:
        return _("已记录评价：不满意。提案 %(ref)s 退回主办单位重新办理。", ref=ref)
    if action == "rate":
        return _("已记录评价：%(rating)s。提案 %(ref)s 已办结。", rating=proposal.rating.label,
                 ref=ref)
    return _("已对提案 %(ref)s 执行“%(action)s”。", ref=ref, action=transition.label)


# --- public pages --------------------------------------------------------------------------


@bp.route("/proposals")
@public
@shared_page
def public_index():
    years = queries.years()
    year = params.arg_year("year")
    category = params.arg_enum(Category, "category")
    outcome = params.arg_enum(ProposalOutcome, "outcome")
    search = params.arg_text("q", 50)
    stmt = queries.public_list(year=year, category=category, outcome=outcome, text=search)
    page = paginate(stmt, per_page=current_app.config["PER_PAGE"],
                    total_key=("proposals.public", year, category, outcome, search))
    page.items = queries.listed(page.items)
    return render_template("proposals/public_index.html", page=page, years=years, year=year,
                           category=category, outcome=outcome, search=search,
                           categories=Category, outcomes=ProposalOutcome,
                           answered=ANSWERED_STATUSES)


@bp.route("/proposals/<int:proposal_id>")
@public
@shared_page
def public_show(proposal_id: int):
    proposal = queries.public_proposal(proposal_id)
    if proposal is None:
        abort(404)
    return render_template(
        "proposals/public_show.html", proposal=proposal,
        answered=proposal.status in ANSWERED_STATUSES,
        lead=next((r for r in proposal.departments if r.role is HandlingRole.LEAD), None),
        co=[r for r in proposal.departments if r.role is HandlingRole.CO],
        evidence=[i for i in proposal.issues if i.is_published])


@bp.route("/proposals/review")
@public
def review_latest():
    years = queries.years()
    if not years:
        abort(404)
    return redirect(url_for("proposals.review", year=years[0]), 302)


@bp.route("/proposals/review/<int:year>")
@public
@shared_page
def review(year: int):
    if not 2000 <= year <= 2100:
        abort(404)
    found = read_review(year)
    return render_template("proposals/review.html", review=found, year=year,
                           years=queries.years(), categories=Category,
                           outcomes=ProposalOutcome,
                           key=queries.key_proposals(year), accepted=ACCEPTED_STATUSES)
