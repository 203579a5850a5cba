"""The home page and the signed-in landing page."""

from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from consult_hub.auth.decorators import public, staff_required

from consult_hub.core.security import safe_next
from consult_hub.main import queries

bp = Blueprint("main", __name__)


@bp.route("/")
@public
def index():  # type: ignore[no-untyped-def]
    years = queries.headline_years()
    year = request.args.get("year", type=int)
    if year not in years:
        year = queries.default_headline_year(years)
    return render_template("main/index.html", figures=queries.headline_figures(year), years=years)


@bp.route("/dashboard")
@staff_required
def dashboard():  # type: ignore[no-untyped-def]
    return render_template("main/dashboard.html", summary=queries.landing_summary(current_user))


@bp.route("/locale/<code>", methods=["POST"])
@public
def set_locale(code: str):  # type: ignore[no-untyped-def]
    if code in current_app.config["LANGUAGES"]:
        session["locale"] = code
    return redirect(safe_next(request.form.get("next")) or url_for("main.index"))
