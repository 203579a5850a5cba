"""The home page and the signed-in landing page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from consult_hub.auth.decorators import public, staff_required
from consult_hub.core.pagecache import shared_page

from consult_hub.core.db import utcnow
from consult_hub.core.security import safe_next
from consult_hub.core.timefmt import local_today
from consult_hub.main import queries
from consult_hub.public import queries as public_queries

bp = Blueprint("main", __name__)


@bp.route("/")
@public
@shared_page
def index():  # type: ignore[no-untyped-def]
    years = queries.headline_years()
    year = request.args.get("year", type=int)
    if year not in years:
        year = queries.default_headline_year(years)
    return render_template("main/index.html", figures=queries.headline_figures(year), years=years,
                           upcoming=public_queries.upcoming_events(utcnow()),
                           outcomes=public_queries.latest_outcomes())


@bp.route("/dashboard")
@staff_required
def dashboard():  # type: ignore[no-untyped-def]
    now = utcnow()
    summary = queries.landing_summary(current_user, now)
    board: queries.CoordinatorBoard | queries.StaffBoard | None = None
    if summary.row_kind == "platform":
        if summary.rows:
            board = queries.coordinator_board([row.id for row in summary.rows], now)
    else:
        board = queries.staff_board(current_user, summary, now)
    return render_template("main/dashboard.html", summary=summary, board=board,
                           today=local_today(now))


@bp.route("/locale/<code>")
@public
def set_locale(code: str):  # type: ignore[no-untyped-def]
    """Remember the visitor's language (a link: nothing to protect, and no token on every page)."""
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(safe_next(request.args.get("next")) or url_for("main.index"))
