"""Pages of public-opinion reports (社情民意信息): the list, writing one (from scratch, from
events or from problems), its page with the actions, and editing it.

Members, coordinators and district and city staff use them (``opinions/access.py`` says who
may do what); a department's contact is refused. The event and problem pages show the
reports written from them through the template global ``opinion_reports_for``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import (
    can_choose_district,
    can_manage_district,
    can_manage_platform,
    require,
)
from consult_hub.core import params
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.forms import MAX_YEAR, MIN_YEAR, select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import save
from consult_hub.core.timefmt import format_date, format_datetime
from consult_hub.events.models import Event
from consult_hub.extensions import db
from consult_hub.issues.models import Issue
from consult_hub.opinions import access, queries
from consult_hub.opinions.forms import (
    EDIT_FIELDS,
    ActionForm,
    NewReportForm,
    ReportEditForm,
    ReportFilterForm,
    action_form,
)
from consult_hub.opinions.lifecycle import (
    FORWARD_ORDER,
    TRANSITIONS,
    Transition,
    allowed_actions,
)
from consult_hub.opinions.models import OpinionReport, OpinionStatus
from consult_hub.opinions.operations import (
    HELD,
    change_status,
    create_report,
    report_errors,
    update_report,
)
from consult_hub.platforms.models import Platform

bp = Blueprint("opinions", __name__, url_prefix="/manage/opinion-reports")
writers_required = roles_required(*access.WRITER_ROLES)


@bp.app_template_global("opinion_reports_for")
def opinion_reports_for(event: Event | None = None, issue: Issue | None = None) -> list[Any]:
    """The reports written from ``event`` or ``issue`` that the signed-in user may open
    (the event's and the problem's staff pages list them)."""
    user = current_user
    if not user.is_authenticated or user.role not in access.WRITER_ROLES:
        return []
    if event is not None:
        return queries.reports_of_event(user, event.id)
    if issue is not None:
        return queries.reports_of_issue(user, issue.id)
    return []


# --- The list ---------------------------------------------------------------------------------


@bp.route("/")
@writers_required
def index():
    user = current_user
    form = ReportFilterForm(formdata=request.args)
    years = queries.report_years(user)
    form.year.choices = select_choices([("", _("全部年份")), *((str(y), str(y)) for y in years)])
    chooses_district = can_choose_district(user)
    if chooses_district:
        form.district.choices = select_choices(
            [("", _("全部区")), *((d.id, d.name) for d in queries.districts())])
    form.validate()
    livelihood = form.valid("livelihood")
    year = form.valid("year")
    year = year if year is not None and MIN_YEAR <= year <= MAX_YEAR else None
    if year is not None and year not in years:  # a year without reports: shown as chosen
        form.year.choices = select_choices([("", _("全部年份")), *(
            (str(y), str(y)) for y in sorted({*years, year}, reverse=True))])
    filters = queries.ReportFilters(
        year=year, month=form.valid("month") if year else None,
        status=OpinionStatus(form.valid("status")) if form.valid("status") else None,
        category=form.valid("category"), source=form.valid("source"),
        livelihood=None if livelihood is None else livelihood == "1",
        district_id=form.valid("district") if chooses_district else None,
        text=(form.q.data or "")[:100])
    counts = queries.status_counts(user, filters)
    page = queries.report_page(user, filters, params.arg_page())
    args = {k: v for k, v in request.args.to_dict().items() if k not in ("status", "page")}
    chips = [(_("全部"), sum(counts.values()), url_for("opinions.index", **args),
              filters.status is None)]
    chips += [(status.label, counts[status], url_for("opinions.index", **args,
                                                      status=status.value),
               filters.status is status) for status in OpinionStatus]
    active = sum(1 for value in (filters.year, filters.category, filters.source,
                                 filters.livelihood, filters.district_id) if value is not None)
    return render_template(
        "opinions/index.html", form=form, page=page, chips=chips, active_filters=active,
        chooses_district=chooses_district, livelihood=queries.livelihood_count(user, filters),
        sent=sum(counts[s] for s in OpinionStatus if s is not OpinionStatus.DRAFT))


# --- Writing a report -------------------------------------------------------------------------


def _arg_ids(name: str) -> list[int]:
    """The ids given as repeated ``name`` parameters; anything else is ignored."""
    ids = []
    for raw in request.args.getlist(name):
        try:
            ids.append(params.to_id(raw))
        except ValueError:
            continue
    return ids


def _serves(platform: Platform | None) -> bool:
    """Whether the signed-in member serves at ``platform`` (下沉委员)."""
    user = current_user
    return platform is not None and any(m.id == user.member_id for m in platform.members)


def may_use_event(event: Event) -> bool:
    """Whether the signed-in user may write a report from ``event``."""
    user = current_user
    if user.role is Role.MEMBER:
        return _serves(event.platform)
    return can_manage_platform(user, event.platform)


def may_use_issue(issue: Issue) -> bool:
    """Whether the signed-in user may write a report from ``issue`` (its public text)."""
    user = current_user
    if user.role is Role.MEMBER:
        return _serves(issue.platform)
    if issue.platform is None:
        return can_manage_district(user, issue.district_id)
    return can_manage_platform(user, issue.platform)


def _prefill(form: NewReportForm, events: list[Event], issues: list[Issue]) -> None:
    """Start from what the events agreed (协商意见, else the minutes) and the problems' public
    title and summary; the resident's name and phone are never copied."""
    parts = []
    for event in events:
        parts.append(_("%(day)s，%(platform)s就“%(topic)s”开展协商议事活动。", day=format_date(
            event.starts_at), platform=event.platform.name, topic=event.topic))
        said = event.opinions or event.minutes
        if said:
            parts.append(_("协商意见：") + "\n" + said.strip())
    for issue in issues:
        parts.append(_("居民反映的问题（%(reference)s）：%(title)s", reference=issue.reference,
                       title=issue.title) + "\n" + (issue.description or "").strip())
    form.body.data = "\n\n".join(parts)
    if len(events) == 1 and not issues:
        form.title.data = events[0].topic
    elif len(issues) == 1 and not events:
        form.title.data = issues[0].title
    first = events[0].category if events else (issues[0].category if issues else None)
    if first is not None:
        form.category.data = first.value
    platform = events[0].platform if events else (issues[0].platform if issues else None)
    if platform is not None:
        form.platform.data = platform.id


def _linked_choices(form: NewReportForm, events: list[Event], issues: list[Issue]) -> None:
    form.events.choices = select_choices(
        (e.id, f"{format_datetime(e.starts_at, '%Y-%m-%d')} {e.topic} · {e.platform.name}")
        for e in events)
    form.issues.choices = select_choices((i.id, f"{i.reference} {i.title}") for i in issues)


def _chosen_platform(form: NewReportForm, platforms: list[Any]) -> Platform | None:
    """The platform the form names, among those offered (``queries.writable_platforms``);
    refused otherwise."""
    user = current_user
    chosen = form.platform.data
    if chosen is None:
        if user.role is Role.COORDINATOR:
            raise ValidationFailed({"platform": _("请选择平台")})
        return None
    offered = any(p.id == chosen for p in platforms)
    platform = db.session.get(Platform, chosen) if offered else None
    if platform is None or not access.can_write_for(user, platform):
        raise ValidationFailed({"platform": _("请从列表中选择平台")})
    return platform


def _write(form: NewReportForm, platforms: list[Any], events: list[Event],
           issues: list[Issue], send: bool) -> OpinionReport:
    user = current_user
    errors: dict[str, Any] = {}
    if len(events) != len(set(form.events.data or [])) or not all(map(may_use_event, events)):
        errors["events"] = _("请只选择您所在平台的活动")
    if len(issues) != len(set(form.issues.data or [])) or not all(map(may_use_issue, issues)):
        errors["issues"] = _("请只选择您所在平台的问题")
    try:
        platform = _chosen_platform(form, platforms)
    except ValidationFailed as refused:
        errors.update(refused.errors)
        platform = None
    district_id = None
    if user.role is Role.DISTRICT_ADMIN:
        district_id = user.district_id
    elif user.role is Role.ADMIN and form.district.data is not None:
        if not any(d.id == form.district.data for d in queries.districts()):
            errors["district"] = _("请从列表中选择区")
        district_id = form.district.data
    if errors:
        raise ValidationFailed({**report_errors(
            title=form.title.data, body=form.body.data, category=form.category.data,
            events=events, issues=issues), **errors})
    return create_report(
        author=user, title=form.title.data, body=form.body.data, category=form.category.data,
        is_livelihood=bool(form.is_livelihood.data), platform=platform,
        member=queries.member_of(user) if user.role is Role.MEMBER else None,
        district_id=district_id, events=events, issues=issues, submit=send,
        actor_id=user.id)


@bp.route("/new", methods=["GET", "POST"])
@writers_required
def new():
    user = current_user
    form = NewReportForm()
    submitted = form.is_submitted()
    if submitted:
        event_ids, issue_ids = form.events.data or [], form.issues.data or []
    else:
        event_ids, issue_ids = _arg_ids("event"), _arg_ids("issue")
    events, issues = queries.events_by_id(event_ids), queries.issues_by_id(issue_ids)
    skipped: list[Any] = []
    if not submitted:
        for event in events:
            require(may_use_event(event), f"event:{event.id}")
        for issue in issues:
            require(may_use_issue(issue), f"issue:{issue.id}")
        # Only what may be quoted: a held event's opinions, a problem's public text (a
        # resident's submission awaiting review is private).
        skipped = [e for e in events if e.status not in HELD]
        skipped += [i for i in issues if not i.is_published]
        events = [e for e in events if e.status in HELD]
        issues = [i for i in issues if i.is_published]
    platforms = queries.writable_platforms(user, include=[form.platform.data] if submitted
                                           else [])
    if user.role is Role.COORDINATOR and not platforms:
        require(False, "opinions:new")
    form.platform.choices = select_choices([("", _("不选平台") if user.role is not Role.COORDINATOR
                                                  else _("请选择平台")),
                                            *((p.id, p.name) for p in platforms)])
    chooses_district = can_choose_district(user)
    if chooses_district:
        form.district.choices = select_choices(
            [("", _("市政协")), *((d.id, d.name) for d in queries.districts())])
    # Offered (and named on a refused page) only what the user may use: a foreign id posted
    # is refused by ``_write`` without its topic or title being shown.
    _linked_choices(form, [e for e in events if may_use_event(e)],
                    [i for i in issues if may_use_issue(i)])
    context = {"form": form, "events": events, "issues": issues,
               "chooses_district": chooses_district, "skipped": skipped}
    if not submitted:
        form.events.data, form.issues.data = [e.id for e in events], [i.id for i in issues]
        _prefill(form, events, issues)
        if form.platform.data is None and user.role is Role.COORDINATOR and len(platforms) == 1:
            form.platform.data = platforms[0].id
        return render_template("opinions/new.html", **context)
    send = request.form.get("send") == "1"
    if form.validate() and (saved := save(form, lambda: _write(form, platforms, events, issues,
                                                                 send))):
        report = saved.value
        if send:
            flash(_("已报送社情民意信息 %(ref)s，等待区政协或市政协采用。", ref=report.reference),
                  "success")
        else:
            flash(_("已保存社情民意信息 %(ref)s（草稿），报送前还可以修改。", ref=report.reference),
                  "success")
        return redirect(url_for("opinions.show", report_id=report.id), 303)
    return render_template("opinions/new.html", **context), 422


# --- One report -------------------------------------------------------------------------------


def _load(report_id: int) -> OpinionReport:
    report = queries.report_for_page(report_id)
    if report is None:
        abort(404)
    require(access.can_view(current_user, report), f"opinion:{report_id}")
    return report


def _show(report: OpinionReport, *, status: int = 200,
          posted: tuple[str, ActionForm] | None = None, conflict: str | None = None):
    user = current_user
    forms: dict[str, ActionForm] = {}
    transitions = [t for t in allowed_actions(report)
                   if access.can_take_action(user, report, t.action)]
    for transition in transitions:
        form = posted[1] if posted and posted[0] == transition.action else None
        if form is None:
            form = action_form(transition, formdata=None)
        if transition.action == "forward" and report.forwarded_to is not None:
            # Forwarded to the province already: only the national CPPCC is left.
            above = FORWARD_ORDER[FORWARD_ORDER.index(report.forwarded_to) + 1:]
            form["forwarded_to"].choices = select_choices((level.value, level.label)
                                                          for level in above)
        form.start_from(report)
        forms[transition.action] = form
    problem = None
    if posted and posted[0] not in forms:
        problem = " ".join(str(m) for errors in posted[1].errors.values() for m in errors)
    return render_template(
        "opinions/show.html", report=report, transitions=transitions, forms=forms,
        posted_action=posted[0] if posted else None,
        posted_label=TRANSITIONS[posted[0]].label if posted else None,
        problem=problem, conflict=conflict, can_edit=access.can_edit(user, report),
        sees_events=user.role in (Role.ADMIN, Role.DISTRICT_ADMIN, Role.COORDINATOR),
        proposes=user.role in (Role.ADMIN, Role.DISTRICT_ADMIN, Role.MEMBER),
    ), status


@bp.route("/<int:report_id>")
@writers_required
def show(report_id: int):
    return _show(_load(report_id))


@bp.route("/<int:report_id>/act/<action>", methods=["POST"])
@writers_required
def act(report_id: int, action: str):
    report = _load(report_id)
    transition = TRANSITIONS.get(action)
    if transition is None:
        abort(404)
    require(access.can_take_action(current_user, report, action), f"opinion:{report_id}:{action}")
    form = action_form(transition)
    posted = (action, form)
    if not form.validate():
        return _show(report, status=422, posted=posted)

    def write() -> str:
        change_status(report, action, actor_id=current_user.id, version=form.version.data,
                      **form.values(transition))
        return _done(report, transition)  # read before the commit expires the report

    saved = save(form, write)
    if saved.status == 409:
        db.session.rollback()
        return _show(_load(report_id), status=409, posted=posted, conflict=_(
            "您打开页面后，这篇社情民意信息已被他人修改。您的操作没有执行：页面已更新为最新情况，"
            "您填写的内容仍保留，请核对后再提交。"))
    if not saved:
        return _show(_load(report_id), status=saved.status, posted=posted)
    flash(saved.value, "success")
    return redirect(url_for("opinions.show", report_id=report_id), 303)


def _done(report: OpinionReport, transition: Transition) -> str:
    """What the action did, as a sentence for the flash."""
    ref = report.reference
    action = transition.action
    if action == "submit":
        return _("已报送社情民意信息 %(ref)s，等待区政协或市政协采用。", ref=ref)
    if action == "adopt":
        return _("社情民意信息 %(ref)s 已采用，编发于 %(issue)s。", ref=ref,
                 issue=report.bulletin_issue)
    if action == "not_adopt":
        return _("社情民意信息 %(ref)s 不予采用，理由已记录。", ref=ref)
    if action == "return":
        return _("已将社情民意信息 %(ref)s 退回修改，等待撰写人修改后再次报送。", ref=ref)
    if action == "forward" and report.forwarded_to is not None:
        return _("已将社情民意信息 %(ref)s 报送%(level)s。", ref=ref,
                 level=report.forwarded_to.label)
    if action == "instruct":
        return _("已登记社情民意信息 %(ref)s 获得的批示。", ref=ref)
    if action == "follow_up":
        return _("已更新社情民意信息 %(ref)s 的批示落实情况。", ref=ref)
    return _("已对社情民意信息 %(ref)s 执行“%(action)s”。", ref=ref, action=transition.label)


@bp.route("/<int:report_id>/edit", methods=["GET", "POST"])
@writers_required
def edit(report_id: int):
    report = _load(report_id)
    require(access.can_edit(current_user, report), f"opinion:{report_id}:edit")
    form = ReportEditForm(obj=report)
    if not form.is_submitted():
        form.category.data = report.category.value
        form.start_from(report, EDIT_FIELDS)
        return render_template("opinions/edit.html", form=form, report=report, conflict=None)
    if not form.validate():
        return render_template("opinions/edit.html", form=form, report=report,
                               conflict=None), 422
    saved = save(form, lambda: update_report(
        report, title=form.title.data, body=form.body.data, category=form.category.data,
        is_livelihood=bool(form.is_livelihood.data), version=form.version.data,
        original=form.original.data, actor_id=current_user.id),
        edited=(report, EDIT_FIELDS), moved_on=("status",))
    if not saved:
        return render_template("opinions/edit.html", form=form, report=report,
                               conflict=saved.conflict), saved.status
    flash(_("社情民意信息 %(ref)s 的修改已保存。", ref=report.reference), "success")
    return redirect(url_for("opinions.show", report_id=report.id), 303)
