"""iCalendar (RFC 5545) for subscribing to events: one VEVENT per event, times in the local zone."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from zoneinfo import ZoneInfo

import icalendar
from flask_babel import gettext as _

from consult_hub.events.models import Event, EventStatus

PRODID = "-//Consult Hub//一线协商·共同缔造//ZH"
REFRESH = timedelta(hours=6)  # how often a calendar client should fetch the feed again


def event_uid(event_id: int, domain: str) -> str:
    """The event's identity in every calendar that ever imported it; it must never change."""
    return f"event-{event_id}@{domain}"


def build_calendar(
    events: Iterable[Event],
    *,
    name: str,
    zone: ZoneInfo,
    uid_domain: str,
    event_url: Callable[[int], str | None],
) -> bytes:
    """Serialise ``events`` as one VCALENDAR with the zone's VTIMEZONE."""
    calendar = icalendar.Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone.key)
    calendar.add("x-published-ttl", "PT6H")  # the same interval, for clients that read this one
    calendar.add("refresh-interval", REFRESH)
    calendar.add_component(icalendar.Timezone.from_tzid(zone.key))
    for event in events:
        calendar.add_component(_vevent(event, zone, uid_domain, event_url(event.id)))
    return calendar.to_ical()


def _vevent(event: Event, zone: ZoneInfo, uid_domain: str, url: str | None) -> icalendar.Event:
    vevent = icalendar.Event()
    vevent.add("uid", event_uid(event.id, uid_domain))
    vevent.add("dtstamp", event.updated_at)
    vevent.add("created", event.created_at)
    vevent.add("last-modified", event.updated_at)
    vevent.add("sequence", event.sequence)
    vevent.add("dtstart", event.starts_at.astimezone(zone))
    vevent.add("dtend", event.ends_at.astimezone(zone))
    vevent.add("summary", event.topic)
    vevent.add("location", event.location)
    vevent.add("description", _description(event))
    vevent.add("categories", [event.category.label])
    cancelled = event.status is EventStatus.CANCELLED
    vevent.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    if url:
        vevent.add("url", url)
    return vevent


def _description(event: Event) -> str:
    """Platform, format and agenda: what a resident needs, nothing about people."""
    lines = [
        _("协商平台:%(name)s", name=event.platform.name),
        _("地址:%(address)s", address=event.platform.address),
        _("形式:%(format)s", format=event.format.label),
    ]
    if event.status is EventStatus.CANCELLED:
        lines.append(_("本次活动已取消:%(reason)s", reason=event.cancel_reason or ""))
    if event.agenda:
        lines += ["", _("议程:"), event.agenda.strip()]
    return "\n".join(lines)
