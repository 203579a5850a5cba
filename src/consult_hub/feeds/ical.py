"""iCalendar (RFC 5545) for subscribing to events: one VEVENT per event, times in the local zone.

A city's calendar holds up to two thousand events, nearly all unchanged since the last time
it was asked for. Each event's VEVENT is therefore kept, rendered, in a :class:`VEventCache`
under everything its text is made of: the event's and its platform's row identity (id,
version counter, last change) and the :class:`Rendering` (locale's words, time zone, UID
domain, link base). A change to any of them is a different key, so a cached text is never
stale; only the rows no longer cached are read in full and written again.

The one line of a VEVENT that is not the event's is DTSTAMP: with METHOD:PUBLISH it is when
this calendar was generated (RFC 5545 3.8.7.2), so it is written in front of each cached
text as the calendar is put together. The event's own last change is LAST-MODIFIED.
"""

from __future__ import annotations

import hashlib
import itertools
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from flask_babel import get_translations

from consult_hub.core.categories import Category
from consult_hub.core.i18n import N_
from consult_hub.events.models import EventAttendance, EventFormat, EventStatus

PRODID = "-//Consult Hub//一线协商·共同缔造//ZH"
REFRESH = timedelta(hours=6)  # how often a calendar client should fetch the feed again

# A row's identity, as queries.calendar_entries gives it: the event's id first.
EntryKey = tuple[Hashable, ...]
# Full rows of the events whose ids are given, each with its identity (as above).
Loader = Callable[[list[int]], Iterable[tuple[EntryKey, Any]]]


def event_uid(event_id: int, domain: str) -> str:
    """The event's identity in every calendar that ever imported it; it must never change."""
    return f"event-{event_id}@{domain}"


class Rendering:
    """Everything besides the event's own row that its VEVENT text is made of.

    ``key`` holds all of it as plain values (the words themselves, not just the locale's name),
    so two renderings with equal keys write the same text for the same row.
    """

    def __init__(self, *, zone: ZoneInfo, uid_domain: str,
                 event_url: Callable[[int], str | None], words: _Words | None = None) -> None:
        self.zone = zone
        self.tzid = f";TZID={zone.key}"
        self.uid_domain = uid_domain
        self.event_url = event_url
        self.words = words or _Words.now()
        # Links are built by one rule from the id, so the link of one event stands for all.
        self.key: Hashable = (zone.key, uid_domain, event_url(1), self.words.key)


class VEventCache:
    """Rendered VEVENTs (UTF-8) by rendering and row identity; the least recently used go.

    One per application (two apps in one process may read different databases). Thread-safe.
    """

    # Locales × hosts asked. Past this the least recently used rendering is forgotten; its
    # texts, unreachable, age out of the cache like any other.
    MAX_RENDERINGS = 16

    def __init__(self, size: int) -> None:
        self.size = size
        self._lock = threading.Lock()
        self._renderings: OrderedDict[Hashable, int] = OrderedDict()
        self._slots = itertools.count()
        self._texts: OrderedDict[tuple[int, EntryKey], bytes] = OrderedDict()

    def __len__(self) -> int:
        return len(self._texts)

    def clear(self) -> None:
        with self._lock:
            self._renderings.clear()
            self._texts.clear()

    def get_many(self, rendering: Rendering, keys: Sequence[EntryKey]) -> list[bytes | None]:
        with self._lock:
            slot = self._renderings.get(rendering.key)
            if slot is None:
                return [None] * len(keys)
            self._renderings.move_to_end(rendering.key)
            texts, found = self._texts, []
            get, touch = texts.get, texts.move_to_end
            for key in keys:
                text = get((slot, key))
                if text is not None:
                    touch((slot, key))
                found.append(text)
            return found

    def put_many(self, rendering: Rendering, items: Iterable[tuple[EntryKey, bytes]]) -> None:
        with self._lock:
            slot = self._renderings.get(rendering.key)
            if slot is None:
                slot = self._renderings[rendering.key] = next(self._slots)
                if len(self._renderings) > self.MAX_RENDERINGS:
                    self._renderings.popitem(last=False)
            texts = self._texts
            for key, text in items:
                texts[(slot, key)] = text
                texts.move_to_end((slot, key))
            while len(texts) > self.size:
                texts.popitem(last=False)


def build_calendar(entries: Sequence[EntryKey], *, name: str, rendering: Rendering,
                   load: Loader, cache: VEventCache | None = None,
                   generated: datetime | None = None) -> bytes:
    """One VCALENDAR with the zone's VTIMEZONE and a VEVENT per entry, in the entries' order.

    ``entries`` name the events by identity (id first); ``load`` reads the full rows of those
    not in ``cache``. ``generated`` (now, by default) is every VEVENT's DTSTAMP. Written
    directly (RFC 5545 escaping and line folding) rather than through the icalendar package's
    object model, which took about a millisecond per event. The tests read every feed back
    with the icalendar parser, ical.js and vobject.
    """
    zone = rendering.zone
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{_text(PRODID)}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{_text(name)}",
        f"X-WR-TIMEZONE:{zone.key}",
        "X-PUBLISHED-TTL:PT6H",  # the same interval, for clients that read this one
        f"REFRESH-INTERVAL;VALUE=DURATION:{_duration(REFRESH)}",
    ]
    head = "".join(_fold(line) + "\r\n" for line in lines) + _vtimezone(zone.key)
    texts = cache.get_many(rendering, entries) if cache is not None else [None] * len(entries)
    missing = [key[0] for key, text in zip(entries, texts, strict=True) if text is None]
    if missing:
        # Read now, the rows may be newer than ``entries``: each text goes under its own row's key.
        fresh = {key[0]: (key, _vevent(row, rendering).encode("utf-8"))
                 for key, row in load(missing)}
        if cache is not None:
            cache.put_many(rendering, fresh.values())
        texts = [text if text is not None else fresh.get(key[0], (None, b""))[1]
                 for key, text in zip(entries, texts, strict=True)]
    begin = stamp_line(generated or datetime.now(UTC))
    return b"".join([head.encode("utf-8"), *(part for text in texts if text
                                             for part in (begin, text)),
                     b"END:VCALENDAR\r\n"])


def stamp_line(generated: datetime) -> bytes:
    """What opens each VEVENT: BEGIN and the DTSTAMP of the calendar generated at ``generated``."""
    return f"BEGIN:VEVENT\r\nDTSTAMP:{_utc(generated)}\r\n".encode("ascii")


def content_tag(body: bytes, generated: datetime) -> str:
    """A digest of a calendar as generated at ``generated``, its DTSTAMPs aside: the same for
    the same events, whenever generated (an ETag that changed every second would never let
    a client revalidate)."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(body.replace(stamp_line(generated), b"BEGIN:VEVENT\r\n"))
    return digest.hexdigest()


def _vevent(event: Any, rendering: Rendering) -> str:
    """One VEVENT from a row with the event's columns and ``platform_name``,
    ``platform_address``; without its first lines (``stamp_line``), which are the calendar's."""
    zone, tzid, words = rendering.zone, rendering.tzid, rendering.words
    url = rendering.event_url(event.id)
    # Fixed-width ASCII lines need no folding; only those carrying text or links may.
    lines = [
        _fold(f"UID:{_text(event_uid(event.id, rendering.uid_domain))}"),
        f"CREATED:{_utc(event.created_at)}",
        f"LAST-MODIFIED:{_utc(event.updated_at)}",  # the event's own last change
        f"SEQUENCE:{int(event.sequence or 0)}",
        f"DTSTART{tzid}:{event.starts_at.astimezone(zone):%Y%m%dT%H%M%S}",
        f"DTEND{tzid}:{event.ends_at.astimezone(zone):%Y%m%dT%H%M%S}",
        _fold(f"SUMMARY:{_text(event.topic)}"),
        _fold(f"LOCATION:{_text(event.location)}"),
        _fold(f"DESCRIPTION:{_text(_description(event, words))}"),
        _fold(f"CATEGORIES:{_text(words.categories[event.category])}"),
        f"STATUS:{'CANCELLED' if event.status is EventStatus.CANCELLED else 'CONFIRMED'}",
    ]
    if url:
        lines.append(_fold(f"URL:{url}"))
    lines.append("END:VEVENT\r\n")
    return "\r\n".join(lines)


_SPECIAL = re.compile(r"[\x00-\x1f\\;,]")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f]")  # RFC 5545 forbids them (tab stays)


def _text(value: str | None) -> str:
    """A TEXT value: backslash, semicolon, comma and newline escaped, other controls dropped."""
    text = value or ""
    if not _SPECIAL.search(text):  # most values: nothing to do
        return text
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROLS.sub("", text)
    return (text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\n", "\\n"))


def _fold(line: str) -> str:
    """Fold a content line at 75 octets, never inside a UTF-8 character (RFC 5545 3.1)."""
    if len(line) <= 18 or (len(line) <= 75 and line.isascii()):  # 18 characters fit in 75 octets
        return line
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line
    parts, start, limit = [], 0, 75
    while len(data) - start > limit:
        cut = start + limit
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: back to the character's start
            cut -= 1
        parts.append(data[start:cut])
        start, limit = cut, 74  # continuation lines start with a space
    parts.append(data[start:])
    return b"\r\n ".join(parts).decode("utf-8")


def _utc(value: datetime) -> str:
    return f"{value.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _duration(value: timedelta) -> str:
    hours, seconds = divmod(int(value.total_seconds()), 3600)
    return f"PT{hours}H" + (f"{seconds // 60}M" if seconds else "")


@lru_cache(maxsize=8)
def _vtimezone(key: str) -> str:
    """The zone's VTIMEZONE, built once by the icalendar package."""
    return icalendar.Timezone.from_tzid(key).to_ical().decode("utf-8")


# Marked for the catalogue here; translated once per calendar (gettext per event was the
# largest cost of a city's feed).
PLATFORM_LINE = N_("协商平台：%(name)s")
ADDRESS_LINE = N_("地址：%(address)s")
FORMAT_LINE = N_("形式：%(format)s")
CANCELLED_LINE = N_("本次活动已取消：%(reason)s")
AGENDA_LINE = N_("议程：")
ATTENDANCE_LINE = N_("居民能否参加：%(attendance)s")
ATTENDANCE_NOTE_LINE = N_("参加方式：%(note)s")


@dataclass(frozen=True)
class _Words:
    """The calendar's fixed words in the current locale; ``key`` is all of them, hashable."""

    platform: str
    address: str
    format: str
    cancelled: str
    agenda: str
    formats: dict[EventFormat, str]
    categories: dict[Category, str]
    attendance: str = ""
    attendance_note: str = ""
    attendances: dict[EventAttendance, str] | None = None

    @classmethod
    def now(cls) -> _Words:
        tr = get_translations().gettext
        return cls(tr(PLATFORM_LINE), tr(ADDRESS_LINE), tr(FORMAT_LINE), tr(CANCELLED_LINE),
                   tr(AGENDA_LINE), {f: str(f.label) for f in EventFormat},
                   {c: str(c.label) for c in Category}, tr(ATTENDANCE_LINE),
                   tr(ATTENDANCE_NOTE_LINE), {a: str(a.label) for a in EventAttendance})

    @property
    def key(self) -> tuple[str, ...]:
        return (self.platform, self.address, self.format, self.cancelled, self.agenda,
                *self.formats.values(), *self.categories.values(), self.attendance,
                self.attendance_note, *(self.attendances or {}).values())


def _description(event: Any, words: _Words) -> str:
    """Platform, format and agenda: what a resident needs, nothing about people."""
    lines = [
        words.platform % {"name": event.platform_name},
        words.address % {"address": event.platform_address},
        words.format % {"format": words.formats[event.format]},
    ]
    # Whether and how residents can come, only where the coordinator said (null: never asked).
    if event.attendance is not None and words.attendances:
        lines.append(words.attendance % {"attendance": words.attendances[event.attendance]})
    if event.attendance_note:
        lines.append(words.attendance_note % {"note": event.attendance_note})
    if event.status is EventStatus.CANCELLED:
        lines.append(words.cancelled % {"reason": event.cancel_reason or ""})
    if event.agenda:
        lines += ["", words.agenda, event.agenda.strip()]
    return "\n".join(lines)
