"""An event's staff pages that show or create problems (docs/architecture.md).

An event's page lists the problems raised at it, and recording an event as held registers
them in the same save. Problems sit above events, so these views live here while staying on
the events blueprint: the endpoints remain ``events.detail`` and ``events.record``. The app
factory imports this module before it registers the blueprints.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import ngettext
from flask_login import current_user

from consult_hub.auth.decorators import staff_required
from consult_hub.auth.scopes import can_read_platform, require
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.saving import put_errors
from consult_hub.events import queries as event_queries
from consult_hub.events import views as event_pages
from consult_hub.events.models import EventStatus
from consult_hub.issues import operations, queries
from consult_hub.issues.forms import PROBLEM_ROWS, RecordForm


@event_pages.bp.route("/<int:event_id>", endpoint="detail")
@staff_required
def event_detail(event_id: int):
    event = queries.event_for_page(event_id)
    if event is None:
        abort(404)
    # Read by the platform's staff, and by the members serving there (read-only).
    require(can_read_platform(current_user, event.platform), f"platform:{event.platform_id}")
    return event_pages._render_detail(event)


@event_pages.bp.route("/<int:event_id>/record", methods=["GET", "POST"], endpoint="record")
@staff_required
def record_event(event_id: int):
    event = event_pages._load(event_id)
    if event.status is not EventStatus.PLANNED:
        return event_pages._wrong_status(event)
    form = RecordForm()
    form.attendees.choices = select_choices(
        (m.id, f"{m.name}（{m.sector}）")
        for m in event_queries.platform_members_of(event.platform_id))
    status, added_rows = 200, False
    if request.method == "GET":
        form.starts_at.data, form.ends_at.data = event.starts_at, event.ends_at
    elif request.form.get("more_rows"):
        for _row in range(PROBLEM_ROWS):
            if len(form.problems.entries) < form.problems.max_entries:
                form.problems.append_entry()
                added_rows = True
    elif form.validate_on_submit():
        saved = event_pages._save(form, lambda: operations.record_held(
            event, starts_at=form.starts_at.data, ends_at=form.ends_at.data,
            minutes=form.minutes.data, attendee_ids=form.attendees.data or [],
            resident_count=form.resident_count.data, department_count=form.department_count.data,
            expert_count=form.expert_count.data, opinions=form.opinions.data,
            problems=[row.form.values() for row in form.problems.entries],
            actor_id=current_user.id))
        status, issues = saved.status, saved.value
        if saved:
            if issues:
                flash(ngettext(
                    "活动已记为已举行，纪要已保存，并登记了 %(num)s 个问题。",
                    "活动已记为已举行，纪要已保存，并登记了 %(num)s 个问题。",
                    len(issues)), "success")
            else:
                flash(_("活动已记为已举行，纪要已保存。"), "success")
            return redirect(url_for("events.detail", event_id=event.id), 303)
    else:
        # Show the problem rows' mistakes together with the other fields'.
        put_errors(form, operations.problem_row_errors(
            [row.form.values() for row in form.problems.entries]))
        status = 422
    return render_template("events/record.html", form=form, event=event,
                           added_rows=added_rows), status
