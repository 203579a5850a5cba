"""The monthly digest of inactive platforms: one message per district, one for the city.

The programme holds about 1.2 events per platform a year, so "no held event for a while" is
true of many platforms at once: one message per platform buried everything else in a district
admin's inbox (63 of 75 unread on the demo's first morning). A digest says it once a month, as a
list with each platform's last held event.

A digest keeps its list in ``Notification.data`` (plain JSON: ids, names, ISO dates) so that the
inbox renders it with a link per platform, in the reader's language at read time; ``body`` is
the same list as text, with addresses, for the email.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import ngettext

from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import format_date, format_month
from consult_hub.notifications.operations import Message
from consult_hub.notifications.recipients import link

KIND = "inactive_digest"
# The city's digest names the platforms too while there are at most this many (a city's few
# hundred, each district's behind a disclosure); past it, a nation's tens of thousands, it
# gives each district's count only: the names are in each district's own digest.
CITY_LIST_LIMIT = 1000


# -- writing ----------------------------------------------------------------------------------


def platform_entry(platform_id: int, name: str, last_held: date | None) -> dict[str, Any]:
    return {"id": platform_id, "name": name,
            "last": last_held.isoformat() if last_held else None}


def district_data(*, district_id: int, district: str, days: int, as_of: date,
                  platforms: list[dict[str, Any]]) -> dict[str, Any]:
    return {"scope": "district", "district_id": district_id, "district": district,
            "days": days, "as_of": as_of.isoformat(), "platforms": platforms}


def city_data(*, days: int, as_of: date, districts: list[dict[str, Any]]) -> dict[str, Any]:
    """``districts``: ``{"id", "name", "running", "platforms"}`` each, in the areas' order; each
    gets its ``count``, and loses its list when the city's lists together pass the limit."""
    listed = sum(len(d["platforms"]) for d in districts) <= CITY_LIST_LIMIT
    return {"scope": "city", "days": days, "as_of": as_of.isoformat(), "districts": [
        {**d, "count": len(d["platforms"]), "platforms": d["platforms"] if listed else []}
        for d in districts]}


def _last_text(last: str | None) -> str:
    if last is None:
        return _("从未举行活动")
    return _("最近一次活动 %(date)s", date=format_date(date.fromisoformat(last)))


def _intro(digest: Digest) -> str:
    if digest.scope == "city":
        return ngettext(
            "截至%(date)s，全市有%(num)s个运行中的平台超过%(days)s天没有举行协商议事活动，各区如下：",
            "截至%(date)s，全市有%(num)s个运行中的平台超过%(days)s天没有举行协商议事活动，各区如下：",
            digest.total, date=format_date(digest.as_of), days=digest.days)
    return ngettext(
        "截至%(date)s，%(district)s有%(num)s个运行中的平台超过%(days)s天没有举行协商议事活动，"
        "最久的在前：",
        "截至%(date)s，%(district)s有%(num)s个运行中的平台超过%(days)s天没有举行协商议事活动，"
        "最久的在前：",
        digest.total, date=format_date(digest.as_of), district=digest.district,
        days=digest.days)


def district_line(name: str, count: int, running: int) -> str:
    return ngettext("%(district)s：%(num)s个（运行中%(running)s个）",
                    "%(district)s：%(num)s个（运行中%(running)s个）",
                    count, district=name, running=running)


def compose(data: dict[str, Any]) -> Message:
    """The digest as a message in the current locale: subject, the list as text, a link.

    A district's text names every platform with its own address (it is what the email shows);
    the city's names the districts with their counts, the platforms being in the inbox and on
    the dashboard (a city's list runs to hundreds)."""
    digest = Digest.read(data)
    month = format_month(digest.as_of.replace(day=1), with_year=True)
    if digest.scope == "city":
        subject = _("%(month)s不活跃平台汇总：全市%(n)s个", month=month, n=digest.total)
        lines = [d.summary for d in digest.districts]
    else:
        subject = _("%(month)s不活跃平台汇总：%(district)s%(n)s个", month=month,
                    district=digest.district, n=digest.total)
        lines = []
        for number, platform in enumerate(digest.platforms, start=1):
            lines.append(f"{number}. " + _("%(name)s：%(last)s", name=platform.name,
                                             last=_last_text(platform.last)))
            address = link("platforms.detail", platform_id=platform.id)
            if address:
                lines.append(f"   {address}")
    body = "\n".join([_intro(digest), "", *lines])
    return Message(subject, body, link("main.dashboard", _anchor="inactive-h"), data)


# -- reading (the inbox) ----------------------------------------------------------------------


@dataclass(frozen=True)
class DigestPlatform:
    id: int
    name: str
    last: str | None  # ISO date of the last held event; None: never held one

    @property
    def last_date(self) -> date | None:
        return date.fromisoformat(self.last) if self.last else None


@dataclass(frozen=True)
class DigestDistrict:
    id: int
    name: str
    running: int
    count: int
    platforms: tuple[DigestPlatform, ...]  # empty past CITY_LIST_LIMIT

    @property
    def summary(self) -> str:
        return district_line(self.name, self.count, self.running)


@dataclass(frozen=True)
class Digest:
    scope: str  # "district" or "city"
    days: int
    as_of: date
    district: str | None
    platforms: tuple[DigestPlatform, ...]  # a district's
    districts: tuple[DigestDistrict, ...]  # the city's

    @property
    def total(self) -> int:
        if self.scope == "city":
            return sum(d.count for d in self.districts)
        return len(self.platforms)

    @property
    def intro(self) -> str:
        return _intro(self)

    @classmethod
    def read(cls, data: dict[str, Any]) -> Digest:
        def platforms(items: list[dict[str, Any]]) -> tuple[DigestPlatform, ...]:
            return tuple(DigestPlatform(p["id"], p["name"], p.get("last")) for p in items)

        return cls(
            scope=data.get("scope", "district"), days=data["days"],
            as_of=date.fromisoformat(data["as_of"]), district=data.get("district"),
            platforms=platforms(data.get("platforms", [])),
            districts=tuple(DigestDistrict(
                d["id"], d["name"], d.get("running", 0),
                d.get("count", len(d.get("platforms", []))), platforms(d.get("platforms", [])))
                for d in data.get("districts", [])),
        )


def read(notification: Any) -> Digest | None:
    """The digest a notification carries, or None (any other reminder; a malformed one)."""
    if notification.kind != KIND or not isinstance(notification.data, dict):
        return None
    try:
        return Digest.read(notification.data)
    except (KeyError, TypeError, ValueError):
        return None
