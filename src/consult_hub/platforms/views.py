"""Staff pages for platforms: the list, the facts, status changes and the people serving there.

City staff manage every platform, district staff those of their district. Coordinators
see their own platforms (and plan events, record problems there) but do not change a
platform's facts, status or people. Members (政协委员) read the list and the pages of the
platforms they serve, and nothing more.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.routing import BuildError

from consult_hub.areas.models import Area
from consult_hub.auth.decorators import PLATFORM_ROLES, roles_required
from consult_hub.auth.models import OFFICE_ROLES, Role, User
from consult_hub.auth.scopes import (
    can_choose_district,
    can_manage_district,
    require,
    staff_district_id,
)
from consult_hub.core import params
from consult_hub.core.conflicts import EditConflict
from consult_hub.core.db import utcnow
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.saving import Saved, save
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms import operations, queries
from consult_hub.platforms.forms import (
    ANY,
    LinkForm,
    PlatformFilterForm,
    PlatformForm,
    UnlinkForm,
)
from consult_hub.platforms.models import Platform, PlatformKind, PlatformStatus
from consult_hub.platforms.scopes import platform_read_filter

bp = Blueprint("platforms", __name__, url_prefix="/manage/platforms")
MANAGERS = OFFICE_ROLES
# Who opens the list and a platform's page: those who work there, and the members serving
# there (政协委员, read-only: every write below stays staff's).
READERS = (*PLATFORM_ROLES, Role.MEMBER)
STATUS_ACTIONS = {
    "suspend": {"title": _l("暂停平台"), "button": _l("暂停"),
                "done": _l("平台已暂停，暂停期间不能安排新的活动。")},
    "close": {"title": _l("撤销平台"), "button": _l("确认撤销"),
              "done": _l("平台已撤销，以往的活动和问题记录都会保留。")},
    "reactivate": {"title": _l("恢复运行"), "button": _l("恢复运行"),
                   "done": _l("平台已恢复运行。")},
}


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"optional_url": optional_url}


def optional_url(endpoint: str, **values: Any) -> str | None:
    """A link to another feature's page, or None while that page does not exist yet."""
    if endpoint not in current_app.view_functions:
        return None
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def _platform_or_404(platform_id: int) -> Platform:
    platform = queries.platform_with_people(platform_id)
    if platform is None:
        abort(404)
    return platform


def _manageable(platform_id: int) -> Platform:
    """The platform, if the user may change its facts, status and people (staff of its district)."""
    platform = _platform_or_404(platform_id)
    require(can_manage_district(current_user, platform.district_id), f"platform:{platform.id}")
    return platform


def _save(form: Any, write: Any, edited: Platform | None = None) -> Saved[Any]:
    """``save`` as the platform forms use it: a code taken meanwhile is the code's mistake;
    a message no field shows is among the form's own errors, in the page's error summary."""
    return save(form, write, edited=(edited, operations.FIELDS) if edited else None,
                taken={"code": _("编号已被其他平台使用，请换一个")})


# ---- the list --------------------------------------------------------------------------------


def _one_of(value: Any, allowed: Any) -> Any:
    """``value`` when it is one of ``allowed``; a stale or tampered filter is ignored."""
    return value if value in allowed else None


@bp.route("/")
@roles_required(*READERS)
def index():
    form = PlatformFilterForm(request.args)
    scope = platform_read_filter(current_user)
    choose_district = can_choose_district(current_user)
    districts = queries.districts() if choose_district else []
    form.district_id.choices = select_choices([ANY, *((d.id, d.name) for d in districts)])
    district_id = _one_of(form.district_id.data, {d.id for d in districts})
    # Streets depend on the district: the chosen one, or a district admin's own.
    street_district = district_id if choose_district else staff_district_id(current_user)
    streets = queries.streets(street_district) if street_district else []
    form.street_id.choices = select_choices([ANY, *((s.id, s.name) for s in streets)])
    years = queries.demonstration_years(scope)
    form.demonstration_year.choices = select_choices([ANY, *((y, str(y)) for y in years)])
    filters = queries.PlatformFilters(
        q=(form.q.data or "").strip()[:100] or None,
        district_id=district_id,
        street_id=_one_of(form.street_id.data, {s.id for s in streets}),
        kind=PlatformKind._value2member_map_.get(form.kind.data or ""),
        status=PlatformStatus._value2member_map_.get(form.status.data or ""),
        demonstration={"yes": True, "no": False}.get(form.demonstration.data or ""),
        demonstration_year=_one_of(form.demonstration_year.data, years),
    )
    page = queries.platform_page(scope, filters, page=params.arg_page(),
                                 per_page=current_app.config["PER_PAGE"])
    chosen = [name for name, value in dataclasses.asdict(filters).items() if value is not None]
    return render_template(
        "platforms/index.html", form=form, page=page, filtered=bool(chosen),
        chosen_filters=len([name for name in chosen if name != "q"]),
        counts=queries.status_counts(scope, filters),
        show_districts=choose_district, show_streets=bool(street_district),
        can_create=choose_district or staff_district_id(current_user) is not None,
    )


# ---- creating and editing --------------------------------------------------------------------


def _area_choices(form: PlatformForm, platform: Platform | None = None) -> Area | None:
    """Fill the district and area pickers; return the district the areas are listed for."""
    if can_choose_district(current_user):
        districts = queries.districts()
    else:
        districts = [d for d in [db.session.get(Area, staff_district_id(current_user))] if d]
    placeholder = [("", _("请选择区"))] if len(districts) != 1 else []
    form.district_id.choices = select_choices([*placeholder, *((d.id, d.name) for d in districts)])
    wanted = form.district_id.data
    if wanted is None and request.method == "GET":
        wanted = params.arg_id("district_id")
    if wanted is None and platform is not None:
        wanted = platform.district_id
    district = next((d for d in districts if d.id == wanted), None)
    if district is None and len(districts) == 1:
        district = districts[0]
    form.district_id.data = district.id if district else None
    choices = select_choices([("", _("请选择街道或社区"))])
    for street, communities in queries.areas_by_street(district.id) if district else []:
        choices += select_choices([(street.id, _("%(street)s（街道本级）", street=street.name)),
                                   *((c.id, c.name) for c in communities)], group=street.name)
    form.area_id.choices = choices
    return district


def _render_form(form: PlatformForm, platform: Platform | None, district: Area | None,
                 conflict: EditConflict | None = None, status: int = 200,
                 choose_district_first: bool = False):
    today = local_today(utcnow())
    return render_template(
        "platforms/form.html", form=form, platform=platform, district=district,
        choose_district_first=choose_district_first,
        today_iso=today.isoformat(), this_year=today.year,
        conflict=conflict,
        suggested_code=queries.suggest_code(district) if district and platform is None else None,
    ), status


@bp.route("/new", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def new():
    form = PlatformForm()
    district = _area_choices(form)
    if request.method == "GET" or form.pick_district.data:
        if district and not form.code.data:
            form.code.data = queries.suggest_code(district)
        return _render_form(form, None, district,
                            choose_district_first=request.method == "GET" and district is None)
    if form.validate_on_submit() and (saved := _save(form, lambda: operations.create_platform(
            today=local_today(utcnow()), **form.values()))):
        platform = saved.value
        flash(_("已新建平台“%(name)s”。", name=platform.name), "success")
        return redirect(url_for(".detail", platform_id=platform.id), 303)
    return _render_form(form, None, district, status=422)


@bp.route("/<int:platform_id>/edit", methods=["GET", "POST"])
@roles_required(*MANAGERS)
def edit(platform_id: int):
    platform = _manageable(platform_id)
    form = PlatformForm(obj=platform)
    district = _area_choices(form, platform)
    if request.method == "GET":
        form.start_from(platform, operations.FIELDS)
        return _render_form(form, platform, district)
    if form.pick_district.data:
        return _render_form(form, platform, district)
    if not form.validate_on_submit():
        return _render_form(form, platform, district, status=422)
    saved = _save(form, lambda: operations.update_platform(
        platform, version=form.version.data, original=form.original.data,
        today=local_today(utcnow()), **form.values()), edited=platform)
    if saved:
        flash(_("平台的修改已保存。") if saved.value else _("没有需要保存的修改。"), "success")
        return redirect(url_for(".detail", platform_id=platform.id), 303)
    if saved.conflict is not None:
        platform = _platform_or_404(platform_id)
    return _render_form(form, platform, district, saved.conflict, status=saved.status)


# ---- one platform ----------------------------------------------------------------------------


# ---- people ----------------------------------------------------------------------------------


def _render_people(platform: Platform, errors: dict[str, str] | None = None,
                   section: str | None = None, status: int = 200):
    coordinator_q = request.values.get("coordinator_q", "").strip()[:64]
    member_q = request.values.get("member_q", "").strip()[:64]
    return render_template(
        "platforms/people.html", platform=platform,
        coordinator_q=coordinator_q, member_q=member_q,
        # Without a search: the platform's district and unlinked coordinators; a search
        # reaches as far as the user may see (every district for city staff).
        coordinator_candidates=queries.coordinator_candidates(
            platform, q=coordinator_q or None,
            district_id=staff_district_id(current_user) if coordinator_q else platform.district_id,
            limit=queries.CANDIDATE_LIMIT if coordinator_q else 10),
        member_candidates=queries.member_candidates(platform, member_q or None),
        errors=errors or {}, error_section=section,
    ), status


@bp.route("/<int:platform_id>/people")
@roles_required(*MANAGERS)
def people(platform_id: int):
    return _render_people(_manageable(platform_id))


def _person(model: type[User] | type[Member], form: LinkForm) -> Any:
    raw = form.person_id.data if form.validate_on_submit() else None
    return db.session.get(model, int(raw)) if raw and str(raw).isdigit() else None


def _people_write(platform: Platform, section: str, write: Any,
                  done: str):
    """Run one link/unlink write: commit and go back, or show the people page with the reason."""
    race = {"person_id": _("名单刚被他人修改，请核对后再操作")}
    saved = save(None, write, taken=race)
    if saved.raced:  # someone made the same change at the same moment
        return _render_people(_platform_or_404(platform.id), race, section, 409)
    if not saved:
        return _render_people(_platform_or_404(platform.id), saved.errors, section, saved.status)
    flash(done, "success")
    searches = {key: request.form.get(key, "").strip()[:64] or None
                for key in ("coordinator_q", "member_q")}
    return redirect(url_for(".people", platform_id=platform.id, **searches,
                            _anchor=section), 303)


@bp.route("/<int:platform_id>/coordinators", methods=["POST"])
@roles_required(*MANAGERS)
def link_coordinator(platform_id: int):
    platform = _manageable(platform_id)
    user = _person(User, LinkForm())
    if user is None:
        return _render_people(platform, {"person_id": _("请选择联络员")}, "coordinators", 422)
    return _people_write(
        platform, "coordinators",
        lambda: operations.link_coordinator(platform, user,
                                            district_id=staff_district_id(current_user)),
        _("已将%(name)s设为本平台的联络员。", name=user.name))


@bp.route("/<int:platform_id>/coordinators/<int:user_id>/remove", methods=["POST"])
@roles_required(*MANAGERS)
def unlink_coordinator(platform_id: int, user_id: int):
    platform = _manageable(platform_id)
    if not UnlinkForm().validate_on_submit():
        abort(400)
    user = db.get_or_404(User, user_id)
    return _people_write(platform, "coordinators",
                         lambda: operations.unlink_coordinator(platform, user),
                         _("%(name)s已不再是本平台的联络员。", name=user.name))


@bp.route("/<int:platform_id>/members", methods=["POST"])
@roles_required(*MANAGERS)
def link_member(platform_id: int):
    platform = _manageable(platform_id)
    member = _person(Member, LinkForm())
    if member is None:
        return _render_people(platform, {"person_id": _("请选择委员")}, "members", 422)
    return _people_write(platform, "members", lambda: operations.link_member(platform, member),
                         _("已将委员%(name)s添加为本平台的下沉委员。", name=member.name))


@bp.route("/<int:platform_id>/members/<int:member_id>/remove", methods=["POST"])
@roles_required(*MANAGERS)
def unlink_member(platform_id: int, member_id: int):
    platform = _manageable(platform_id)
    if not UnlinkForm().validate_on_submit():
        abort(400)
    member = db.get_or_404(Member, member_id)
    return _people_write(platform, "members", lambda: operations.unlink_member(platform, member),
                         _("委员%(name)s已不再是本平台的下沉委员。", name=member.name))
