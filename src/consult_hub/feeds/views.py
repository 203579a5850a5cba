"""iCal and Atom feeds.

Both answer ``Last-Modified`` besides the ETag (calendar clients often send only
``If-Modified-Since``): the last change to what residents can see (``site_versions``), the
moment this process started (a new release may write the same rows differently) or, for a
calendar, the moment its latest event left its window, whichever came last. That can be
later than the feed's own last change, never earlier.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, abort, current_app, g, render_template
from flask_babel import get_locale

from consult_hub.auth.decorators import public
from consult_hub.core.db import utcnow
from consult_hub.core.i18n import city_name
from consult_hub.core.i18n import gettext as _
from consult_hub.core.links import external_url, site_url, webcal_url
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
STARTED = datetime.now(UTC).replace(microsecond=0)


@bp.route("/")
@public
@shared_page
def index():
    # One link built and one label translated, then each district's code and name filled in:
    # a nation lists 3,000 district calendars here. Each calendar twice: the https address
    # (download once, or paste into "add calendar from URL") and its webcal:// twin (a tap
    # subscribes on a phone).
    marker = "0000000000"
    link = external_url("feeds.district_events", code=marker)
    label = _("%(name)s协商议事活动日历", name=marker)
    calendars = []
    for d in public_queries.district_choices():
        url = link.replace(marker, quote(d.code))
        calendars.append((url, webcal_url(url), label.replace(marker, d.name)))
    city = external_url("feeds.city_events")
    return render_template("feeds/index.html", calendars=calendars, city_calendar=city,
                           city_subscription=webcal_url(city))


@bp.route("/events.ics")
@public
@shared_page
def city_events():
    name = _("%(city)s协商议事活动", city=city_name())
    return _calendar(name, "events.ics")


@bp.route("/districts/<code>.ics")
@public
@shared_page
def district_events(code: str):
    district = queries.district_by_code(code)
    if district is None:
        abort(404)
    name = _("%(name)s协商议事活动", name=district.name)
    return _calendar(name, f"{code}.ics", district_id=district.id)


@bp.route("/platforms/<int:platform_id>.ics")
@public
@shared_page
def platform_events(platform_id: int):
    platform = db.get_or_404(Platform, platform_id)
    name = _("%(name)s协商议事活动", name=platform.name)
    return _calendar(name, f"platform-{platform.id}.ics", platform_id=platform.id)


@bp.route("/outcomes.atom")
@public
@shared_page
def outcomes():
    changed = _last_change()
    city = city_name()
    info = atom.FeedInfo(
        title=_("%(city)s问题办理成果", city=city),
        author=_("%(city)s政协", city=city),
        domain=_feed_domain(),
        self_url=external_url("feeds.outcomes"),
        site_url=_public_url("public.outcomes") or external_url("main.index"),
        lang="en" if str(get_locale()) == "en" else "zh-CN",
    )
    body = atom.build_outcomes_feed(queries.latest_outcomes(), info,
                                    _public_links("public.issue", "reference", "WH00-00000"))
    response = Response(body, content_type=ATOM_TYPE)
    response.last_modified = changed
    return response


def _last_change(*later: datetime | None) -> datetime:
    """The feed's Last-Modified (see the module's docstring), in whole seconds, never ahead."""
    now = utcnow()
    found = max((moment for moment in (queries.site_changed_at(), STARTED, *later)
                 if moment is not None), default=STARTED)
    return min(found, now).replace(microsecond=0)


def _calendar(name: str, filename: str, *, platform_id: int | None = None,
              district_id: int | None = None) -> Response:
    now = utcnow()
    changed = _last_change(queries.last_left_at(platform_id=platform_id,
                                                district_id=district_id, now=now))
    entries = queries.calendar_entries(platform_id=platform_id, district_id=district_id,
                                       now=now)
    if len(entries) >= queries.MAX_EVENTS:
        changed = now.replace(microsecond=0)  # events may have fallen off the end unwritten
    rendering = ical.Rendering(zone=local_zone(), uid_domain=_feed_domain(),
                               event_url=_public_links("public.event", "event_id", 987654321))
    body = ical.build_calendar(entries, name=name, rendering=rendering,
                               load=queries.vevent_rows, cache=vevent_cache(), generated=now)
    response = Response(body, content_type=ICAL_TYPE)
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    # The DTSTAMPs say when the calendar was generated; the ETag (core/http.py) is of the rest.
    g.content_etag = ical.content_tag(body, now)
    response.last_modified = changed
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


def _public_links(endpoint: str, name: str, marker: Any) -> Callable[[Any], str | None]:
    """``_public_url`` of ``endpoint`` for any value of its argument ``name`` (an id, a
    receipt code: nothing to quote), made by splicing the value into one link built with
    ``marker``: building a feed's links one by one (a calendar's 2,000 events, the outcome
    feed's 50) cost more than the rest of it."""
    sample = _public_url(endpoint, **{name: marker})
    if sample is None or sample.count(str(marker)) != 1:
        return lambda value: _public_url(endpoint, **{name: value})
    head, tail = sample.split(str(marker))
    return lambda value: f"{head}{value}{tail}"
