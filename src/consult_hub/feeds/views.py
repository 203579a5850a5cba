"""iCal and Atom feeds."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from consult_hub.auth.decorators import public
from consult_hub.core.i18n import city_name
from consult_hub.core.links import external_url, site_url
from consult_hub.core.pagecache import shared_page
from consult_hub.core.timefmt import local_zone
from consult_hub.extensions import db
from consult_hub.feeds import atom, ical, queries
from consult_hub.platforms.models import Platform
from consult_hub.public import queries as public_queries

bp = Blueprint("feeds", __name__, url_prefix="/feeds")

ICAL_TYPE = "text/calendar; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"
# Rendered VEVENTs kept per application (about 1.3 kB each with its key, so some 13 MB): the
# city's calendar (at most queries.MAX_EVENTS) and the districts' and platforms' asked most.
CACHED_VEVENTS = 10_000


@bp.route("/")
@public
@shared_page
def index():
    # One link built and one label translated, then each district's code and name filled in:
    # a nation lists 3,000 district calendars here.
    marker = "0000000000"
    link = external_url("feeds.district_events", code=marker)
    label = _("%(name)s协商议事活动日历", name=marker)
    calendars = [(link.replace(marker, quote(d.code)), label.replace(marker, d.name))
                 for d in public_queries.district_choices()]
    return render_template("feeds/index.html", calendars=calendars)


@bp.route("/events.ics")
@public
@shared_page
def city_events():
    name = _("%(city)s协商议事活动", city=city_name())
    return _calendar(name, queries.calendar_entries(), "events.ics")


@bp.route("/districts/<code>.ics")
@public
@shared_page
def district_events(code: str):
    district = queries.district_by_code(code)
    if district is None:
        abort(404)
    name = _("%(name)s协商议事活动", name=district.name)
    return _calendar(name, queries.calendar_entries(district_id=district.id), f"{code}.ics")


@bp.route("/platforms/<int:platform_id>.ics")
@public
@shared_page
def platform_events(platform_id: int):
    platform = db.get_or_404(Platform, platform_id)
    name = _("%(name)s协商议事活动", name=platform.name)
    return _calendar(name, queries.calendar_entries(platform_id=platform.id),
                     f"platform-{platform.id}.ics")


@bp.route("/outcomes.atom")
@public
@shared_page
def outcomes():
    city = city_name()
    info = atom.FeedInfo(
        title=_("%(city)s问题办理成果", city=city),
        author=_("%(city)s政协", city=city),
        domain=_feed_domain(),
        self_url=external_url("feeds.outcomes"),
        site_url=_public_url("public.outcomes") or external_url("main.index"),
        lang="en" if str(get_locale()) == "en" else "zh-CN",
    )
    body = atom.build_outcomes_feed(
        queries.latest_outcomes(), info,
        lambda reference: _public_url("public.issue", reference=reference))
    return Response(body, content_type=ATOM_TYPE)


def _calendar(name: str, entries: list, filename: str) -> Response:
    # One link built, then the id spliced in: building 2,000 URLs one by one cost more than
    # the rest of the feed.
    sample = _public_url("public.event", event_id=1)
    head = sample[:-1] if sample and sample.endswith("/1") else None
    rendering = ical.Rendering(
        zone=local_zone(), uid_domain=_feed_domain(),
        event_url=(lambda event_id: f"{head}{event_id}") if head else (
            lambda event_id: _public_url("public.event", event_id=event_id)))
    body = ical.build_calendar(entries, name=name, rendering=rendering,
                               load=queries.vevent_rows, cache=vevent_cache())
    response = Response(body, content_type=ICAL_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def vevent_cache() -> ical.VEventCache:
    """This application's rendered VEVENTs (each app may read another database)."""
    cache = current_app.extensions.get("feeds.vevents")
    if cache is None:
        cache = current_app.extensions.setdefault("feeds.vevents",
                                                  ical.VEventCache(CACHED_VEVENTS))
    return cache


def _feed_domain() -> str:
    """The name in UIDs and tag: ids: the configured site, not whichever host was asked."""
    return urlsplit(site_url()).hostname or "localhost"


def _public_url(endpoint: str, **values: object) -> str | None:
    """An absolute link to a public page, or None where this site has no such page."""
    if endpoint not in current_app.view_functions:
        return None
    return external_url(endpoint, **values)
