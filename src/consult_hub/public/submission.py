"""Finding where a resident's problem goes, in their terms: a street or community (or a platform's
name or address) to search for, or "near me" from the coordinates their browser gave.

A platform is what receives the problem; residents think in places, so a search for a street
or community name finds the platforms sitting there, and the list is grouped by street.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased, joinedload

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.db import contains_text
from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import local_today
from consult_hub.core.workdays import add_workdays
from consult_hub.extensions import db
from consult_hub.issues.models import PUBLIC_STATUS, RATEABLE_STATUSES, IssueStatus
from consult_hub.platforms.models import Platform, PlatformStatus
from consult_hub.platforms.queries import PlatformFilters

# How many platforms "near me" lists, and how far it looks (degrees of latitude: 0.1 is about
# 11 km) before widening: a bounding box keeps the query to the index-free rows near the point.
NEAREST = 5
SEARCH_BOXES = (0.05, 0.2, 1.0)
EARTH_RADIUS_M = 6_371_000


@dataclass(frozen=True)
class Nearby:
    platform: Platform
    metres: float


@dataclass(frozen=True, slots=True)
class PlatformChoice:
    """An active platform as the submission form lists it: under its street, with its community."""

    id: int
    name: str
    district_name: str
    street_name: str | None  # the community's street, or the platform's own area
    street_code: str
    community: str | None  # the community it sits in, when it sits in one under a street


@cache
def _choices_statement() -> sa.Select[Any]:
    """A platform's row for the list, with its district, area and the area's parent (built once:
    the aliases cost more to build than the query to run)."""
    district, area, parent = aliased(Area), aliased(Area), aliased(Area)
    return (sa.select(Platform.id, Platform.name, district.name, area.name, area.level,
                      area.code, parent.name, parent.code)
            .join(district, district.id == Platform.district_id)
            .outerjoin(area, area.id == Platform.area_id)
            .outerjoin(parent, parent.id == area.parent_id))


def matching_platforms(district_id: int | None, search: str = "") -> list[PlatformChoice]:
    """Active platforms of the district (or anywhere, with a search) whose name, address or
    street or community name holds ``search``; by street, community and name.

    Read as plain rows: a district lists a hundred platforms or more, and loading each as a
    Platform with its district, area and street took a third of the form's time."""
    if not district_id and not search:
        return []
    where = [Platform.status == PlatformStatus.ACTIVE]
    if district_id:
        where.append(Platform.district_id == district_id)
    if search:
        street = aliased(Area)
        places = sa.select(Area.id).outerjoin(street, street.id == Area.parent_id).where(
            sa.or_(contains_text(Area.name, search), contains_text(street.name, search)))
        by_text = sa.or_(*PlatformFilters(q=search).clauses())
        where.append(sa.or_(by_text, Platform.area_id.in_(places)))
    rows = db.session.execute(_choices_statement().where(*where))
    found = []
    for (ident, name, district_name, area_name, level, area_code, parent_name,
         parent_code) in rows:
        # The street: a community's parent, else the platform's own area.
        in_community = level == AreaLevel.COMMUNITY and parent_name is not None
        found.append(PlatformChoice(
            id=ident, name=name, district_name=district_name,
            street_name=parent_name if in_community else area_name,
            street_code=(parent_code if in_community else area_code) or "",
            community=area_name if in_community else None))
    return sorted(found, key=lambda p: (p.street_code, p.name, p.id))


def grouped_choices(platforms: list[PlatformChoice]) -> dict[str, list[tuple[int, str]]]:
    """``{street name: [(id, "name（community）"), …]}`` for a select with option groups."""
    groups: dict[str, list[tuple[int, str]]] = {}
    in_community = _("%(name)s（%(community)s）")  # translated once, filled per platform
    for platform in platforms:
        label = platform.name
        if platform.community is not None:
            label = in_community % {"name": platform.name, "community": platform.community}
        key = (f"{platform.district_name} · {platform.street_name}" if platform.street_name
               else platform.district_name)
        groups.setdefault(key, []).append((platform.id, label))
    return groups


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres (haversine): exact enough for "about 800 m"."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def nearest_platforms(latitude: float, longitude: float, limit: int = NEAREST) -> list[Nearby]:
    """The active platforms with coordinates closest to the point, nearest first."""
    found: list[Nearby] = []
    for box in SEARCH_BOXES:
        # Longitude degrees shrink towards the poles: widen the box to stay square.
        lon_box = box / max(math.cos(math.radians(latitude)), 0.01)
        rows = db.session.scalars(
            sa.select(Platform).where(
                Platform.status == PlatformStatus.ACTIVE,
                Platform.latitude.between(latitude - box, latitude + box),
                Platform.longitude.between(longitude - lon_box, longitude + lon_box))
            .options(joinedload(Platform.district), joinedload(Platform.area))).unique().all()
        found = sorted((Nearby(p, distance_m(latitude, longitude, p.latitude, p.longitude))
                        for p in rows), key=lambda n: (n.metres, n.platform.id))
        # Enough, and the last one inside the box's inscribed circle: nothing outside is nearer.
        if len(found) >= limit and found[limit - 1].metres <= box * 111_000:
            break
    return found[:limit]


def coordinates(lat: str | None, lon: str | None) -> tuple[float, float] | None:
    """The point given as ``lat``/``lon`` query values, or None when absent or not a point."""
    try:
        latitude, longitude = float(lat or ""), float(lon or "")
    except ValueError:
        return None
    if not (math.isfinite(latitude) and math.isfinite(longitude)):
        return None
    if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
        return None
    return latitude, longitude


# -- what happens next ------------------------------------------------------------------------


@dataclass(frozen=True)
class NextStep:
    """What the resident can expect next, in plain words, and by when (a local date) if known."""

    text: str
    by: date | None = None


def next_step(issue: Any, now: datetime) -> NextStep | None:
    """The next thing that happens to ``issue``, as the tracking page says it."""
    status = PUBLIC_STATUS.get(issue.status, issue.status)
    if status is IssueStatus.PENDING:
        days = int(current_app.config["REVIEW_WORKING_DAYS"])
        by = add_workdays(local_today(issue.created_at), days)
        return NextStep(_("工作人员会在 %(n)s 个工作日内阅读并受理您的问题："
                          "写好公开的标题和摘要后公开，或者说明不予受理的理由。", n=days), by)
    if status is IssueStatus.RECEIVED:
        return NextStep(_("区政协工作人员会把问题交给负责的承办单位办理，并定下答复期限。"))
    if status in (IssueStatus.ASSIGNED, IssueStatus.ACKNOWLEDGED, IssueStatus.IN_PROGRESS):
        return NextStep(_("承办单位正在办理，会在期限前答复；答复经区政协确认后在这里公开。"),
                        issue.due_on)
    if status is IssueStatus.PLANNED:
        return NextStep(_("问题已列入计划，计划完成日期见下。完成后会在这里更新。"),
                        issue.planned_on)
    if status in RATEABLE_STATUSES and issue.satisfaction is None:
        return NextStep(_("问题已经办结。请在下面评价办理结果；选择“不满意”，问题会重新办理。"))
    return None
