"""Staff pages for consultation events: list, plan, edit, conclude, cancel, photos.

An event's page (``events.detail``) and recording it as held (``events.record``) show and
create problems, so those views are in ``issues/event_pages.py``, on this blueprint.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from wtforms import Form

from consult_hub.auth.decorators import (
    PLATFORM_ROLES,
    platform_staff_required,
    public,
    roles_required,
)
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import can_manage_platform, require_platform
from consult_hub.core import params
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import Saved, save
from consult_hub.events import operations, photos, queries
from consult_hub.events.forms import (
    EDIT_FIELDS,
    ActionForm,
    CancelForm,
    ConcludeForm,
    EditEventForm,
    FilterForm,
    PhotoForm,
    PlanForm,
)
from consult_hub.events.models import Event, EventPhoto, EventStatus
from consult_hub.extensions import db
from consult_hub.platforms.models import Platform, PlatformStatus

bp = Blueprint("events", __name__, url_prefix="/manage/events")

# Who opens the list and an event's page: those who work at its platform, and the members
# serving there (政协委员, read-only: every write stays with the platform's staff).
READERS = (*PLATFORM_ROLES, Role.MEMBER)
PLATFORM_FILTER_LIMIT = 100  # more platforms than this: search by name instead of a list
PHOTO_MAX_AGE = 3600


def _choice(enum_cls: Any, value: str | None) -> Any:
    """The enum member a filter names, or None for "all" (or anything unknown)."""
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def _save(form: Form, write: Any, edited: Event | None = None) -> Saved[Any]:
    """``save`` as every event page uses it: a refusal naming the status means the event
    moved on to another status meanwhile (409)."""
    return save(form, write, moved_on=("status",),
                edited=(edited, EDIT_FIELDS) if edited is not None else None,
                stale=_("这场活动刚被他人修改，请返回活动页面核对"))


def _load(event_id: int) -> Event:
    event = db.get_or_404(Event, event_id)
    require_platform(event.platform)
    return event


def _wrong_status(event: Event) -> Any:
    flash(_("这场活动目前是“%(status)s”，不能进行这项操作。", status=event.status.label), "warning")
    return redirect(url_for("events.detail", event_id=event.id))


# --- list -----------------------------------------------------------------------------------

@bp.route("/")
@roles_required(*READERS)
def index():
    now = utcnow()
    form = FilterForm(request.args)
    choices = queries.platform_choices(current_user, PLATFORM_FILTER_LIMIT)
    if choices is not None:
        form.platform.choices = select_choices(
            [("", _("全部")), *((str(ident), name) for ident, name in choices)])
    form.validate()
    filters = queries.EventFilters(
        q=(form.q.data or "").strip() if not form.q.errors else "",
        status=_choice(EventStatus, form.status.data),
        platform_id=params.arg_id("platform"),
        category=_choice(Category, form.category.data),
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        missing_minutes=bool(form.missing.data),
    )
    page = queries.event_page(current_user, filters, now, page=params.arg_page(),
                              per_page=current_app.config["PER_PAGE"])
    return render_template("events/index.html", form=form, page=page, now=now,
                           platform_list=choices is not None,
                           can_plan=current_user.role in PLATFORM_ROLES,
                           filtered=any(v for k, v in request.args.items() if k != "page"))


# --- plan and edit ----------------------------------------------------------------------------

@bp.route("/new", methods=["GET", "POST"])
@platform_staff_required
def new():
    platform_id = params.arg_id("platform")
    if platform_id is None:
        return _choose_platform()
    platform = db.get_or_404(Platform, platform_id)
    require_platform(platform)
    form = PlanForm()
    if request.method == "GET":
        form.location.data = platform.address
    status = 200
    if form.validate_on_submit():
        saved = _save(form, lambda: operations.plan_event(
            platform, actor_id=current_user.id, is_past=form.is_past.data,
            **{name: form[name].data for name in EDIT_FIELDS}))
        status, event = saved.status, saved.value
        if saved:
            if form.is_past.data:
                flash(_("活动“%(topic)s”已补录，请接着填写纪要。", topic=event.topic), "success")
                return redirect(url_for("events.record", event_id=event.id), 303)
            flash(_("活动“%(topic)s”已安排。", topic=event.topic), "success")
            return redirect(url_for("events.detail", event_id=event.id), 303)
    elif request.method == "POST":
        status = 422
    return render_template("events/plan.html", form=form, platform=platform,
                           is_active=platform.status is PlatformStatus.ACTIVE), status


def _choose_platform():
    """The first step of planning: pick one of the user's active platforms."""
    q = params.arg_text("q")
    page = db.paginate(queries.platforms_query(current_user, active_only=True, q=q),
                       page=params.arg_page(), per_page=current_app.config["PER_PAGE"],
                       error_out=False)
    if page.total == 1 and not q and page.page == 1:
        return redirect(url_for("events.new", platform=page.items[0].id))
    return render_template("events/choose_platform.html", page=page, q=q)


@bp.route("/<int:event_id>/edit", methods=["GET", "POST"])
@platform_staff_required
def edit(event_id: int):
    event = _load(event_id)
    if event.status is not EventStatus.PLANNED:
        return _wrong_status(event)
    form = EditEventForm(obj=event) if request.method == "GET" else EditEventForm()
    if request.method == "GET":
        form.start_from(event, EDIT_FIELDS)
    conflict, status = None, 200
    if form.validate_on_submit():
        saved = _save(form, lambda: operations.update_event(
            event, version=form.version.data, original=form.original.data,
            actor_id=current_user.id, **{name: form[name].data for name in EDIT_FIELDS}),
            edited=event)
        if saved:
            flash(_("活动的修改已保存。"), "success")
            return redirect(url_for("events.detail", event_id=event.id), 303)
        conflict, status = saved.conflict, saved.status
    elif request.method == "POST":
        status = 422
    return render_template("events/edit.html", form=form, event=event, conflict=conflict), status


# --- the steps after the event (its page, recording it: issues/event_pages.py) -------------------

def _render_detail(event: Event, photo_form: PhotoForm | None = None, status: int = 200):
    """An event's page: ``events.detail`` (issues/event_pages.py), or a refused upload."""
    now = utcnow()
    # A member serving at the platform (政协委员) reads the page: no actions, no upload, and
    # of the problems raised only the published ones (auth/scopes.py reads_issue).
    manages = can_manage_platform(current_user, event.platform)
    return render_template(
        "events/detail.html", event=event, now=now, manages=manages,
        photo_form=photo_form or PhotoForm(formdata=None),
        can_record=manages and event.status is EventStatus.PLANNED and event.starts_at <= now,
        missing_minutes=event.status is EventStatus.PLANNED and event.ends_at < now,
        photos_allowed=manages and event.happened,
        issues=sorted((issue for issue in event.issues if manages or issue.is_published),
                      key=lambda issue: issue.id),
    ), status


def _simple_step(event_id: int, allowed: EventStatus, form_cls: type, template: str,
                 apply: Any, done: str):
    """A one-field step (conclude, cancel): check, apply, commit once, or show why not."""
    event = _load(event_id)
    if event.status is not allowed:
        return _wrong_status(event)
    form = form_cls()
    status: int | None = 200
    if form.validate_on_submit():
        saved = _save(form, lambda: apply(event, form))
        status = saved.status
        if saved:
            flash(done, "success")
            return redirect(url_for("events.detail", event_id=event.id), 303)
    elif request.method == "POST":
        status = 422
    return render_template(template, form=form, event=event), status


@bp.route("/<int:event_id>/conclude", methods=["GET", "POST"])
@platform_staff_required
def conclude(event_id: int):
    return _simple_step(
        event_id, EventStatus.HELD, ConcludeForm, "events/conclude.html",
        lambda event, form: operations.conclude_event(event, outcome=form.outcome.data,
                                                      actor_id=current_user.id),
        _("已登记活动成果，活动状态改为“已反馈成果”。"))


@bp.route("/<int:event_id>/cancel", methods=["GET", "POST"])
@platform_staff_required
def cancel(event_id: int):
    return _simple_step(
        event_id, EventStatus.PLANNED, CancelForm, "events/cancel.html",
        lambda event, form: operations.cancel_event(event, reason=form.cancel_reason.data,
                                                    actor_id=current_user.id),
        _("活动已取消。"))


# --- photos ---------------------------------------------------------------------------------

@bp.route("/<int:event_id>/photos", methods=["POST"])
@platform_staff_required
def upload_photo(event_id: int):
    event = _load(event_id)
    form = PhotoForm()
    if not form.validate_on_submit():
        return _render_detail(event, form, 422)
    upload = form.photo.data
    stored: list[str] = []  # the file written, removed again if the commit fails

    def add() -> None:
        photo = operations.add_photo(
            event, stream=getattr(upload, "stream", None),
            filename=getattr(upload, "filename", None),
            caption=form.caption.data, actor_id=current_user.id)
        stored.append(photo.stored_name)

    try:
        saved = _save(form, add)
    except Exception:
        db.session.rollback()
        for name in stored:
            photos.remove(name)
        raise
    if not saved:
        for name in stored:  # written, then the commit lost a race
            photos.remove(name)
        return _render_detail(event, form, saved.status)
    flash(_("照片已上传。"), "success")
    return redirect(url_for("events.detail", event_id=event.id, _anchor="photos"), 303)


@bp.route("/photos/<int:photo_id>/delete", methods=["GET", "POST"])
@platform_staff_required
def delete_photo(photo_id: int):
    """Ask first (a tap on a phone is easily a mistake), then delete the row and its file."""
    photo = db.get_or_404(EventPhoto, photo_id)
    require_platform(photo.event.platform)
    event_id = photo.event_id
    form = ActionForm()
    if not form.validate_on_submit():
        status = 422 if request.method == "POST" else 200
        return render_template("events/delete_photo.html", photo=photo, event=photo.event,
                               form=form), status
    stored_name = operations.delete_photo(photo, actor_id=current_user.id)
    db.session.commit()
    photos.remove(stored_name)  # only once the row is gone for good
    flash(_("照片已删除。"), "success")
    return redirect(url_for("events.detail", event_id=event_id, _anchor="photos"), 303)


@bp.route("/photos/<int:photo_id>")
@public
def photo(photo_id: int):
    """A photo: for the platform's staff always, for everyone once the event has been held."""
    found = queries.photo_with_event(photo_id)
    if found is None:
        abort(404)
    event = found.event
    is_staff = current_user.is_authenticated and can_manage_platform(current_user, event.platform)
    if not is_staff and not event.happened:
        abort(404)  # not "forbidden": do not confirm that the photo exists
    path = photos.path_of(found.stored_name)
    if not path.is_file():
        abort(404)
    response = send_file(path, mimetype=found.content_type, conditional=True,
                         max_age=PHOTO_MAX_AGE if event.happened else 0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    if not event.happened:
        response.headers["Cache-Control"] = "private, no-store"
    return response
