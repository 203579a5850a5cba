"""Staff pages for residents' problems: the list, raising one, its page, actions and rating."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult_hub.auth.decorators import platform_staff_required, staff_required
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import (
    can_assign_issue,
    can_choose_district,
    can_manage_platform,
    can_see_contact,
    can_take_action,
    can_update_issue,
    can_view_issue,
    handles_issue,
    is_department_contact,
    reads_issue,
    require,
)
from consult_hub.core import params
from consult_hub.core.conflicts import EditConflict
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.saving import save
from consult_hub.core.timefmt import format_date, format_datetime, local_today
from consult_hub.departments.routing import suggestion
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues import photos as issue_photos
from consult_hub.issues import privacy, queries, subjects
from consult_hub.issues.forms import (
    EDIT_FIELDS,
    ActionForm,
    IssueEditForm,
    IssueFilterForm,
    NewIssueForm,
    PhotoToggleForm,
    RateForm,
    action_form,
)
from consult_hub.issues.lifecycle import (
    DEPARTMENT_WORKING,
    TRANSITIONS,
    Transition,
    allowed_actions,
)
from consult_hub.issues.models import Issue, IssuePhoto, IssueStatus, IssueUpdate, Satisfaction
from consult_hub.issues.operations import (
    RATEABLE_STATUSES,
    change_status,
    create_issue,
    rate_issue,
    update_issue,
)
from consult_hub.platforms.models import Platform

T = TypeVar("T")  # what a write returns (``_write``)
bp = Blueprint("issues", __name__, url_prefix="/manage/issues")

# Timeline entries that are not lifecycle actions.
OTHER_ACTION_LABELS = {"receive": _l("受理"), "rate": _l("评价"), "import": _l("批量导入")}


def action_label(action: str) -> str:
    transition = TRANSITIONS.get(action)
    return str(transition.label if transition else OTHER_ACTION_LABELS.get(action, action))


@bp.app_template_global("issue_action_label")
def _issue_action_label(action: str) -> str:
    return action_label(action)


# --- The list ---------------------------------------------------------------------------------


@bp.route("/")
@staff_required
def index():
    statuses = request.args.getlist("status")
    if len(statuses) > 1:
        # One comma-separated value keeps the choice through page links and status chips.
        args = request.args.to_dict()
        args["status"] = ",".join(statuses)
        return redirect(url_for("issues.index", **args))
    form = IssueFilterForm(formdata=request.args)
    form.validate()
    user = current_user
    chooses_district = can_choose_district(user)
    district_id = form.valid("district") if chooses_district else None
    filters = queries.IssueFilters(
        statuses=[IssueStatus(s) for s in form.status.data or []],
        kind=form.valid("kind"), category=form.valid("category"), source=form.valid("source"),
        district_id=district_id, platform_id=form.valid("platform"),
        department_id=form.valid("department"), overdue=bool(form.overdue.data),
        text=(form.q.data or "")[:100], sort=form.valid("sort") or "newest",
        waiting=params.arg_choice("waiting", list(queries.WAITING)) or None,
    )
    _filter_choices(form, district_id, filters.platform_id)
    today = local_today(utcnow())
    counts = queries.status_counts(user, filters, today)
    page = queries.issue_page(user, filters, today, params.arg_page(),
                              counts=counts)
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("status", "page")}
    chips = [(None, _("全部"), sum(counts.values()), url_for("issues.index", **args),
              not filters.statuses)]
    chips += [(status, status.label, counts[status],
               url_for("issues.index", **args, status=status.value),
               filters.statuses == [status]) for status in IssueStatus
              # A status nobody here is in says nothing (a department never sees "pending").
              if counts[status] or filters.statuses == [status] or not user_is_department()]
    active = sum(1 for value in (filters.kind, filters.category, filters.source, district_id,
                                 filters.platform_id, filters.department_id) if value is not None)
    active += filters.overdue + (len(filters.statuses) > 1)
    waiting = None
    if filters.waiting:
        waiting = (WAITING_LABELS[filters.waiting], url_for(
            "issues.index", **{k: v for k, v in request.args.to_dict().items()
                               if k not in ("waiting", "page")}), filters.waiting)
    return render_template(
        "issues/index.html", form=form, page=page, chips=chips, today=today,
        chooses_district=chooses_district, active_filters=active, waiting=waiting,
        can_raise=queries.scoped_platform_count(user) > 0,
        by_department=user_is_department(),
    )


# What the list says it is narrowed to by ``?waiting=`` (the dashboard's links).
WAITING_LABELS = {
    "extension": _l("只看承办单位申请延期、等待决定的问题"),
    "returned": _l("只看承办单位退回、等待重新交办的问题"),
    "rework": _l("只看退回重办的问题"),
}


def user_is_department() -> bool:
    """Whether the signed-in user is a department's contact (pages show them less)."""
    return is_department_contact(current_user)


def _filter_choices(form: IssueFilterForm, district_id: int | None,
                    platform_id: int | None) -> None:
    """Districts for city staff; platforms and departments within the user's reach (a
    department's contact sees their own department's problems only: nothing to choose)."""
    user = current_user
    if is_department_contact(user):
        form.platform.choices = select_choices([("", _("全部平台"))])
        form.department.choices = select_choices([("", _("全部承办单位"))])
        return
    if user.role is Role.ADMIN:
        form.district.choices = select_choices(
            [("", _("全部区")), *((d.id, d.name) for d in queries.districts())])
        platforms = (queries.platform_choices(user, district_id, include=[platform_id])
                     if district_id or platform_id else [])
        department_district = district_id
    else:
        platforms = queries.platform_choices(user, include=[platform_id])
        department_district = (user.district_id if user.role is Role.DISTRICT_ADMIN
                               else next((p.district_id for p in user.platforms), None))
    form.platform.choices = select_choices([("", _("全部平台")),
                                            *((p.id, p.name) for p in platforms)])
    departments = queries.department_choices(department_district, everything=(
        user.role is Role.ADMIN and district_id is None))
    form.department.choices = select_choices([("", _("全部承办单位")), *(
        (d.id, d.name if d.is_active else _("%(name)s（已停用）", name=d.name))
        for d in departments)])


# --- Raising a problem ------------------------------------------------------------------------


@bp.route("/new", methods=["GET", "POST"])
@platform_staff_required
def new():
    user = current_user
    event_id = params.arg_id("event")
    event = db.session.get(Event, event_id) if event_id else None
    platform_id = params.arg_id("platform") or (event.platform_id if event else None)
    form = NewIssueForm()
    if form.is_submitted():
        platform_id = form.platform_id.data
    platform = db.session.get(Platform, platform_id) if platform_id else None
    if platform is not None:
        require(can_manage_platform(user, platform), f"platform:{platform.id}")
    platforms = queries.platform_choices(user, include=[platform_id])
    if platform is None and len(platforms) == 1 and not form.is_submitted():
        platform = db.session.get(Platform, platforms[0].id)
    if platform is None and not form.is_submitted():
        # Choose the platform first, so the form can offer that platform's events.
        return render_template("issues/choose_platform.html", platforms=platforms)
    form.platform_id.choices = select_choices([("", _("请选择平台")),
                                               *((p.id, p.name) for p in platforms)])
    events = queries.platform_events(platform.id, include=event_id) if platform else []
    form.event_id.choices = select_choices([("", _("不是在活动中提出的")), *(
        (e.id, f"{format_datetime(e.starts_at, '%Y-%m-%d')} {e.topic}") for e in events)])
    if not form.is_submitted():
        form.platform_id.data = platform.id if platform else None
        if event is not None and platform is not None and event.platform_id == platform.id:
            form.event_id.data = event.id
            form.source.data = "event"
            form.category.data = event.category.value
        else:
            form.source.data = "resident"
        return render_template("issues/new.html", form=form, platform=platform)
    if form.validate() and (saved := save(form, lambda: _raise(form, platform))):
        issue = saved.value
        flash(_("问题已登记，编号 %(reference)s。", reference=issue.reference), "success")
        return redirect(url_for("issues.detail", issue_id=issue.id), 303)
    return render_template("issues/new.html", form=form, platform=platform), 422


def _raise(form: NewIssueForm, platform: Platform | None) -> Issue:
    """Raise the problem the form describes, on the platform chosen."""
    if platform is None:
        raise ValidationFailed({"platform_id": _("请选择平台")})
    return create_issue(
        platform=platform, title=form.title.data or "",
        description=form.description.data or "", kind=form.kind.data or "",
        category=form.category.data or "", source=form.source.data or "",
        event_id=form.event_id.data, submitter_name=form.submitter_name.data,
        submitter_phone=form.submitter_phone.data, actor_id=current_user.id,
    )


# --- One problem ------------------------------------------------------------------------------


def _load(issue_id: int) -> Issue:
    issue = queries.issue_for_page(issue_id)
    if issue is None:
        abort(404)
    require(can_view_issue(current_user, issue) or reads_issue(current_user, issue),
            f"issue:{issue_id}")
    return issue


@bp.route("/<int:issue_id>")
@staff_required
def detail(issue_id: int):
    return _detail_page(_load(issue_id))


# Actions shown inside a panel with what they decide on (the resident's words beside the
# review, the department's reply beside its confirmation); the rest are listed in turn.
PANELS = {
    "review": ("accept", "reject"),
    "reply": ("confirm", "rework"),
    "extension": ("approve_extension", "refuse_extension"),
}


def _prefill(issue: Issue, action: str, form: ActionForm, today: Any) -> Any:
    """Start an action's form from what the problem already says; returns the routing
    suggestion used for 交办, if any."""
    if action == "accept":
        # Staff edit the resident's own words into the public title and summary.
        form["title"].data = issue.submitted_title or issue.title
        form["description"].data = issue.submitted_text or issue.description
        # The reported location (Open311 address_string), for staff to trim to what may be
        # public (a road or an estate, not a door number).
        form["address"].data = issue.address or issue.submitted_address
        # The classification: the problem's own, else the one its everyday subject suggests.
        suggested_by = subjects.subject_of(issue.subject)
        for name in ("kind", "category"):
            value = getattr(issue, name) or (getattr(suggested_by, name) if suggested_by else None)
            form[name].data = value.value if value is not None else ""
    elif action == "confirm":
        form["resolution"].data = issue.reply
    elif action == "reply" and issue.reply:
        # Sent back for rework: the department revises its earlier answer.
        form["reply"].data = issue.reply
    elif action == "note" and user_is_department():
        # A department's notes are for the district office unless it chooses otherwise.
        form["is_public"].data = False
    elif action == "assign":
        # Pre-filled from the district's routing rules; staff confirm or change it.
        suggested = suggestion(issue, today)
        if suggested is not None and any(choice.value == suggested.department_id
                                         for choice in form["department"].choices):
            form["department"].data = suggested.department_id
            form["due_on"].data = suggested.due_on
            return suggested
    return None


def _review(issue: Issue) -> dict[str, Any] | None:
    """The resident's own words with likely personal data marked, for whoever reviews or
    follows the problem (never for a department: it reads the public text)."""
    if not can_update_issue(current_user, issue):
        return None
    title = issue.submitted_title or (issue.title if not issue.is_published else None)
    text = issue.submitted_text or (issue.description if not issue.is_published else None)
    if title is None and text is None:
        return None
    name = issue.submitter_name
    return {"title": privacy.segments(title, name), "text": privacy.segments(text, name),
            "found": sorted(str(privacy.KINDS[kind])
                            for kind in privacy.found(f"{title or ''}\n{text or ''}", name))}


def _returned(issue: Issue) -> IssueUpdate | None:
    """The timeline entry of the department's latest 退回, while the problem waits for a new
    assignment."""
    if issue.returned_at is None or issue.status is not IssueStatus.RECEIVED:
        return None
    return next((u for u in reversed(issue.updates) if u.action == "return"), None)


def _detail_page(issue: Issue, *, status: int = 200, posted: tuple[str, ActionForm] | None = None,
                 problem: str | None = None, conflict: str | None = None):
    """The page: facts, timeline and a form per action this user may take now.

    ``posted`` is the action form just submitted (kept with the user's input);
    ``problem`` a message about the action itself; ``conflict`` what changed meanwhile.
    """
    user = current_user
    today = local_today(utcnow())
    forms: dict[str, ActionForm] = {}
    suggested = None
    transitions = [t for t in allowed_actions(issue) if can_take_action(user, issue, t.action)]
    for transition in transitions:
        form = posted[1] if posted and posted[0] == transition.action else None
        fresh = form is None
        if fresh:
            form = action_form(transition, formdata=None)
        if transition.action == "assign":
            form["department"].choices = select_choices([("", _("请选择承办单位")), *(
                (d.id, d.name) for d in queries.assignable_departments(issue.district_id))])
        if transition.action == "accept" and issue.platform_id is None:
            # Relayed without a platform: staff choose it from the address while reviewing.
            form["platform"].choices = select_choices([("", _("请选择平台")), *(
                (p.id, f"{p.name}（{p.district_name}）") for p in queries.platform_choices(user))])
        if fresh:
            suggested = _prefill(issue, transition.action, form, today) or suggested
        form.start_from(issue)
        forms[transition.action] = form
    rate_form = None
    if (issue.status in RATEABLE_STATUSES and issue.satisfaction is None
            and can_take_action(user, issue, "rate")):
        rate_form = posted[1] if posted and posted[0] == "rate" else RateForm(formdata=None)
        rate_form.start_from(issue)
    if posted and posted[1] is not rate_form and posted[0] not in forms:
        # The form is not offered any more (the status moved on): say why at the top.
        problem = problem or " ".join(
            str(message) for errors in posted[1].errors.values() for message in errors)
    # Rejecting sits beside the review only while the problem waits for one.
    panels = {name: [TRANSITIONS[a] for a in actions if a in forms]
              for name, actions in PANELS.items()
              if name != "review" or issue.status is IssueStatus.PENDING}
    panelled = {t.action for shown in panels.values() for t in shown}
    return render_template(
        "issues/detail.html", issue=issue, transitions=transitions, forms=forms,
        listed=[t for t in transitions if t.action not in panelled], panels=panels,
        rate_form=rate_form, posted_action=posted[0] if posted else None, problem=problem,
        conflict=conflict, today=today,
        can_edit=can_take_action(user, issue, "edit"),
        follows_through=can_assign_issue(user, issue),
        by_department=handles_issue(user, issue),
        shows_contact=can_see_contact(user, issue),
        review=_review(issue), returned=_returned(issue), suggested=suggested,
        subject=subjects.subject_of(issue.subject),
        # Whether a photo is published is part of publishing: district staff decide, as 受理.
        photo_form=PhotoToggleForm() if can_assign_issue(user, issue) else None,
        handling=issue.status in DEPARTMENT_WORKING,
        offer_reopen=issue.satisfaction is Satisfaction.UNSATISFIED,
    ), status


CHANGE_PHRASES = {
    "accept": _l("受理并公开"),
    "acknowledge": _l("签收"),
    "reply": _l("答复并提出办理结果"),
    "request_extension": _l("申请延期"),
    "return": _l("退回区政协"),
    "approve_extension": _l("同意延期"),
    "refuse_extension": _l("不同意延期"),
    "confirm": _l("确认办结"),
    "rework": _l("退回重办"),
    "start": _l("标记为开始办理"),
    "resolve": _l("办结（已解决或采纳）"),
    "constrain": _l("标记为因条件所限一时难以解决"),
    "reject": _l("标记为不予受理"),
    "reopen": _l("重新办理"),
    "note": _l("添加了办理进展"),
    "rate": _l("记录了居民的评价"),
}


def _describe(update: IssueUpdate, issue: Issue) -> str:
    """What one timeline entry did, as a phrase: "交办给市水务局"."""
    if update.action == "assign" and issue.department is not None:
        return _("交办给%(department)s", department=issue.department.name)
    if update.action == "plan" and issue.planned_on is not None:
        return _("列入计划（计划 %(day)s 完成）", day=issue.planned_on.isoformat())
    return str(CHANGE_PHRASES.get(update.action, action_label(update.action)))


def _conflict_message(issue: Issue, seen: Any, conflict: EditConflict | None) -> str:
    """Who changed the problem since the page was loaded, and how: "已被王丽交办给市水务局"."""
    try:
        seen_id = int(seen)
    except (TypeError, ValueError):
        seen_id = issue.updates[-1].id if issue.updates else 0
    news = queries.updates_after(issue, seen_id)
    if news:
        last = news[-1]
        who = last.actor.name if last.actor else _("居民")
        said = _("%(when)s，此问题已被%(who)s%(what)s。", when=format_datetime(last.created_at),
                 who=who, what=_describe(last, issue))
        if len(news) > 1:
            said += _("（您打开页面后共有 %(count)s 处变动，见下方办理记录。）", count=len(news))
    elif conflict is not None and conflict.by:
        said = _("%(when)s，%(who)s修改了此问题的内容。", when=format_datetime(conflict.at),
                 who=conflict.by)
    else:
        said = _("您打开页面后，此问题已被他人修改。")
    return said + _("您的操作没有执行：页面已更新为最新情况，您填写的内容仍保留，请核对后再提交。")


def _stale(issue: Issue, seen: Any, conflict: EditConflict | None,
           posted: tuple[str, ActionForm]):
    db.session.rollback()
    fresh = _load(issue.id)
    return _detail_page(fresh, status=409, posted=posted,
                        conflict=_conflict_message(fresh, seen, conflict))


def _lifecycle_values(transition: Transition, form: ActionForm, issue: Issue) -> dict[str, Any]:
    """The form's values as ``lifecycle.apply`` takes them: departments and problems as rows."""
    values = form.values(transition)
    if values.get("platform") is not None:
        chosen_platform = db.session.get(Platform, values["platform"])
        if (chosen_platform is None or chosen_platform.status.value == "closed"
                or not can_manage_platform(current_user, chosen_platform)):
            raise ValidationFailed({"platform": _("请从列表中选择平台")})
        values["platform"] = chosen_platform
    if values.get("department") is not None:
        departments = {d.id: d for d in queries.assignable_departments(issue.district_id)}
        chosen = departments.get(values["department"])
        if chosen is None:
            raise ValidationFailed({"department": _("请从列表中选择承办单位")})
        values["department"] = chosen
    if values.get("duplicate_of") is not None:
        reference = values["duplicate_of"]
        original = queries.find_by_reference(current_user, reference)
        if original is None:
            raise ValidationFailed(
                {"duplicate_of": _("找不到编号为 %(ref)s 的问题", ref=reference)})
        values["duplicate_of"] = original
    return values


def _write(issue: Issue, name: str, form: ActionForm,
           write: Callable[[], T]) -> tuple[Any, T | None]:
    """Run ``write`` (which checks the page's version) and commit, unless the page was
    stale (409) or the input bad (422).

    Returns the error page to answer with (None when the change is stored) and what ``write``
    returned. What the answer says is best read by ``write``, before the commit expires the
    problem: read after it, the problem reloads with everything its page loaded (10 ms of an
    action's 12, profiled).
    """
    posted = (name, form)
    if not form.validate():
        return _detail_page(issue, status=422, posted=posted), None
    saved = save(form, write)
    if saved.status == 409:
        return _stale(issue, form.seen.data, saved.conflict, posted), None
    if not saved:
        return _detail_page(_load(issue.id), status=saved.status, posted=posted,
                            problem=" ".join(saved.leftover) or None), None
    return None, saved.value


@bp.route("/<int:issue_id>/act/<action>", methods=["POST"])
@staff_required
def act(issue_id: int, action: str):
    issue = _load(issue_id)
    transition = TRANSITIONS.get(action)
    if transition is None:
        abort(404)
    require(can_take_action(current_user, issue, action), f"issue:{issue_id}:{action}")
    form = action_form(transition)

    def write() -> tuple[str, bool]:
        change_status(issue, action, actor_id=current_user.id, version=form.version.data,
                      **_lifecycle_values(transition, form, issue))
        return _done(issue, transition), can_view_issue(current_user, issue)

    refused, answer = _write(issue, action, form, write)
    if refused is not None:
        return refused
    done, visible = answer
    flash(done, "success")
    if not visible:
        # Sent back by the department (退回): the problem is not theirs to see any more.
        return redirect(url_for("main.dashboard"), 303)
    return redirect(url_for("issues.detail", issue_id=issue_id), 303)


def _done(issue: Issue, transition: Transition) -> str:
    """What the action did, as a sentence for the flash: "已将问题 WH26-01508 交办给…"."""
    ref = issue.reference
    action = transition.action
    if action == "accept":
        return _("已受理问题 %(ref)s，公开标题和摘要已发布。", ref=ref)
    if action == "assign" and issue.department is not None and issue.due_on is not None:
        return _("已将问题 %(ref)s 交办给%(department)s，办理期限为 %(due)s。", ref=ref,
                 department=issue.department.name, due=format_date(issue.due_on))
    if action == "acknowledge":
        return _("已签收问题 %(ref)s。", ref=ref)
    if action == "start":
        return _("问题 %(ref)s 已开始办理。", ref=ref)
    if action == "reply":
        return _("已提交问题 %(ref)s 的答复，区政协确认后向居民公开。", ref=ref)
    if action == "request_extension" and issue.requested_due_on is not None:
        return _("已申请将问题 %(ref)s 的办理期限延至 %(due)s，等待区政协决定。", ref=ref,
                 due=format_date(issue.requested_due_on))
    if action == "return":
        return _("已将问题 %(ref)s 退回区政协，由区政协重新交办。", ref=ref)
    if action == "approve_extension" and issue.due_on is not None:
        return _("已同意延期：问题 %(ref)s 的办理期限改为 %(due)s。", ref=ref,
                 due=format_date(issue.due_on))
    if action == "refuse_extension":
        return _("已不同意问题 %(ref)s 的延期申请，办理期限不变。", ref=ref)
    if action == "confirm":
        return _("已确认问题 %(ref)s 的答复：%(status)s。答复已向居民公开。", ref=ref,
                 status=issue.status.label)
    if action == "rework":
        return _("已将问题 %(ref)s 退回承办单位重办。", ref=ref)
    if action == "plan" and issue.planned_on is not None:
        return _("问题 %(ref)s 已列入计划，计划 %(day)s 完成。", ref=ref,
                 day=format_date(issue.planned_on))
    if action in ("resolve", "constrain"):
        return _("问题 %(ref)s 已办结：%(status)s。", ref=ref, status=issue.status.label)
    if action == "reject":
        return _("问题 %(ref)s 不予受理，理由已记录。", ref=ref)
    if action == "reopen":
        return _("问题 %(ref)s 已重新办理，状态回到“已受理”。", ref=ref)
    if action == "note":
        return _("已为问题 %(ref)s 添加办理进展。", ref=ref)
    return _("已对问题 %(ref)s 执行“%(action)s”。", ref=ref, action=transition.label)


@bp.route("/photos/<int:photo_id>/public", methods=["POST"])
@platform_staff_required
def photo_public(photo_id: int):
    """Show or withhold one of a resident's photos on the problem's public page."""
    photo = db.get_or_404(IssuePhoto, photo_id)
    issue = _load(photo.issue_id)
    require(can_assign_issue(current_user, issue), f"issue:{issue.id}:photo")
    form = PhotoToggleForm()
    if not form.validate_on_submit():
        abort(400)
    if form.show.data not in ("yes", "no"):
        abort(400, description=_("“%(field)s”只能是 yes（显示）或 no（不显示）。", field="show"))
    shown = form.show.data == "yes"
    issue_photos.set_public(photo, shown, actor_id=current_user.id)
    db.session.commit()
    flash(_("照片将在公开页面显示。") if shown else _("照片不会在公开页面显示。"), "success")
    return redirect(url_for("issues.detail", issue_id=issue.id, _anchor="photos"), 303)


@bp.route("/<int:issue_id>/satisfaction", methods=["POST"])
@platform_staff_required
def rate(issue_id: int):
    issue = _load(issue_id)
    require(can_take_action(current_user, issue, "rate"), f"issue:{issue_id}:rate")
    form = RateForm()

    def write() -> Satisfaction:
        rate_issue(issue, form.satisfaction.data or "", current_user.id, form.note.data,
                   version=form.version.data)
        return issue.satisfaction

    refused, satisfaction = _write(issue, "rate", form, write)
    if refused is not None:
        return refused
    if satisfaction is Satisfaction.UNSATISFIED:
        flash(_("已记录居民的评价：不满意。可以在下方重新办理这个问题。"), "warning")
        return redirect(url_for("issues.detail", issue_id=issue_id, _anchor="act-reopen"), 303)
    flash(_("已记录居民的评价：%(label)s。", label=satisfaction.label), "success")
    return redirect(url_for("issues.detail", issue_id=issue_id), 303)


@bp.route("/<int:issue_id>/edit", methods=["GET", "POST"])
@platform_staff_required
def edit(issue_id: int):
    issue = _load(issue_id)
    require(can_take_action(current_user, issue, "edit"), f"issue:{issue_id}:edit")
    form = IssueEditForm(obj=issue)
    if not form.is_submitted():
        form.start_from(issue, EDIT_FIELDS)
        return render_template("issues/edit.html", form=form, issue=issue, conflict=None)
    if not form.validate():
        return render_template("issues/edit.html", form=form, issue=issue, conflict=None), 422
    saved = save(form, lambda: update_issue(
        issue, title=form.title.data or "", description=form.description.data or "",
        kind=form.kind.data or "", category=form.category.data or "",
        version=form.version.data, original=form.original.data, actor_id=current_user.id),
        edited=(issue, EDIT_FIELDS))
    if not saved:
        return render_template("issues/edit.html", form=form, issue=issue,
                               conflict=saved.conflict), saved.status
    flash(_("问题 %(reference)s 的修改已保存。", reference=issue.reference), "success")
    return redirect(url_for("issues.detail", issue_id=issue.id), 303)
