"""The home page and the signed-in landing page."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user

from consult_hub.auth.decorators import public, staff_required
from consult_hub.auth.models import OFFICE_ROLES, Role
from consult_hub.auth.scopes import is_department_contact
from consult_hub.core import heartbeat, params
from consult_hub.core.db import utcnow
from consult_hub.core.pagecache import shared_page
from consult_hub.core.security import safe_next
from consult_hub.core.timefmt import local_today
from consult_hub.extensions import db
from consult_hub.main import queries
from consult_hub.public import queries as public_queries

bp = Blueprint("main", __name__)
log = logging.getLogger(__name__)


@bp.route("/")
@public
@shared_page
def index():
    years, figures = queries.home_headline(params.arg_year("year"))
    # Tuples, so that the page's fragments can be remembered (templates/main/index.html).
    return render_template("main/index.html", figures=figures, years=tuple(years),
                           upcoming=tuple(public_queries.upcoming_events(utcnow())),
                           outcomes=tuple(public_queries.latest_outcome_items()))


@bp.route("/dashboard")
@staff_required
def dashboard():
    now = utcnow()
    if is_department_contact(current_user):
        # A department's contact: their department's problems only, phone-first.
        return render_template("main/department.html",
                               board=queries.department_board(current_user, now),
                               today=local_today(now))
    if current_user.role is Role.MEMBER:
        # A member (政协委员): their own proposals and reports, the platforms they serve.
        return render_template("main/member.html", board=queries.member_board(current_user, now),
                               today=local_today(now))
    summary = queries.landing_summary(current_user, now)
    board: queries.CoordinatorBoard | queries.StaffBoard | None = None
    if summary.row_kind == "platform":
        if summary.rows:
            board = queries.coordinator_board([row.id for row in summary.rows], now)
    else:
        board = queries.staff_board(current_user, summary, now)
    # Staff who can act on it learn that reminders have stopped (the scheduler is down).
    scheduler = None
    if current_user.role in OFFICE_ROLES:
        scheduler = heartbeat.scheduler_health(
            db.session, now, current_app.config["SCHEDULER_STALE_MINUTES"])
    return render_template("main/dashboard.html", summary=summary, board=board,
                           today=local_today(now), scheduler=scheduler)


@bp.route("/healthz")
@public
def healthz():
    """For monitoring: 200 when the database answers and the scheduler ran lately, else 503
    naming what is wrong. Never cached."""
    body: dict[str, Any] = {"status": "ok", "database": "ok"}
    problems: list[str] = []
    try:
        db.session.execute(sa.select(1))
        health = heartbeat.scheduler_health(
            db.session, utcnow(), current_app.config["SCHEDULER_STALE_MINUTES"])
    except sa.exc.SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("healthz: database check failed: %s", " ".join(str(exc).split())[:300])
        body["database"] = "unreachable"
        problems.append("database unreachable")
    else:
        body["scheduler"] = {
            "last_run_at": health.last_run_at.isoformat() if health.last_run_at else None,
            "age_seconds": round(health.age.total_seconds()) if health.age is not None else None,
            "failing_jobs": health.failing,
        }
        if health.never_ran:
            problems.append("scheduler has never run")
        elif health.stale:
            problems.append(f"scheduler has not run for {health.minutes} minutes")
    if problems:
        body["status"] = "failing"
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/locale/<code>")
@public
def set_locale(code: str):
    """Remember the visitor's language (a link: nothing to protect, and no token on every page)."""
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
