"""Public pages for residents: platforms, events, outcomes, submitting and following a problem.

No page here shows a submitter's name or phone, a private note or a staff account.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, TypeVar
from urllib.parse import urlsplit

import segno
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from flask_login import current_user

from consult_hub.auth.decorators import public
from consult_hub.auth.scopes import can_view_issue
from consult_hub.core import display as display_mode
from consult_hub.core import images, params
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.forms import select_choices
from consult_hub.core.i18n import gettext as _
from consult_hub.core.links import external_url
from consult_hub.core.pagecache import shared_page
from consult_hub.core.saving import save
from consult_hub.core.security import safe_next
from consult_hub.extensions import csrf, db, limiter
from consult_hub.issues import photos as issue_photos
from consult_hub.issues import subjects
from consult_hub.issues.models import IssuePhoto, IssueSource, IssueStatus, Satisfaction
from consult_hub.issues.operations import RATEABLE_STATUSES, create_issue
from consult_hub.issues.references import normalise_reference
from consult_hub.platforms import queries as platform_queries
from consult_hub.platforms.models import Platform, PlatformKind
from consult_hub.platforms.queries import PlatformFilters
from consult_hub.public import listing, maps, queries, submission
from consult_hub.public.forms import RateForm, SubmitForm, TrackForm
from consult_hub.public.operations import rate_outcome

bp = Blueprint("public", __name__, url_prefix=None)
# Templates ask for a place's map (templates/_macros/maps.html); None hides it.
bp.add_app_template_global(maps.map_for, "static_map")

E = TypeVar("E", bound=Enum)
SEARCH_MAX = 50
# How many past events and outcomes a platform page lists before linking to the full list.
PLATFORM_LIST_LIMIT = 10
# How long browsers keep a published problem's photo.
PHOTO_MAX_AGE = 3600
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


def _paginate(stmt, total_key: Any = None, **rows: Any):
    """One page of ``stmt`` (``?page=``); past the end is an empty page, not an error.
    ``total_key`` and ``rows`` (``item``, ``key``): see ``listing.ListPage``."""
    return listing.page_of(stmt, total_key=total_key, **rows)


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
        "public/platforms.html",
        page=_paginate(queries.platform_items(filters), ("platforms", filters),
                       item=queries.PlatformItem.from_row,
                       keys=queries.platform_items(filters, keys=True)),
        districts=districts, streets=streets, kinds=PlatformKind, district_id=district_id,
        street_id=street_id, kind=kind, demonstration=demonstration, search=search,
        filtered=any((district_id, kind, demonstration, search)),
    )


@bp.route("/platforms/<int:platform_id>")
@public
@shared_page
def platform(platform_id: int):
    found = queries.platform_row(platform_id)
    if found is None:
        abort(404)
    upcoming, past = queries.platform_events(found.id, utcnow(), PLATFORM_LIST_LIMIT)
    return render_template(
        "public/platform.html", platform=found, members=queries.platform_members(found.id),
        upcoming=upcoming, past=past,
        outcomes=queries.platform_outcomes(found.id, PLATFORM_LIST_LIMIT),
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
    search = _search_arg()
    now = utcnow()
    chosen = dict(when=when, district_id=district_id,
                  platform_id=for_platform.id if for_platform else None, q=search)
    page = _paginate(queries.event_items(now, **chosen), item=queries.EventItem.from_row,
                     keys=queries.event_items(now, **chosen, keys=True))
    return render_template("public/events.html", page=page, when=when,
                           districts=districts, district_id=district_id, platform=for_platform,
                           search=search)


@bp.route("/events/<int:event_id>")
@public
@shared_page
def event(event_id: int):
    found = queries.event_row(event_id)
    if found is None:
        abort(404)
    held = found.happened
    return render_template("public/event.html", event=found, now=utcnow(),
                           attendees=queries.event_attendees(found.id) if held else [],
                           photos=queries.event_photos(found.id) if held else [],
                           issues=queries.event_issues(found.id))


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
    search = _search_arg()
    platform_id = for_platform.id if for_platform else None
    chosen = dict(status=status, district_id=district_id, category=category,
                  platform_id=platform_id, q=search)
    page = _paginate(queries.outcome_items(**chosen), ("outcomes", *chosen.values()),
                     item=queries.OutcomeItem.from_row,
                     keys=queries.outcome_items(**chosen, keys=True))
    return render_template(
        "public/outcomes.html", page=page, districts=districts,
        district_id=district_id, status=status, statuses=queries.OUTCOME_STATUSES,
        category=category, categories=Category, platform=for_platform, search=search)


@bp.route("/issues/<reference>")
@public
@shared_page
def issue(reference: str):
    canonical = normalise_reference(reference)
    found = queries.issue_row(canonical)
    if found is None:
        abort(404)
    if canonical != reference:
        return redirect(url_for("public.issue", reference=canonical), 301)
    return render_template("public/issue.html", issue=found,
                           photos=queries.public_photos(found.id),
                           timeline=queries.public_timeline_rows(found.id))


# -- maps -------------------------------------------------------------------------------------


@bp.route("/maps/<filename>")
@public
def map_image(filename: str):
    """A composed map (public/maps.py), served from this site, never from the tile provider."""
    return maps.send(filename)


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


# -- about the programme, and the display mode ------------------------------------------------


@bp.route("/about")
@public
@shared_page
def about():
    return render_template("public/about.html")


@bp.route("/display", methods=["POST"])
@public
@csrf.exempt  # no token: public pages carry none, so that they stay shareable (page cache)
def display():
    """Turn 长者模式 on or off for this browser and go back to the page.

    A choice of how pages look, stored in a cookie of its own and nowhere else: a forged
    request could only enlarge the text. Still, cross-site posts are refused by the browser's
    own statement of where the request came from (Sec-Fetch-Site, else Origin), which a page
    on another site cannot forge.
    """
    fetched_from = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    if fetched_from not in (None, "same-origin", "none") or (
            fetched_from is None and origin and urlsplit(origin).netloc != request.host):
        abort(403)
    on = request.form.get("elder") == display_mode.ELDER_ON
    response = redirect(safe_next(request.form.get("next")) or url_for("main.index"), 303)
    if on:
        response.set_cookie(
            display_mode.ELDER_COOKIE, display_mode.ELDER_ON,
            max_age=display_mode.ELDER_COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
            secure=current_app.config.get("SESSION_COOKIE_SECURE", False))
    else:
        response.delete_cookie(display_mode.ELDER_COOKIE, httponly=True, samesite="Lax")
    return response


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

    # Where: the platform asked for in the link (?platform=) and, on POST, the one chosen; the
    # places found by a search (district, street or community name) or near the point the
    # browser gave ("near me": ?lat=&lon=, sent only when the resident taps the button).
    hinted = queries.active_platform(_int_arg("platform"))
    chosen = queries.active_platform(form.platform.data) if request.method == "POST" else hinted
    districts = queries.district_choices()
    district_id = _chosen("district", districts)
    if district_id is None and (chosen or hinted):
        district_id = (chosen or hinted).district_id
    search = _search_arg()
    point = submission.coordinates(request.args.get("lat"), request.args.get("lon"))
    nearby = submission.nearest_platforms(*point) if point else []
    if nearby:
        found = [near.platform for near in nearby]
        groups = {_("离您最近"): [(near.platform.id, _("%(name)s（约 %(distance)s）",
                                                       name=near.platform.name,
                                                       distance=_distance(near.metres)))
                                  for near in nearby]}
    else:
        found = submission.matching_platforms(district_id, search)
        groups = submission.grouped_choices(found)
    # The platforms asked for that the list leaves out, each once (by id: the list holds rows).
    listed, extras = {p.id for p in found}, []
    for extra in (hinted, chosen):
        if extra is not None and extra.id not in listed:
            listed.add(extra.id)
            extras.append(extra)
    choices = [*select_choices([("", _("请选择…"))])]
    if extras:
        choices += select_choices([(p.id, p.name) for p in extras],
                                  group=_("已选择"))
    for group, pairs in groups.items():
        choices += select_choices(pairs, group=group)
    form.platform.choices = choices
    form.subject.choices = select_choices(
        [("", _("不确定")), *((s.code, s.label) for s in subjects.offered())])
    if request.method == "GET":
        if hinted is not None:
            form.platform.data = hinted.id
        elif len(nearby) == 1 or (not nearby and len(found) == 1):
            form.platform.data = found[0].id
        form.subject.data = form.subject.data or ""

    uploads = [(upload.stream, upload.filename) for upload in request.files.getlist("photos")
               if upload and upload.filename]
    stored: list[str] = []  # photo files written, removed again if the commit fails

    def create() -> Any:
        cleaned = issue_photos.clean_uploads(uploads)
        issue = create_issue(
            platform=chosen, title=form.title.data, description=form.description.data,
            subject=form.subject.data or None, source=IssueSource.RESIDENT,
            submitter_name=form.name.data, submitter_phone=form.phone.data,
            sms_consent=bool(form.sms.data), needs_review=True,
            consent_version=PRIVACY_NOTICE_VERSION)
        stored.extend(issue_photos.attach(issue, cleaned))
        return issue

    if form.validate_on_submit():
        if chosen is None:
            form.platform.errors.append(_("请选择问题所在的地方"))
        else:
            try:
                saved = save(form, create, aliases=SUBMIT_FIELDS, rest=form.platform)
            except Exception:
                db.session.rollback()
                for name in stored:
                    images.remove(name)
                raise
            if saved:
                session["receipt"] = saved.value.tracking_token
                return redirect(url_for("public.receipt"), 303)
            for name in stored:
                images.remove(name)

    return render_template(
        "public/submit.html", form=form, districts=districts, district_id=district_id,
        search=search, platform_count=len(found) + len(extras), chosen=chosen,
        nearby=nearby, near=point is not None,
        photos_dropped=request.method == "POST" and bool(uploads),
        max_photos=current_app.config["SUBMISSION_MAX_PHOTOS"],
        max_photo_bytes=current_app.config["MAX_PHOTO_BYTES"],
        # The whole request must stay under MAX_CONTENT_LENGTH, or it is refused (413) before
        # any field is read and the typed text is lost: the page checks the photos' sum first,
        # leaving 256 KiB for the text fields.
        max_total_bytes=current_app.config["MAX_CONTENT_LENGTH"] - 256 * 1024,
    ), 422 if request.method == "POST" else 200


def _distance(metres: float) -> str:
    """"350 米" or "1.2 公里": rounded as a resident would say it."""
    if metres < 1000:
        return _("%(n)s 米", n=max(10, int(round(metres, -1))))
    return _("%(n)s 公里", n=format(metres / 1000, ".1f"))


@bp.route("/submit/receipt")
@public
def receipt():
    token = session.get("receipt")
    submitted = queries.issue_by_token(token) if token else None
    track_url = external_url("public.track_token", token=token) if submitted else None
    return _private(current_app.make_response(render_template(
        "public/receipt.html", issue=submitted, track_url=track_url,
        qr=tracking_qr(track_url) if track_url else None)))


def tracking_qr(url: str) -> str:
    """The tracking link as a QR code, an SVG data URI drawn here (no outside service)."""
    return segno.make(url, error="m").svg_data_uri(scale=5, border=2)


@bp.route("/problem-photos/<int:photo_id>")
@public
def problem_photo(photo_id: int):
    """A resident's photo of a problem: for staff who may see the problem always; for the
    public once the problem is published and unless staff withheld the photo."""
    found = db.session.get(IssuePhoto, photo_id)
    if found is None:
        abort(404)
    is_staff = current_user.is_authenticated and can_view_issue(current_user, found.issue)
    if not issue_photos.may_show(found, is_staff=is_staff):
        abort(404)  # not "forbidden": do not confirm that the photo exists
    path = images.path_of(found.stored_name)
    if not path.is_file():
        abort(404)
    public_now = found.shown_publicly
    response = send_file(path, mimetype=found.content_type, conditional=True,
                         max_age=PHOTO_MAX_AGE if public_now else 0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    if not public_now:
        response.headers["Cache-Control"] = "private, no-store"
    return response


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
        form=form if ratable else None, next_step=submission.next_step(found, utcnow())),
        status))
    return _private(response)
