"""Public pages for residents: platforms, events, outcomes, submitting and following a problem.

No page here shows a submitter's name or phone, a private note or a staff account.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _

from consult_hub.auth.decorators import public
from consult_hub.core import params
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.forms import select_choices
from consult_hub.core.links import external_url
from consult_hub.core.pagecache import shared_page
from consult_hub.core.pagination import paginate
from consult_hub.core.saving import save
from consult_hub.events import queries as event_queries
from consult_hub.extensions import db, limiter
from consult_hub.issues.models import IssueSource, IssueStatus, Satisfaction
from consult_hub.issues.operations import RATEABLE_STATUSES, create_issue
from consult_hub.issues.references import normalise_reference
from consult_hub.platforms import queries as platform_queries
from consult_hub.platforms.models import Platform, PlatformKind
from consult_hub.platforms.queries import PlatformFilters
from consult_hub.public import queries
from consult_hub.public.forms import RateForm, SubmitForm, TrackForm
from consult_hub.public.operations import rate_outcome

bp = Blueprint("public", __name__, url_prefix=None)

E = TypeVar("E", bound=Enum)
SEARCH_MAX = 50
# How many past events and outcomes a platform page lists before linking to the full list.
PLATFORM_LIST_LIMIT = 10
# create_issue's names for the fields of the submission form.
SUBMIT_FIELDS = {"submitter_name": "name", "submitter_phone": "phone"}


def submission_limit() -> str:
    return current_app.config["SUBMISSION_RATE_LIMIT"]


def tracking_limit() -> str:
    # Guessing four digits must take longer than anyone would try; mistyping twice is fine.
    return current_app.config["TRACKING_RATE_LIMIT"]


def tracking_reference_limit() -> str:
    return current_app.config["TRACKING_REFERENCE_RATE_LIMIT"]


def tracking_reference_key() -> str:
    """The receipt code being looked up, as stored: the per-reference limit counts over every
    address (in the shared limiter storage), whichever way the code is spelt."""
    reference = normalise_reference(request.form.get("reference", "")[:64])
    return f"reference:{reference}" if reference else ""


def failed_look_up(response: Any) -> bool:
    return response.status_code == 422


def too_many_look_ups_of_reference() -> str:
    return _("这个受理编号近期的查询失败次数过多，已暂停凭电话后四位查询。"
             "请过一段时间再试，或使用提交时获得的跟踪链接。")


def _int_arg(name: str) -> int | None:
    return params.arg_id(name)


def _enum_arg(enum_cls: type[E], name: str) -> E | None:
    return params.arg_enum(enum_cls, name)


def _chosen(name: str, areas: list[Any]) -> int | None:
    """The id given as ``name`` if it is one of ``areas``, else None."""
    wanted = _int_arg(name)
    return wanted if wanted in {area.id for area in areas} else None


def _platform_arg() -> Platform | None:
    platform_id = _int_arg("platform")
    return db.session.get(Platform, platform_id) if platform_id else None


def _search_arg() -> str:
    return params.arg_text("q", SEARCH_MAX)


def _paginate(stmt):
    """One page of ``stmt`` (``?page=``); past the end is an empty page, not an error."""
    return paginate(stmt, per_page=current_app.config["PER_PAGE"])


def _private(response):
    """Pages behind a secret link: never cached by a shared cache, never sent as a referrer."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.errorhandler(429)
def too_many_requests(error):
    limit = getattr(error, "limit", None)
    message = error.description if getattr(limit, "error_message", None) else None
    return render_template("public/429.html", error=error, message=message), 429


# -- platforms --------------------------------------------------------------------------------


@bp.route("/platforms")
@public
@shared_page
def platforms():
    districts = queries.district_choices()
    district_id = _chosen("district", districts)
    streets = platform_queries.streets(district_id) if district_id else []
    street_id = _chosen("street", streets)
    kind = _enum_arg(PlatformKind, "kind")
    demonstration = params.arg_flag("demo")
    search = _search_arg()
    filters = PlatformFilters(q=search or None, district_id=district_id, street_id=street_id,
                              kind=kind, demonstration=True if demonstration else None)
    return render_template(
        "public/platforms.html", page=_paginate(queries.platform_directory(filters)),
        districts=districts, streets=streets, kinds=PlatformKind, district_id=district_id,
        street_id=street_id, kind=kind, demonstration=demonstration, search=search,
        filtered=any((district_id, kind, demonstration, search)),
    )


@bp.route("/platforms/<int:platform_id>")
@public
@shared_page
def platform(platform_id: int):
    found = queries.platform_page(platform_id)
    if found is None:
        abort(404)
    now = utcnow()
    return render_template(
        "public/platform.html", platform=found,
        members=sorted((m for m in found.members if m.is_active), key=lambda m: (m.name, m.id)),
        upcoming=event_queries.upcoming_events(found.id, now, limit=PLATFORM_LIST_LIMIT),
        past=event_queries.recent_events(found.id, now, limit=PLATFORM_LIST_LIMIT),
        outcomes=list(db.session.scalars(
            queries.outcome_list(platform_id=found.id).limit(PLATFORM_LIST_LIMIT))),
        list_limit=PLATFORM_LIST_LIMIT,
    )


# -- events -----------------------------------------------------------------------------------


@bp.route("/events")
@public
@shared_page
def events():
    when = params.arg_choice("when", ("upcoming", "past"), default="upcoming")
    districts = queries.district_choices()
    district_id = _chosen("district", districts)
    for_platform = _platform_arg()
    stmt = queries.event_list(utcnow(), when=when, district_id=district_id,
                              platform_id=for_platform.id if for_platform else None)
    return render_template("public/events.html", page=_paginate(stmt), when=when,
                           districts=districts, district_id=district_id, platform=for_platform)


@bp.route("/events/<int:event_id>")
@public
@shared_page
def event(event_id: int):
    found = queries.event_page(event_id)
    if found is None:
        abort(404)
    return render_template("public/event.html", event=found, now=utcnow(),
                           issues=queries.published(found.issues))


# -- outcomes ---------------------------------------------------------------------------------


@bp.route("/outcomes")
@public
@shared_page
def outcomes():
    districts = queries.district_choices()
    district_id = _chosen("district", districts)
    status = _enum_arg(IssueStatus, "status")
    if status not in queries.OUTCOME_STATUSES:
        status = None
    category = _enum_arg(Category, "category")
    for_platform = _platform_arg()
    stmt = queries.outcome_list(status=status, district_id=district_id, category=category,
                                platform_id=for_platform.id if for_platform else None)
    return render_template(
        "public/outcomes.html", page=_paginate(stmt), districts=districts,
        district_id=district_id, status=status, statuses=queries.OUTCOME_STATUSES,
        category=category, categories=Category, platform=for_platform)


@bp.route("/issues/<reference>")
@public
@shared_page
def issue(reference: str):
    canonical = normalise_reference(reference)
    found = queries.issue_by_reference(canonical)
    if found is None:
        abort(404)
    if canonical != reference:
        return redirect(url_for("public.issue", reference=canonical), 301)
    return render_template("public/issue.html", issue=found,
                           timeline=queries.public_timeline(found.id))


# -- the privacy notice -----------------------------------------------------------------------

# The notice's version, stored with each consent given on the submission form: change it
# whenever templates/public/privacy.html changes what it says.
PRIVACY_NOTICE_VERSION = "2026-12"


@bp.route("/privacy")
@public
@shared_page
def privacy():
    return render_template("public/privacy.html", version=PRIVACY_NOTICE_VERSION,
                           retention_months=current_app.config["CONTACT_RETENTION_MONTHS"])


# -- submitting a problem ---------------------------------------------------------------------


@bp.route("/submit", methods=["GET", "POST"])
@public
@limiter.limit(submission_limit, methods=["POST"])
def submit():
    form = SubmitForm()
    if request.method == "POST" and form.website.data:
        # The hidden field is filled: a robot. It gets the same answer as a person; nothing is kept.
        current_app.logger.info("submission dropped by the honeypot")
        session.pop("receipt", None)
        return redirect(url_for("public.receipt"), 303)

    # The platform asked for in the link (?platform=) and, on POST, the one chosen in the form.
    hinted = queries.active_platform(_int_arg("platform"))
    chosen = queries.active_platform(form.platform.data) if request.method == "POST" else hinted
    districts = queries.district_choices()
    district_id = _chosen("district", districts)
    if district_id is None and (chosen or hinted):
        district_id = (chosen or hinted).district_id
    search = _search_arg()
    choices = queries.submission_platforms(district_id, search)
    for extra in (hinted, chosen):
        if extra is not None and extra not in choices:
            choices.insert(0, extra)
    form.platform.choices = select_choices(
        [("", _("请选择平台…")), *((p.id, p.name) for p in choices)])
    if request.method == "GET" and hinted is not None:
        form.platform.data = hinted.id

    if form.validate_on_submit():
        if chosen is None:
            form.platform.errors.append(_("请选择协商平台"))
        elif saved := save(form, lambda: create_issue(
                platform=chosen, title=form.title.data, description=form.description.data,
                kind=form.kind.data, category=form.category.data, source=IssueSource.RESIDENT,
                submitter_name=form.name.data, submitter_phone=form.phone.data,
                needs_review=True, consent_version=PRIVACY_NOTICE_VERSION),
                aliases=SUBMIT_FIELDS, rest=form.platform):
            session["receipt"] = saved.value.tracking_token
            return redirect(url_for("public.receipt"), 303)

    return render_template(
        "public/submit.html", form=form, districts=districts, district_id=district_id,
        search=search, platform_count=len(choices), chosen=chosen,
    ), 422 if request.method == "POST" else 200


@bp.route("/submit/receipt")
@public
def receipt():
    token = session.get("receipt")
    submitted = queries.issue_by_token(token) if token else None
    return _private(current_app.make_response(render_template(
        "public/receipt.html", issue=submitted,
        track_url=external_url("public.track_token", token=token)
        if submitted else None)))


# -- following a problem ----------------------------------------------------------------------


@bp.route("/track", methods=["GET", "POST"])
@public
@limiter.limit(tracking_limit, methods=["POST"])
@limiter.limit(tracking_reference_limit, key_func=tracking_reference_key, methods=["POST"],
               scope="tracking-reference", deduct_when=failed_look_up,
               error_message=too_many_look_ups_of_reference)
def track():
    form = TrackForm()
    not_found = False
    if form.validate_on_submit():
        found = queries.issue_by_reference_and_digits(form.reference.data, form.digits.data)
        if found is not None and found.tracking_token:
            return redirect(url_for("public.track_token", token=found.tracking_token), 303)
        not_found = True
    return render_template("public/track.html", form=form, not_found=not_found), \
        422 if request.method == "POST" else 200


@bp.route("/track/<token>", methods=["GET", "POST"])
@public
@limiter.limit(tracking_limit, methods=["POST"])
def track_token(token: str):
    found = queries.issue_by_token(token)
    if found is None:
        abort(404)
    form = RateForm()
    status = 200
    if request.method == "POST":
        status = 422
        if found.satisfaction is not None:
            status = 409
            flash(_("这个问题已经评价过了，每个问题只能评价一次。"), "warning")
        elif found.status not in RATEABLE_STATUSES:
            flash(_("问题办结后才能评价。"), "warning")
        elif form.validate_on_submit():
            saved = save(form, lambda: rate_outcome(found, form.satisfaction.data,
                                                    form.comment.data), rest=form.satisfaction)
            if saved.raced:
                # Rated (or changed by staff) a moment ago in another request.
                flash(_("这个问题刚刚有了变化，请查看最新状态。"), "warning")
                return redirect(url_for("public.track_token", token=token), 303)
            if saved:
                if form.satisfaction.data == Satisfaction.UNSATISFIED:
                    flash(_("感谢您的评价。问题已重新办理，工作人员会再次联系您。"), "success")
                else:
                    flash(_("感谢您的评价。"), "success")
                return redirect(url_for("public.track_token", token=token), 303)
    ratable = found.status in RATEABLE_STATUSES and found.satisfaction is None
    response = current_app.make_response((render_template(
        "public/tracking.html", issue=found, timeline=queries.public_timeline(found.id),
        form=form if ratable else None), status))
    return _private(response)
