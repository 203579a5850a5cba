"""Staff pages of lower folders that show rows of higher ones (docs/architecture.md).

A platform's page lists its events and open problems, and its status page says how many are
still planned or open; a member's page counts the events they attended; the department list
counts open problems; the area tree counts platforms. These views read across features, so
they sit on the read side, while staying on their folders' blueprints: the endpoints remain
``platforms.detail``, ``platforms.change_status``, ``members.detail``, ``departments.index``,
``areas.index`` and ``areas.detail``. The app factory imports this module before it registers
those blueprints.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy.orm import selectinload

from consult_hub.areas import queries as area_queries
from consult_hub.areas import views as area_pages
from consult_hub.areas.models import Area
from consult_hub.areas.operations import CHILD_LEVEL
from consult_hub.areas.queries import district_choices
from consult_hub.auth.decorators import roles_required, staff_required
from consult_hub.auth.models import Role
from consult_hub.auth.scopes import (
    can_manage_district,
    can_manage_platform,
    can_read_platform,
    require,
)
from consult_hub.core import params
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import local_today
from consult_hub.departments import queries as department_queries
from consult_hub.departments import views as department_pages
from consult_hub.departments.models import Department
from consult_hub.events import queries as event_queries
from consult_hub.extensions import db
from consult_hub.issues import queries as issue_queries
from consult_hub.members import views as member_pages
from consult_hub.platforms import operations as platform_operations
from consult_hub.platforms import queries as platform_queries
from consult_hub.platforms import views as platform_pages
from consult_hub.platforms.forms import StatusForm
from consult_hub.platforms.models import PlatformStatus

# ---- platforms -------------------------------------------------------------------------------


@platform_pages.bp.route("/<int:platform_id>", endpoint="detail")
@staff_required
def platform_detail(platform_id: int):
    platform = platform_pages._platform_or_404(platform_id)
    require(can_read_platform(current_user, platform), f"platform:{platform.id}")
    now = utcnow()
    # A member serving here (政协委员) reads the page: published problems only, no actions.
    manages = can_manage_platform(current_user, platform)
    return render_template(
        "platforms/detail.html",
        platform=platform,
        upcoming=event_queries.upcoming_events(platform.id, now),
        recent=event_queries.recent_events(platform.id, now),
        open_issues=issue_queries.open_issues(platform.id, published_only=not manages),
        open_issue_count=issue_queries.open_issue_count(platform.id,
                                                        published_only=not manages),
        manages=manages,
        status_change=platform_queries.last_status_change(platform)
        if platform.status is not PlatformStatus.ACTIVE else None,
        accepts_events=platform_queries.platform_accepts_events(platform),
        can_edit=can_manage_district(current_user, platform.district_id),
        actions=[a for a, (sources, _target) in platform_operations.TRANSITIONS.items()
                 if platform.status in sources],
        action_labels=platform_pages.STATUS_ACTIONS,
        today=local_today(now),
    )


@platform_pages.bp.route("/<int:platform_id>/<any(suspend, close, reactivate):action>",
                         methods=["GET", "POST"])
@roles_required(*platform_pages.MANAGERS)
def change_status(platform_id: int, action: str):
    platform = platform_pages._manageable(platform_id)
    form = StatusForm()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        saved = platform_pages._save(form, lambda: platform_operations.change_status(
            platform, action, reason=form.reason.data, confirm=form.confirm.data,
            effective_on=form.effective_on.data))
        if saved:
            flash(str(platform_pages.STATUS_ACTIONS[action]["done"]), "success")
            return redirect(url_for(".detail", platform_id=platform.id), 303)
        if saved.raced:  # someone changed the platform at the same moment
            platform, status = platform_pages._platform_or_404(platform_id), 409
            flash(_("平台刚被他人修改，请核对当前状态后再提交。"), "warning")
    now = utcnow()
    return render_template(
        "platforms/status.html", form=form, platform=platform, action=action,
        labels=platform_pages.STATUS_ACTIONS[action],
        applicable=platform.status in platform_operations.TRANSITIONS[action][0],
        upcoming_count=event_queries.upcoming_event_count(platform.id, now),
        open_issue_count=issue_queries.open_issue_count(platform.id),
    ), status


# ---- members ---------------------------------------------------------------------------------


@member_pages.bp.route("/<int:member_id>", endpoint="detail")
@roles_required(*member_pages.STAFF)
def member_detail(member_id: int):
    member = platform_queries.member_with_platforms(member_id)
    if member is None:
        abort(404)
    require(can_manage_district(current_user, member.district_id), f"member:{member.id}")
    return render_template(
        "members/detail.html", member=member,
        events_attended=event_queries.events_attended(member.id),
        can_open=lambda p: can_manage_platform(current_user, p),
    )


# ---- departments -----------------------------------------------------------------------------


@department_pages.bp.route("/", endpoint="index")
@roles_required(*department_pages.STAFF)
def department_index():
    scope_id = params.arg_id("scope")  # a district's id, or "city"
    scope = str(scope_id) if scope_id else params.arg_choice("scope", ("city",))
    filters = {"q": params.arg_text("q"), "scope": scope,
               "active": params.arg_choice("active", ("1", "0"), default="all", missing="1")}
    page = db.paginate(
        department_queries.department_query(current_user, **filters).options(
            selectinload(Department.district)),
        page=params.arg_page(), per_page=30, error_out=False,
    )
    return render_template(
        "departments/index.html", page=page, filters=filters,
        districts=district_choices(current_user),
        open_issues=issue_queries.open_issue_counts([d.id for d in page.items]),
        can_manage=lambda d: can_manage_district(current_user, d.district_id),
    )


# ---- areas -----------------------------------------------------------------------------------


@area_pages.bp.route("/", endpoint="index")
@roles_required(Role.ADMIN)
def area_index():
    return render_template("areas/index.html", rows=platform_queries.district_rows())


@area_pages.bp.route("/<int:area_id>", endpoint="detail")
@roles_required(Role.ADMIN)
def area_detail(area_id: int):
    area = db.get_or_404(Area, area_id, options=[selectinload(Area.parent)])
    return render_template(
        "areas/detail.html", area=area, path=area_queries.ancestors(area),
        rows=platform_queries.child_rows(area), platforms=platform_queries.platforms_in(area),
        child_level=CHILD_LEVEL.get(area.level),
    )
