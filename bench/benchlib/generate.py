"""Rows for the scale datasets: one city or many, ten years of events and problems, fast.

The shape follows the demo generator (``consult_hub.demo``), whose vocabulary and topic texts
it reuses, but it is written for tens of millions of rows: times are whole seconds since the
epoch, dates and timestamps are looked up in precomputed string tables, random draws use
``rng.random()`` directly, and every row is a tuple of strings handed to a sink (SQLite
executemany or PostgreSQL COPY). Nothing here imports the app's models at row time.

Asia/Shanghai has kept UTC+8 without daylight saving since 1991, so local time is UTC + 8 h.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from benchlib.progress import Progress
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import allocate
from consult_hub.demo.events import CANCELLED_SHARE, MONTH_WEIGHTS, START_TIMES
from consult_hub.demo.issues import DUE_DAYS
from consult_hub.demo.topics import TOPICS, Topic
from consult_hub.demo.world import KIND_ACTIVITY, KIND_WEIGHTS, StreetNames
from consult_hub.issues.lifecycle import TRANSITIONS, Transition, timeline_note
from consult_hub.issues.models import CLOSED_STATUSES, PROPOSABLE_STATUSES, IssueStatus
from consult_hub.issues.references import format_reference

DAY = 86_400
TZ = 8 * 3600  # Asia/Shanghai
UNIX_ORDINAL = date(1970, 1, 1).toordinal()
WORK_START, WORK_END = 8 * 3600 + 1800, 18 * 3600
LEAD_DAYS = 14  # a platform holds its first event at least this long after it was founded
UPCOMING_DAYS = 42  # planned events reach this far ahead
MINUTES_MISSING_SHARE = 0.08  # of events ended in the last ten days: still no minutes
EVENT_ISSUE_SHARE = 0.4  # of all problems, about this many were raised at an event
STALL_DAYS, STALL_SHARE = 150, 0.15
DUPLICATE_SHARE = 0.005
# Paths a problem takes (see consult_hub.demo.issues); fewer long ones than the demo keeps the
# timeline near 4.7 rows per problem at national scale. A department's handling is shorter
# than the demo's too: it acknowledges (or starts at once), replies and staff confirm; the
# assign_resolve path is an outcome staff record themselves.
PATHS = (("quick", 18.0), ("standard", 47.0), ("assign_resolve", 20.0), ("reopen", 1.5),
         ("plan", 3.0), ("plan_resolve", 1.5), ("constrain", 2.5), ("plan_constrain", 0.2),
         ("reject", 2.5), ("reject_assigned", 0.5))
SATISFACTION = (("satisfied", 78), ("basically", 17), ("unsatisfied", 5))
KINDS = ("urgent", "doorstep", "governance")
# A resident's submission is reviewed (accepted and published) within this many days.
ACCEPT_DAYS = (0.05, 2.0)
# The department's handling (as consult_hub.demo.issues): acknowledged in time, started at
# once without a separate acknowledgement, sent back for rework, extension asked (approved),
# sent back as not the department's.
ACK_ON_TIME, START_AT_ONCE = 0.85, 0.15
REWORK_SHARE, EXTENSION_SHARE, EXTENSION_APPROVED, RETURN_SHARE = 0.08, 0.05, 0.8, 0.02
CONTACT_SHARE = 0.5  # of residents' submissions: their words hold their name and phone


def _rule(t: Transition) -> tuple[Any, ...]:
    """One transition in the form the hot loop wants: (target as the rows spell it or None,
    effect, stamped columns, columns stamped only while empty, public, stamps by target when
    the record decides the target — confirm — else None)."""
    by_target = ({s.value: t.stamps(s) for s in PROPOSABLE_STATUSES}
                 if t.target_from is not None else None)
    return (t.target.value if t.target else None, t.effect, t.stamps(t.target), t.first_stamps,
            t.is_public, by_target)


# The lifecycle's transitions: the same table as the app's, in the form the hot loop wants.
STEP_RULES = {action: _rule(t) for action, t in TRANSITIONS.items()}
CLOSED = frozenset(status.value for status in CLOSED_STATUSES)
RECEIVED = IssueStatus.RECEIVED.value
PENDING = IssueStatus.PENDING.value
# A problem's columns that its lifecycle steps write, before the first step (title and
# description: the public text staff write when they accept a resident's submission).
ISSUE_STATE = dict.fromkeys((
    "department_id", "due_on", "planned_on", "resolution", "duplicate_of_id", "resolved_at",
    "closed_at", "satisfaction", "rated_at", "title", "description", "published_at",
    "assigned_at", "acknowledged_at", "replied_at", "reply", "proposed_status",
    "proposed_planned_on", "requested_due_on", "extension_reason", "rework_reason",
    "returned_at"))
NO_VALUES: dict[str, Any] = {}
PLACE_CHARS = "江河山阳安宁平昌兴宜新清东西南北云泉德丰华庆湖海林源康泰盛永长金石川荆襄随恩汉"
CITY_CENTRES = ((22.5, 45.5), (100.0, 125.0))  # where synthetic cities lie (lat, lon)

COLUMNS: dict[str, tuple[str, ...]] = {
    "areas": ("id", "code", "name", "level", "parent_id"),
    "departments": ("id", "code", "name", "district_id", "is_active"),
    "members": ("id", "code", "name", "sector", "level", "district_id", "is_active",
                "created_at", "updated_at"),
    "platforms": ("id", "code", "name", "kind", "area_id", "district_id", "address", "latitude",
                  "longitude", "convener", "description", "established_on", "is_demonstration",
                  "demonstration_year", "status", "version", "created_at", "updated_at"),
    "users": ("id", "username", "name", "email", "password_hash", "role", "district_id",
              "department_id", "is_active", "locale", "last_login_at", "session_token",
              "created_at", "updated_at"),
    "platform_members": ("platform_id", "member_id"),
    "platform_coordinators": ("platform_id", "user_id"),
    "events": ("id", "code", "platform_id", "topic", "category", "starts_at", "ends_at",
               "location", "format", "agenda", "status", "minutes", "opinions", "resident_count",
               "department_count", "expert_count", "held_at", "outcome", "concluded_at",
               "cancel_reason", "cancelled_at", "sequence", "created_by_id", "version",
               "created_at", "updated_at"),
    "event_attendees": ("event_id", "member_id"),
    "issues": ("id", "reference", "title", "description", "kind", "category", "platform_id",
               "district_id", "event_id", "source", "submitter_name", "submitter_phone",
               "tracking_token", "department_id", "due_on", "planned_on", "status", "resolution",
               "duplicate_of_id", "resolved_at", "closed_at", "satisfaction", "rated_at",
               "created_by_id", "version", "created_at", "updated_at", "published_at",
               "submitted_title", "submitted_text", "assigned_at", "acknowledged_at",
               "replied_at", "reply", "proposed_status", "proposed_planned_on",
               "requested_due_on", "extension_reason", "rework_reason", "returned_at"),
    "issue_updates": ("id", "issue_id", "action", "from_status", "to_status", "note",
                      "is_public", "actor_id", "created_at", "department_id", "due_on"),
    "reference_counters": ("prefix", "last_value"),
}
TABLES = tuple(COLUMNS)


@dataclass(frozen=True)
class Spec:
    """How big a dataset is; ``scaled`` shrinks it for development."""

    name: str
    platforms: int
    events: int
    issues: int
    cities: int
    seed: int
    years: int = 10
    home_city_platforms: int = 1200  # Wuhan's share when there are many cities

    def scaled(self, scale: float) -> Spec:
        if scale == 1:
            return self
        return Spec(self.name, max(20, round(self.platforms * scale)),
                    max(50, round(self.events * scale)), max(50, round(self.issues * scale)),
                    max(1, round(self.cities * scale)), self.seed, self.years,
                    max(10, round(self.home_city_platforms * min(1.0, scale * 10))))


@dataclass(frozen=True)
class Dialect:
    """How values are spelled for one database: COPY text for PostgreSQL, strings for SQLite."""

    name: str
    null: Any
    true: str
    false: str
    newline: str
    ts_suffix: str


POSTGRESQL = Dialect("postgresql", "\\N", "t", "f", "\\n", "+00")
SQLITE = Dialect("sqlite", None, "1", "0", "\n", ".000000")


class Clock:
    """The reference 'now' and fast text for timestamps (UTC) and local dates."""

    def __init__(self, now: int, dialect: Dialect, years: int) -> None:
        self.now = now
        self.today = (now + TZ) // DAY  # local day number
        self.first = self.today - 366 * (years + 5)
        last = self.today + 366 * 3
        self._dates = [date.fromordinal(d + UNIX_ORDINAL).isoformat()
                       for d in range(self.first, last + 1)]
        self._times = [f" {s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{dialect.ts_suffix}"
                       for s in range(DAY)]

    def ts(self, t: int) -> str:
        """UTC timestamp text of epoch second ``t``."""
        return self._dates[t // DAY - self.first] + self._times[t % DAY]

    def ts_function(self) -> Callable[[int], str]:
        """``ts`` as a plain function with its tables bound: the hot loops call it a lot."""
        def ts(t: int, dates: list[str] = self._dates, times: list[str] = self._times,
               first: int = self.first) -> str:
            return dates[t // 86_400 - first] + times[t % 86_400]
        return ts

    def day(self, local_day: int) -> str:
        return self._dates[local_day - self.first]

    def local_day(self, t: int) -> int:
        return (t + TZ) // DAY

    def year(self, local_day: int) -> int:
        return int(self._dates[local_day - self.first][:4])

    def month(self, local_day: int) -> int:
        return int(self._dates[local_day - self.first][5:7])

    def midnight(self, local_day: int) -> int:
        """Epoch second of local midnight starting ``local_day``."""
        return local_day * DAY - TZ


# The world: cities, districts, streets, platforms ---------------------------------------------

class District:
    __slots__ = ("id", "code", "name", "city", "roads", "waters", "lat", "lon", "spread",
                 "weight", "streets", "departments", "staff_id", "members", "platforms")

    def __init__(self, **kw: Any) -> None:
        for key in self.__slots__:
            setattr(self, key, kw.get(key))
        self.streets, self.departments, self.members, self.platforms = [], {}, [], 0


class Street(StreetNames):
    __slots__ = ("id", "code", "name", "rural", "communities", "office", "lat", "lon")

    def __init__(self, id: int, code: str, name: str, rural: bool, lat: float, lon: float):
        self.id, self.code, self.name, self.rural = id, code, name, rural
        self.lat, self.lon = lat, lon
        self.communities: list[tuple[int, str, float, float]] = []
        self.office: tuple[str, str] | None = None


class Site:
    """A platform and what the text templates and the pickers need about it."""

    __slots__ = ("id", "code", "district", "street", "community", "kind", "rural", "est",
                 "inactive_from", "w_event", "w_issue", "members", "coordinator_id", "address",
                 "base", "estates", "name", "convener", "lat", "lon", "sid", "did", "cid",
                 "staff")

    def __init__(self) -> None:
        self.members: list[tuple[str, str]] = []
        self.inactive_from = 1 << 40
        self.coordinator_id: int | None = None


class Fields(dict):
    """Template values: fixed ones from the platform, the rest drawn when a template asks."""

    def __missing__(self, key: str) -> Any:
        rnd, site = self["_r"], self["_s"]
        if key == "estate":
            value = site.estates[int(rnd() * 3)]
        elif key == "road":
            roads = site.district.roads
            value = roads[int(rnd() * len(roads))]
        elif key == "water":
            waters = site.district.waters
            value = waters[int(rnd() * len(waters))]
        elif key == "community":
            communities = site.street.communities
            value = communities[int(rnd() * len(communities))][1]
        elif key == "n":
            value = 1 + int(rnd() * 24)
        elif key == "k":
            value = 2 + int(rnd() * 8)
        elif key == "days":
            value = 5 + int(rnd() * 11)
        elif key == "year":
            value = self["_y"]
        elif key == "next_year":
            value = self["_y"] + 1
        else:
            raise KeyError(key)
        self[key] = value
        return value


@dataclass
class Timing:
    label: str
    rows: dict[str, int]
    seconds: float


@dataclass
class Result:
    counts: dict[str, int]
    timings: list[Timing]
    reference_counters: dict[str, int]


Opener = Callable[[str, tuple[str, ...]], Any]  # (table, columns) -> writer with add()/close()


class Generator:
    """Builds one dataset into a sink: ``run()`` writes every table and returns a Result."""

    def __init__(self, spec: Spec, now: int, dialect: Dialect, open_writer: Opener, *,
                 password_hash: str, city_code: str = "WH",
                 progress: bool = True) -> None:
        self.spec, self.dialect, self.open_writer = spec, dialect, open_writer
        self.clock = Clock(now, dialect, spec.years)
        self.now = now
        self.rng = random.Random(spec.seed)
        self.rnd = self.rng.random
        self.password_hash = password_hash
        self.city_code = city_code
        self.progress = progress
        self.timings: list[Timing] = []
        self.counts: dict[str, int] = {}
        self.ids: dict[str, int] = {}
        self.rows: dict[str, list[tuple]] = {t: [] for t in COLUMNS}
        self.districts: list[District] = []
        self.sites: list[Site] = []
        self.city_departments: dict[int, dict[str, tuple[str, str]]] = {}
        self.contacts: dict[str, str] = {}  # department id → its contact's user id (as text)
        self.window_start = self.clock.today - round(365.25 * spec.years)
        topics_urban = [i for i, t in enumerate(TOPICS) if t.where != "rural"]
        topics_rural = [i for i, t in enumerate(TOPICS) if t.where != "urban"]
        self.topic_pick = {
            False: (topics_urban, _cumulative([TOPICS[i].weight for i in topics_urban])),
            True: (topics_rural, _cumulative([TOPICS[i].weight for i in topics_rural])),
        }
        self.sectors = [s for s, _ in v.SECTORS]
        self.sector_cum = _cumulative([w for _, w in v.SECTORS])
        self.path_names = [p for p, _ in PATHS]
        self.path_cum = _cumulative([w for _, w in PATHS])
        self.held_by_day: dict[int, list[tuple]] = {}

    # Small helpers ----------------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        value = self.ids.get(table, 0) + 1
        self.ids[table] = value
        return value

    def pick(self, options: Sequence[Any]) -> Any:
        return options[int(self.rnd() * len(options))]

    def wpick(self, options: Sequence[Any], cumulative: list[float]) -> Any:
        return options[bisect.bisect_right(cumulative, self.rnd() * cumulative[-1])]

    def person(self) -> str:
        rnd = self.rnd
        given = v.GIVEN_CHARS[int(rnd() * 64)]
        if rnd() >= 0.25:
            given += v.GIVEN_CHARS[int(rnd() * 64)]
        return v.SURNAMES[int(rnd() * len(v.SURNAMES))] + given

    def topic(self, rural: bool) -> int:
        indexes, cumulative = self.topic_pick[rural]
        return indexes[bisect.bisect_right(cumulative, self.rnd() * cumulative[-1])]

    def after(self, t: int, lo: float, hi: float) -> int:
        """A moment in office hours some days after ``t``, never before it."""
        later = t + int((lo + self.rnd() * (hi - lo)) * DAY)
        s = (later + TZ) % DAY
        if s < WORK_START:
            later += WORK_START - s + int(self.rnd() * 7200)
        elif s >= WORK_END:
            later += DAY - s + WORK_START + int(self.rnd() * 7200)
        return later if later > t else t + 300 + int(self.rnd() * 2700)

    @contextmanager
    def tables(self, label: str, *tables: tuple[str, int | None]) -> Iterator[list[Any]]:
        """Open writers for ``tables`` (name, expected rows) under one progress line."""
        progress = Progress(label, enabled=self.progress)
        with ExitStack() as stack:
            writers = []
            for name, total in tables:
                writer = stack.enter_context(self.open_writer(name, COLUMNS[name]))
                writer.counter = progress.counter(name, total)
                writers.append(writer)
            yield writers
        seconds = progress.close()
        rows = {w.table: w.counter.done for w in writers}
        self.counts.update(rows)
        self.timings.append(Timing(label, rows, seconds))

    def flush_rows(self, table: str) -> None:
        """Write the rows queued for a small table."""
        rows = self.rows.pop(table)
        with self.tables(table, (table, len(rows))) as (writer,):
            add = writer.add
            for row in rows:
                add(row)

    # The run ----------------------------------------------------------------------------------

    def run(self) -> Result:
        progress = Progress("world (areas, departments, members, platforms, users)",
                            enabled=self.progress)
        self.build_world()
        progress.close()
        self.timings.append(Timing("generate world in memory", {}, progress.seconds or 0.0))
        for table in ("areas", "departments", "members", "platforms", "users",
                      "platform_members", "platform_coordinators"):
            self.flush_rows(table)
        self.build_events()
        self.build_issues()
        counters = sorted(self.reference_counters.items())
        self.rows["reference_counters"] = [(p, str(n)) for p, n in counters]
        self.flush_rows("reference_counters")
        return Result(self.counts, self.timings, dict(counters))

    # World ------------------------------------------------------------------------------------

    def build_world(self) -> None:
        spec = self.spec
        cities = [("4201", "武汉市", v.DISTRICTS)] + self._synthetic_cities(spec.cities - 1)
        if len(cities) == 1:
            per_city = [spec.platforms]
        else:
            home = min(spec.home_city_platforms, spec.platforms // 2)
            weights = [math.exp(self.rng.gauss(0, 0.5)) for _ in cities[1:]]
            per_city = [home] + allocate(spec.platforms - home, weights)
        for (code, name, districts), count in zip(cities, per_city, strict=True):
            self._city(code, name, districts, count, home=code == "4201")
        self._schedule()
        self._users()
        null = self.dialect.null
        for site in self.sites:  # ids as the text the rows need, once
            site.sid, site.did = str(site.id), str(site.district.id)
            site.cid = null if site.coordinator_id is None else str(site.coordinator_id)
            site.staff = null if site.district.staff_id is None else str(site.district.staff_id)

    def _synthetic_cities(self, count: int) -> list[tuple[str, str, list[v.District]]]:
        """Cities named from two place characters, coded like 4-digit prefectures."""
        rng, rnd = self.rng, self.rnd
        provinces = (11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44,
                     45, 46, 50, 51, 52, 53, 54, 61, 62, 63, 64, 65)
        codes = [f"{p}{c:02d}" for c in range(1, 100) for p in provinces]
        codes = [c for c in codes if c != "4201"][:count]
        names: set[str] = {"武汉市"}
        cities = []
        for code in codes:
            while True:
                name = rng.choice(PLACE_CHARS) + rng.choice(PLACE_CHARS) + "市"
                if name[0] != name[1] and name not in names:
                    names.add(name)
                    break
            lat = CITY_CENTRES[0][0] + rnd() * (CITY_CENTRES[0][1] - CITY_CENTRES[0][0])
            lon = CITY_CENTRES[1][0] + rnd() * (CITY_CENTRES[1][1] - CITY_CENTRES[1][0])
            districts = []
            county = rnd() < 0.3
            stems = rng.sample(v.COMMUNITY_STEMS, 12)
            for number in range(8 + int(rnd() * 5)):
                model = rng.choice(v.DISTRICTS)
                street_names = rng.sample(v.COMMUNITY_STEMS, 8 + int(rnd() * 9))
                rural_share = 0.6 if county and number > 3 else 0.1
                streets = tuple(
                    v.Street(f"{stem}{'镇' if rural else '街'}", rural)
                    for stem in street_names for rural in (rnd() < rural_share,))
                districts.append(v.District(
                    f"{code}{number + 2:02d}", f"{stems[number]}区",
                    round(lat + rng.gauss(0, 0.08), 4), round(lon + rng.gauss(0, 0.08), 4),
                    0.03, 2 + int(rnd() * 10), model.roads, model.waters, streets))
            cities.append((code, name, districts))
        return cities

    def _city(self, code: str, name: str, specs: Sequence[v.District], platforms: int,
              *, home: bool) -> None:
        departments = {}
        for number, (kind, city_name, _suffix) in enumerate(v.DEPARTMENT_KINDS, 1):
            if home:
                dept_name = city_name
            elif city_name.startswith("市"):
                dept_name = name + city_name[1:]
            else:
                dept_name = city_name.replace("武汉", name.removesuffix("市"))
            departments[kind] = (self._department(f"{code}-{number:02d}", dept_name, None),
                                 dept_name)
        counts = allocate(platforms, [d.weight for d in specs])
        for spec, count in zip(specs, counts, strict=True):
            district = District(id=self.next_id("areas"), code=spec.code, name=spec.name,
                                city=name, roads=spec.roads, waters=spec.waters, lat=spec.lat,
                                lon=spec.lon, spread=spec.spread, weight=spec.weight)
            self.city_departments[district.id] = departments
            self.rows["areas"].append((str(district.id), spec.code, spec.name, "district",
                                       self.dialect.null))
            used: set[str] = set()
            for number, street_spec in enumerate(spec.streets, 1):
                self._street(district, number, street_spec, used)
            self._district_departments(district)
            self.districts.append(district)
            district.platforms = count
            self._members(district, max(3, round(count * 0.8)))
            self._platforms(district, count)

    def _street(self, district: District, number: int, spec: v.Street, used: set[str]) -> None:
        rng, rnd = self.rng, self.rnd
        lat = district.lat + rng.gauss(0, district.spread)
        lon = district.lon + rng.gauss(0, district.spread)
        street = Street(self.next_id("areas"), f"{district.code}{number:03d}000", spec.name,
                        spec.rural, lat, lon)
        self.rows["areas"].append((str(street.id), street.code, street.name, "street",
                                   str(district.id)))
        known = v.KNOWN_COMMUNITIES.get(spec.name) if district.city == "武汉市" else None
        if known:
            names = list(known)
        else:
            names = [f"{street.stem}社区"] if street.rural or rnd() < 0.3 else []
            wanted = 6 + int(rnd() * 5) if street.rural else 4 + int(rnd() * 5)
            tries = 0
            while len(names) < wanted and tries < 200:
                tries += 1
                if street.rural and rnd() < 0.75:
                    if rnd() < 0.5:
                        name = f"{self.pick(v.SURNAMES)}家{self.pick(v.VILLAGE_TAILS)}村"
                    else:
                        name = f"{self.pick(v.VILLAGE_STEMS)}村"
                else:
                    stem = self.pick(v.COMMUNITY_STEMS)
                    tail = "" if stem.endswith(v.NO_TAIL_ENDINGS) else self.pick(v.COMMUNITY_TAILS)
                    name = f"{stem}{tail}社区"
                if name not in used and name not in names:
                    names.append(name)
        used.update(names)
        urban, village = 1, 201
        for name in names:
            if name.endswith("村"):
                code, village = f"{street.code[:9]}{village:03d}", village + 1
            else:
                code, urban = f"{street.code[:9]}{urban:03d}", urban + 1
            area_id = self.next_id("areas")
            self.rows["areas"].append((str(area_id), code, name, "community", str(street.id)))
            street.communities.append((area_id, name, lat + rng.gauss(0, 0.006),
                                       lon + rng.gauss(0, 0.006)))
        district.streets.append(street)

    def _department(self, code: str, name: str, district_id: int | None) -> str:
        """Queue a department row; returns its id as text (what the rows need)."""
        dept_id = str(self.next_id("departments"))
        self.rows["departments"].append((
            dept_id, code, name,
            self.dialect.null if district_id is None else str(district_id), self.dialect.true))
        return dept_id

    def _district_departments(self, district: District) -> None:
        has_villages = any(s.rural for s in district.streets)
        for number, (kind, _city_name, suffix) in enumerate(v.DEPARTMENT_KINDS, 1):
            if suffix is None or (kind in v.RURAL_DEPARTMENTS and not has_villages):
                continue
            name = f"{district.name}{suffix}"
            district.departments[kind] = (
                self._department(f"{district.code}-{number:02d}", name, district.id), name)
        for street in district.streets:
            street.office = (self._department(street.code, street.office_name, district.id),
                             street.office_name)

    def _members(self, district: District, count: int) -> None:
        since = self.clock.ts(self.clock.midnight(self.window_start - 30) + 9 * 3600)
        d = self.dialect
        for _ in range(count):
            member_id = self.next_id("members")
            level = "city" if self.rnd() < 0.3 else "district"
            name = self.person()
            self.rows["members"].append((
                str(member_id), f"WY{member_id:07d}", name,
                self.wpick(self.sectors, self.sector_cum),
                level, str(district.id), d.true, since, since))
            district.members.append((member_id, name, level))

    def _platforms(self, district: District, count: int) -> None:
        rng, rnd = self.rng, self.rnd
        homes = list(district.streets)
        rooms = [(s, c) for s in district.streets for c in s.communities]
        rng.shuffle(homes)
        rng.shuffle(rooms)
        kinds, kind_cum = list(KIND_WEIGHTS), _cumulative(list(KIND_WEIGHTS.values()))
        leads = [m for m in district.members]
        rng.shuffle(leads)
        for number in range(1, count + 1):
            kind = self.wpick(kinds, kind_cum).value
            if kind == "consult_home" and not homes:
                kind = "consult_room"
            community = None
            if kind == "consult_home":
                street = homes.pop()
            elif kind == "member_studio":
                street = self.pick(district.streets)
            elif kind == "consult_room" and rooms:
                street, community = rooms.pop()
            else:
                street = self.pick(district.streets)
                community = self.pick(street.communities)
            site = Site()
            site.id = self.next_id("platforms")
            site.district, site.street = district, street
            site.community, site.kind = community, kind
            site.rural = street.rural
            lead = leads.pop() if kind == "member_studio" and leads else None
            site.convener = lead[1] if lead else self.person()
            if lead:
                site.members.append((lead[0], lead[1]))
            site.estates = self._estates(street.rural)
            place = community or self.pick(street.communities)
            stem = place[1].removesuffix("社区").removesuffix("村")
            where = community[1] if community else street.label
            if kind == "consult_room":
                brand = f"“{self.pick(v.CONSULT_ROOM_BRANDS)}”" if rnd() < 0.15 else ""
                site.name = f"{street.label}{where}{brand}协商议事室"
            elif kind == "liaison_point":
                site.name = (f"{district.name}政协社情民意联系点（{where}）" if rnd() < 0.5
                             else f"{street.label}{where}社情民意联系点")
            elif kind == "member_studio":
                site.name = (f"{lead[1]}委员工作室" if lead and rnd() < 0.6
                             else f"{district.name}政协委员工作室（{street.label}）")
            else:
                site.name = f"{street.label}协商议事之家"
            school = self.pick(("小学", "小学", "实验小学", "中学"))
            site.base = {"_s": site, "_r": rnd, "street": street.name, "district": district.name,
                         "school": f"{stem}{school}",
                         "market": f"{street.stem}{self.pick(('菜市场', '农贸市场'))}",
                         "park": f"{stem}口袋公园", "dept": "社区"}
            if community:
                site.base["community"] = community[1]
            # Members: 2-5, from the district first.
            wanted = self.wpick((2, 3, 4, 5), _CUM_MEMBERS)
            pool = district.members
            have = {m for m, _ in site.members}
            for member_id, name, _level in rng.sample(pool, min(len(pool), wanted + 1)):
                if len(site.members) >= wanted:
                    break
                if member_id not in have:
                    site.members.append((member_id, name))
                    have.add(member_id)
            for member_id, _name in site.members:
                self.rows["platform_members"].append((str(site.id), str(member_id)))
            if community and community[1].endswith("村"):
                site.address = f"{district.name}{street.name}{community[1]}村委会"
            else:
                road = f"{district.name}{self.pick(district.roads)}{1 + int(rnd() * 680)}号"
                centre = community[1] if community else street.name
                site.address = road + (f"{street.name}党群服务中心三楼" if kind == "member_studio"
                                       else f"{centre}党群服务中心")
            site.code = f"{district.code}-{number:04d}"
            lat, lon = (community[2], community[3]) if community else (street.lat, street.lon)
            site.lat = lat + rng.gauss(0, 0.002)
            site.lon = lon + rng.gauss(0, 0.002)
            self.sites.append(site)

    def _estates(self, rural: bool) -> tuple[str, str, str]:
        estates: list[str] = []
        while len(estates) < 3:
            if rural:
                name = f"{self.pick(v.SURNAMES)}家{self.pick(('湾', '墩', '岗', '咀'))}"
            elif self.rnd() < 0.2:
                name = self.pick(v.UNIT_QUARTERS)
            else:
                name = f"{self.pick(v.ESTATE_STEMS)}{self.pick(v.ESTATE_TAILS)}"
            if name not in estates:
                estates.append(name)
        return tuple(estates)

    def _schedule(self) -> None:
        """Founding days (growing over the decade), weights, suspensions; then platform rows."""
        rng, rnd, clock = self.rng, self.rnd, self.clock
        span = self.clock.today - 30 - self.window_start
        d = self.dialect
        for site in self.sites:
            if rnd() < 0.15:
                site.est = self.window_start - int(rnd() * 730)
            else:  # density rising from 0.5 to 1.5 across the decade
                x = (-1 + math.sqrt(1 + 8 * rnd())) / 2
                site.est = self.window_start + int(x * span)
            site.w_event = KIND_ACTIVITY.get(_KIND_ENUM[site.kind], 1.0)
            site.w_issue = {"liaison_point": 1.5, "member_studio": 1.2}.get(site.kind, 1.0)
        for site in self.sites:
            status = "active"
            est_year = clock.year(site.est)
            this_year = clock.year(clock.today)
            demo_year = None
            if site.est < clock.today - 400 and rnd() < 0.12:
                demo_year = rng.randint(min(est_year + 1, this_year), this_year)
                site.w_event *= 2.5
                site.w_issue *= 2.5
            elif site.est < clock.today - 400 and rnd() < 0.008:
                status = "suspended" if rnd() < 0.7 else "closed"
                site.inactive_from = site.est + 180 + int(rnd() * (clock.today - site.est - 180))
            founded = clock.ts(clock.midnight(site.est) + 9 * 3600)
            self.rows["platforms"].append((
                str(site.id), site.code, site.name, site.kind,
                str(site.community[0] if site.community else site.street.id),
                str(site.district.id), site.address, f"{site.lat:.6f}",
                f"{site.lon:.6f}", site.convener, self._description(site), clock.day(site.est),
                d.true if demo_year else d.false, str(demo_year) if demo_year else d.null,
                status, "1", founded, founded))
        # Pickers: platforms ordered by founding day.
        order = sorted(self.sites, key=lambda s: (s.est, s.id))
        self.by_est = order
        self.est_days = [s.est for s in order]
        top = max(s.w_event for s in order)
        self.w_event = [s.w_event / top for s in order]
        top = max(s.w_issue for s in order)
        self.w_issue = [s.w_issue / top for s in order]
        self.inactive_from = [s.inactive_from for s in order]

    def _description(self, site: Site) -> str:
        where = site.community[1] if site.community else site.street.name
        if site.kind == "member_studio":
            return (f"由政协委员{site.convener}领衔，{len(site.members)}名委员"
                    f"下沉{site.street.name},"
                    "每月固定时间接待群众来访，收集社情民意，推动房前屋后实事解决。")
        if site.kind == "liaison_point":
            return (f"设在{where}，由区政协委员联系，收集辖区居民、商户和新就业群体的意见建议，"
                    "经整理后报送区政协。")
        if site.kind == "consult_home":
            return (f"{site.street.name}协商议事之家统筹辖区各社区协商议事室，"
                    "承接跨社区、跨部门的协商议题，"
                    "邀请政协委员、职能部门和居民代表“有事好商量”。")
        return (f"依托{where}党群服务中心设立，召集人{site.convener}。"
                "坚持“居民点题、委员参与、部门回应”，"
                f"{self.pick(('每月', '每季度'))}至少开展一次协商议事活动。")

    def _users(self) -> None:
        """An admin, a district admin per district, a coordinator per street; one password."""
        d, clock = self.dialect, self.clock
        joined = clock.ts(clock.midnight(self.window_start - 60) + 9 * 3600)
        rows = self.rows["users"]

        def user(username: str, name: str, role: str, district_id: int | None,
                 department_id: str | None = None) -> int:
            user_id = self.next_id("users")
            rows.append((str(user_id), username, name, d.null, self.password_hash, role,
                         d.null if district_id is None else str(district_id),
                         d.null if department_id is None else department_id, d.true, "zh",
                         d.null, f"{self.rng.getrandbits(128):032x}", joined, joined))
            return user_id

        user("admin", "刘敏", "admin", None)
        home = next(x for x in self.districts if x.city == "武汉市")
        for district in self.districts:
            username = "district" if district is home else f"da{district.code}"
            district.staff_id = user(username, self.person(), "district_admin", district.id)
        by_street: dict[int, list[Site]] = {}
        for site in self.sites:
            by_street.setdefault(site.street.id, []).append(site)
        # The bench coordinator: the busiest street of the home city's first district.
        home_streets = [s for s in home.streets if s.id in by_street]
        chosen = (max(home_streets, key=lambda s: (len(by_street[s.id]), -s.id))
                  if home_streets else None)
        for sites in by_street.values():
            street = sites[0].street
            username = "coordinator" if street is chosen else f"co{street.code[:9]}"
            user_id = user(username, self.person(), "coordinator", None)
            for site in sites:
                site.coordinator_id = user_id
                self.rows["platform_coordinators"].append((str(site.id), str(user_id)))
        # A contact (承办单位联系人) per department: who acknowledges and replies. The bench
        # department login works for the home city's first district's urban management.
        chosen_department = home.departments[v.DEMO_DEPARTMENT_KIND][0]
        for dept_id, code, *_rest in self.rows["departments"]:
            username = "department" if dept_id == chosen_department else f"de{code}"
            self.contacts[dept_id] = str(user(username, self.person(), "department", None,
                                              dept_id))

    def department(self, kinds: tuple[str, ...], site: Site) -> tuple[str, str]:
        """The office a problem goes to: mostly the district's own (as the demo does)."""
        kind = kinds[int(self.rnd() * len(kinds))]
        if site.street.office and (kind == "street" or self.rnd() < 0.15):
            return site.street.office
        local = site.district.departments.get(kind)
        if local and self.rnd() < 0.8:
            return local
        city = self.city_departments[site.district.id]
        return city.get(kind) or city["housing"]

    # Activity pickers -------------------------------------------------------------------------

    def pick_site(self, day: int, lead: int, weights: list[float]) -> Site | None:
        """A platform founded by ``day - lead`` and active on ``day``, by activity weight
        (``weights`` in founding order, scaled so that the largest is 1)."""
        n = bisect.bisect_right(self.est_days, day - lead)
        if n == 0:
            return None
        rnd, order, inactive = self.rnd, self.by_est, self.inactive_from
        for _ in range(200):
            i = int(rnd() * n)
            if day < inactive[i] and rnd() < weights[i]:
                return order[i]
        return None

    def _day_weights(self, first: int, last: int, lead: int, seasonal: bool) -> list[float]:
        clock = self.clock
        weights = []
        for day in range(first, last + 1):
            active = bisect.bisect_right(self.est_days, day - lead)
            month = MONTH_WEIGHTS[clock.month(day) - 1] if seasonal else 1.0
            weights.append(active * month)
        return weights

    # Events -----------------------------------------------------------------------------------

    def build_events(self) -> None:
        spec, clock, rnd, d = self.spec, self.clock, self.rnd, self.dialect
        first, last = self.window_start, clock.today + UPCOMING_DAYS
        per_day = spread(spec.events, self._day_weights(first, last, LEAD_DAYS, True))
        past_share = sum(per_day[: clock.today - first]) / max(1, spec.events)
        mean_k = min(1.2, EVENT_ISSUE_SHARE * spec.issues / max(1.0, spec.events * past_share))
        self.event_issue_p = mean_k / 3
        expected_attendees = round(spec.events * past_share * 2)
        nl, null, now = d.newline, d.null, self.now
        starts = [h * 3600 + m * 60 - TZ for h, m in START_TIMES]
        formats = ("onsite",) * 85 + ("hybrid",) * 10 + ("online",) * 5
        experts_choice = (0, 0, 0, 1, 2, 3)
        ts = clock.ts_function()
        carry = 0
        held_by_day = self.held_by_day
        with self.tables("events + event_attendees", ("events", spec.events),
                         ("event_attendees", expected_attendees)) as (events, attendees):
            add_event, add_attendee = events.buf.append, attendees.buf.append
            event_id = 0
            for index, count in enumerate(per_day):
                events.maybe_flush()
                attendees.maybe_flush()
                day = first + index
                count += carry
                carry = 0
                midnight = day * DAY
                year = clock.year(day)
                held_today = []
                for _ in range(count):
                    site = self.pick_site(day, LEAD_DAYS, self.w_event)
                    if site is None:
                        carry += 1
                        continue
                    event_id += 1
                    start = midnight + starts[int(rnd() * 7)]
                    end = start + (90, 120, 120, 150)[int(rnd() * 4)] * 60
                    ti = self.topic(site.rural)
                    topic = TOPICS[ti]
                    f = Fields(site.base)
                    f["_y"] = year
                    title = self.pick(topic.events).format_map(f)
                    location = (site.address if rnd() < 0.7
                                else self.pick(v.EVENT_LOCATIONS).format_map(f))
                    agenda = (f"一、{f['community']}通报{topic.subject}有关情况{nl}"
                              f"二、居民代表发言{nl}"
                              f"三、政协委员和相关部门回应{nl}四、协商形成意见建议")
                    created = min(start - int((5 + rnd() * 15) * DAY + rnd() * 8 * 3600),
                                  now - 3600)
                    minutes = opinions = outcome = cancel_reason = null
                    held_at = concluded_at = cancelled_at = null
                    residents = departments_n = experts = "0"
                    updated = created
                    if end > now - 3600:
                        status = "planned"
                    elif rnd() < CANCELLED_SHARE:
                        status = "cancelled"
                        cancel_reason = self.pick(v.CANCEL_REASONS)
                        cancelled = min(self.after(created, 0.5, 4), start - 7200)
                        cancelled_at = ts(cancelled)
                        updated = cancelled
                    elif now - end < 10 * DAY and rnd() < MINUTES_MISSING_SHARE:
                        status = "planned"  # held, but the coordinator has not logged it yet
                    else:
                        status = "held"
                        members = site.members
                        n_att = min(len(members), 1 + int(rnd() * 3))
                        offset = int(rnd() * len(members)) if members else 0
                        names = []
                        eid = str(event_id)
                        for i in range(n_att):
                            member_id, name = members[(offset + i) % len(members)]
                            add_attendee((eid, str(member_id)))
                            names.append(name)
                        depts = sorted({self.department(topic.departments, site)[1]
                                        for _ in range(1 + int(rnd() * 3))})
                        n_res = 8 + int(rnd() * 38)
                        n_exp = experts_choice[int(rnd() * 6)]
                        consensus = topic.consensus
                        o, n_c = int(rnd() * len(consensus)), len(consensus)
                        points = [consensus[(o + i) % n_c].format_map(f)
                                  for i in range(min(3, n_c))]
                        local_start = start + TZ
                        hh, mm = local_start % DAY // 3600, local_start % 3600 // 60
                        who = f"政协委员{'、'.join(names)}，" if names else ""
                        expert_text = (f"，另邀请{n_exp}名律师、规划师等专业人士列席"
                                       if n_exp else "")
                        ds = clock.day(day)
                        minutes = (
                            f"{ds[:4]}年{int(ds[5:7])}月{int(ds[8:])}日{hh:02d}:{mm:02d},{site.name}"
                            f"围绕“{title}”开展协商议事活动。召集人{site.convener}主持，{who}"
                            f"{'、'.join(depts)}负责同志和居民代表{n_res}人参加{expert_text}。{nl}"
                            f"会上，{f['community']}通报了{topic.subject}有关情况，居民代表逐一发言，"
                            f"政协委员结合前期走访调研情况提出建议，相关部门负责同志现场作了回应。{nl}"
                            f"经充分协商，会议形成以下共识：{'；'.join(points)}。")
                        opinions = nl.join(f"{n}、{p}。"
                                           for n, p in zip("一二三", points, strict=False))
                        residents, departments_n, experts = str(n_res), str(len(depts)), str(n_exp)
                        held = min(end + (1 + int(rnd() * 30)) * 3600, now)
                        held_at = ts(held)
                        updated = held
                        age = clock.today - day
                        if rnd() < (0.65 if age > 60 else 0.35 if age > 14 else 0.0):
                            concluded = self.after(held, 7, 45)
                            if concluded < now:
                                status = "concluded"
                                concluded_at = ts(concluded)
                                updated = concluded
                                follow = self.pick((
                                    f"协商意见已交{depts[0]}办理落实，办理情况已向居民公示。",
                                    "协商成果已纳入街道年度为民办实事项目。",
                                    "相关做法被区政协作为“一线协商·共同缔造”典型案例推广。"))
                                outcome = self.pick(topic.outcomes).format_map(f) + follow
                        p = self.event_issue_p
                        if end + 5400 < now:
                            k = (rnd() < p) + (rnd() < p) + (rnd() < p)
                            if k:
                                held_today.append((event_id, site, end, ti, title, k))
                    add_event((
                        str(event_id), null, site.sid, title, topic.category, ts(start),
                        ts(end), location, formats[int(rnd() * 100)], agenda, status, minutes,
                        opinions, residents, departments_n, experts, held_at, outcome,
                        concluded_at, cancel_reason, cancelled_at, "0",
                        site.cid, "1", ts(created), ts(updated)))
                if held_today:
                    held_by_day[day] = held_today

    # Problems ---------------------------------------------------------------------------------

    def build_issues(self) -> None:
        spec, clock, rnd = self.spec, self.clock, self.rnd
        from_events = sum(k for day in self.held_by_day.values() for *_x, k in day)
        if from_events > spec.issues:  # cannot happen at the shipped sizes; keep the total exact
            from_events = spec.issues
        walk_ins = spec.issues - from_events
        first = self.window_start - 20
        per_day = spread(walk_ins, self._day_weights(first, clock.today, 0, False))
        self.reference_counters: dict[str, int] = {}
        self.last_issue: dict[int, tuple[int, str, str, str]] = {}
        budget = spec.issues
        self.issue_id = self.update_id = 0
        sources_by_kind = {
            "liaison_point": (("liaison_point", "resident", "member"), _cumulative((60, 30, 10))),
            "member_studio": (("member", "resident", "liaison_point"), _cumulative((55, 35, 10))),
        }
        other_sources = (("resident", "member", "liaison_point"), _cumulative((60, 20, 20)))
        expected_updates = round(spec.issues * 4.7)
        carry = 0
        with self.tables("issues + issue_updates", ("issues", spec.issues),
                         ("issue_updates", expected_updates)) as (issues, updates):
            self.add_issue, self.add_update = issues.buf.append, updates.buf.append
            self._ts = clock.ts_function()
            self._no_handling = (self.dialect.null,) * 10
            for index, count in enumerate(per_day):
                issues.maybe_flush()
                updates.maybe_flush()
                day = first + index
                midnight = day * DAY - TZ
                drafts = []
                for event_id, site, end, ti, title, k in self.held_by_day.pop(day, ()):
                    for _ in range(k):
                        if budget <= 0:
                            break
                        budget -= 1
                        topic = ti if rnd() < 0.85 else self.topic(site.rural)
                        drafts.append((end + 1200 + int(rnd() * 4200), site, "event", event_id,
                                       topic, title))
                count += carry
                carry = 0
                last_day = day == clock.today
                for _ in range(count):
                    if budget <= 0:
                        break
                    site = self.pick_site(day, 0, self.w_issue)
                    if site is None:
                        carry += 1
                        continue
                    budget -= 1
                    names, cum = sources_by_kind.get(site.kind, other_sources)
                    source = self.wpick(names, cum)
                    if source == "resident":
                        t = midnight + (7 + int(rnd() * 16)) * 3600 + int(rnd() * 3600)
                    else:
                        t = midnight + (9 + int(rnd() * 9)) * 3600 + int(rnd() * 3600)
                    drafts.append((min(t, self.now - 300), site, source, None,
                                   self.topic(site.rural), None))
                if last_day and budget > 0:  # anything still owed lands earlier today
                    for _ in range(budget):
                        site = self.pick_site(day, 0, self.w_issue) or self.sites[0]
                        drafts.append((self.now - 300 - int(rnd() * 3000), site, "resident",
                                       None, self.topic(site.rural), None))
                    budget = 0
                drafts.sort(key=_first)
                seen: list[tuple[Site, tuple]] = []
                for t, site, source, event_id, ti, title in drafts:
                    seen.append((site, self.issue(t, site, source, event_id, ti, title)))
                for site, record in seen:
                    self.last_issue[site.id] = record

    def issue(self, t0: int, site: Site, source: str, event_id: int | None, ti: int,
              event_title: str | None) -> tuple[int, str, str, str]:
        """Draw one problem, walk its path up to now and write it with its timeline."""
        clock, rnd, d, now = self.clock, self.rnd, self.dialect, self.now
        null, true, false = d.null, d.true, d.false
        ts = self._ts
        self.issue_id += 1
        issue_id = self.issue_id
        local_day = (t0 + TZ) // DAY
        year = clock.year(local_day)
        prefix = f"{self.city_code}{year % 100:02d}"
        number = self.reference_counters.get(prefix, 0) + 1
        self.reference_counters[prefix] = number
        reference = format_reference(prefix, number)
        topic = TOPICS[ti]
        f = Fields(site.base)
        f["_y"] = year
        duplicate = None
        resident = source == "resident"  # a resident's own submission: reviewed before public
        if resident and rnd() < DUPLICATE_SHARE:
            duplicate = self.last_issue.get(site.id)
        if duplicate:
            title, description = duplicate[2], duplicate[3]
            issue_index = 0
        else:
            issue_index = int(rnd() * len(topic.issues))
            title_t, description_t = topic.issues[issue_index]
            title, description = title_t.format_map(f), description_t.format_map(f)
            if source == "event":
                description = f"在“{event_title}”协商议事活动中，居民代表反映：{description}"
            elif source == "member":
                who = f"{site.members[0][1]}委员" if site.members else "政协委员"
                description = f"{who}走访时了解到：{description}"
            elif source == "liaison_point":
                description = f"联系点收集到居民反映：{description}"
        kind = topic.kinds[0] if rnd() < 0.7 else KINDS[int(rnd() * 3)]
        share = 1.0 if resident else 0.6 if source == "liaison_point" else (
            0.2 if source == "event" else 0.0)
        if rnd() < share:
            submitter = v.SURNAMES[int(rnd() * len(v.SURNAMES))] + ("女士", "先生")[rnd() < 0.5]
            phone = (("1380000", "1390000", "1860000", "1870000", "1500000")[int(rnd() * 5)]
                     + f"{int(rnd() * 10000):04d}")
        else:
            submitter = phone = null
        # A resident's words as they wrote them (often with their contact details); staff
        # publish the plain description when they accept it.
        submitted_title = submitted_text = null
        if resident:
            submitted_title, submitted_text = title, description
            if not duplicate and rnd() < CONTACT_SHARE:
                submitted_text = f"{description}联系人：{submitter}，电话{phone}。"
        coordinator, staff = site.cid, site.staff  # as text (or NULL)
        receiver = null if resident else coordinator

        # The intended history: (action, time, the action's values, actor, public); times are
        # epoch seconds, dates local day numbers, ids as the rows spell them.
        steps: list[tuple] = [("receive", t0, NO_VALUES, receiver, true)]
        rating_likely = resident or source == "event"
        if duplicate:  # refused at review: never published
            text = v.DUPLICATE_REASON.format(ref=duplicate[1])
            steps.append(("reject", self.after(t0, 0.1, 2), {"reason": text}, staff, true))
        else:
            path = (
                "stall" if now - t0 < STALL_DAYS * DAY and rnd() < STALL_SHARE
                else self.wpick(self.path_names, self.path_cum))
            at = t0
            if resident and path == "reject":  # out of scope: refused at review, unpublished
                steps.append(("reject", self.after(t0, *ACCEPT_DAYS),
                              {"reason": self.pick(v.REJECT_REASONS)}, staff, true))
            else:
                if resident:
                    at = self.after(t0, *ACCEPT_DAYS)
                    steps.append(("accept", at, {"title": title, "description": description},
                                  staff, true))
                self._path(steps, path, at, site, topic, f, issue_index, coordinator, staff,
                           rating_likely)

        # Apply the steps up to now with the lifecycle's own transitions (STEP_RULES).
        state = ISSUE_STATE.copy()
        status = null
        updated = t0
        add_update = self.add_update
        issue_str = str(issue_id)
        update_id = self.update_id
        for action, t, values, actor, public in steps:
            if t > now:
                break
            if action == "rate":
                if status in CLOSED:
                    state["satisfaction"], state["rated_at"], updated = values, t, t
                continue
            department_before = state["department_id"]
            if action == "receive":
                if resident:
                    target = PENDING
                else:
                    target = RECEIVED
                    state["published_at"] = t
            else:
                target, effect, stamps, first, is_public, by_target = STEP_RULES[action]
                if by_target is not None:  # confirm: the outcome the reply proposed
                    target = state["proposed_status"].value
                    stamps = by_target[target]
                state.update(effect(values, state))
                for name in stamps:
                    state[name] = t
                for name in first:
                    if state[name] is None:
                        state[name] = t
                if target is None:
                    target = status
                if action != "note":
                    public = true if is_public else false
            update_id += 1
            note = null if values is NO_VALUES else timeline_note(values)
            # As lifecycle.apply writes them: the department concerned, the due date after.
            concerned = state["department_id"] or department_before
            add_update((str(update_id), issue_str, action, status, target,
                        null if note is None else note, public, actor, ts(t),
                        null if concerned is None else str(concerned),
                        null if state["due_on"] is None else clock.day(state["due_on"])))
            status = target
            updated = t
        self.update_id = update_id
        token = f"{self.rng.getrandbits(128):032x}"
        day = clock.day
        due_on, planned_on = state["due_on"], state["planned_on"]
        resolved_at, closed_at, rated_at = (state["resolved_at"], state["closed_at"],
                                            state["rated_at"])
        published_at = state["published_at"]
        if state["assigned_at"] is None and state["returned_at"] is None:
            handling = self._no_handling  # never with a department: nothing handled
        else:
            handling = self._handling(state)
        # Published: the public text; a resident's submission not (yet) accepted: their words.
        row_title, row_description = state["title"] or title, state["description"] or description
        if resident and state["title"] is None:
            row_title, row_description = submitted_title, submitted_text
        self.add_issue((
            issue_str, reference, row_title, row_description, kind, topic.category,
            site.sid, site.did, null if event_id is None else str(event_id), source, submitter,
            phone, token, _or(state["department_id"], null),
            null if due_on is None else day(due_on),
            null if planned_on is None else day(planned_on),
            status, _or(state["resolution"], null),
            str(duplicate[0]) if duplicate and status == "rejected" else null,
            null if resolved_at is None else ts(resolved_at),
            null if closed_at is None else ts(closed_at),
            _or(state["satisfaction"], null), null if rated_at is None else ts(rated_at),
            null if resident else coordinator, "1", ts(t0), ts(updated),
            null if published_at is None else ts(published_at), submitted_title,
            submitted_text, *handling))
        return (issue_id, reference, title, description)

    def _handling(self, state: dict[str, Any]) -> tuple[Any, ...]:
        """The department handling columns of a problem's row, from its final state."""
        null, ts, day = self.dialect.null, self._ts, self.clock.day
        assigned, acknowledged, replied, returned = (
            state["assigned_at"], state["acknowledged_at"], state["replied_at"],
            state["returned_at"])
        proposed, proposed_on, requested = (state["proposed_status"],
                                            state["proposed_planned_on"],
                                            state["requested_due_on"])
        return (null if assigned is None else ts(assigned),
                null if acknowledged is None else ts(acknowledged),
                null if replied is None else ts(replied),
                _or(state["reply"], null), null if proposed is None else proposed.value,
                null if proposed_on is None else day(proposed_on),
                null if requested is None else day(requested),
                _or(state["extension_reason"], null), _or(state["rework_reason"], null),
                null if returned is None else ts(returned))

    def _path(self, steps: list[tuple], path: str, t0: int, site: Site, topic: Topic,
              f: Fields, issue_index: int, coordinator: str, staff: str,
              rating_likely: bool) -> None:
        """The history after receipt (and review) from ``t0``, appended to ``steps``."""
        rnd, clock = self.rnd, self.clock
        after = self.after
        true, false = self.dialect.true, self.dialect.false

        def resolution(dept: tuple[str, str] | None) -> str:
            if dept:
                f["dept"] = dept[1]
            return topic.resolutions[issue_index].format_map(f)

        def rating(closed: int, unhappy: bool = True) -> None:
            if rnd() < (0.5 if rating_likely else 0.2):
                options = SATISFACTION if unhappy else SATISFACTION[:2]
                choice = _weighted(rnd, options)
                steps.append(("rate", after(closed, 1, 15), choice, None, true))

        def take_up(at: int, dept: tuple[str, str], due_on: int) -> tuple[int, tuple, int]:
            """The department acknowledges (or starts at once); a few send it back first."""
            if rnd() < RETURN_SHARE:
                at = after(at, 0.3, 3)
                steps.append(("return", at, {"reason": self.pick(v.RETURN_REASONS)},
                              self.contacts[dept[0]], false))
                other = self.department(topic.departments, site)
                if other == dept:
                    other = (site.street.office if site.street.office != dept
                             else self.city_departments[site.district.id]["housing"])
                dept = other
                at = after(at, 0.1, 2)
                due_on = clock.local_day(at) + DUE_DAYS[int(rnd() * len(DUE_DAYS))]
                steps.append(("assign", at, {"department": dept[0], "due_on": due_on}, staff,
                              true))
            if rnd() < ACK_ON_TIME:
                at = after(at, 0.05, 1.5)
            else:
                at = after(at, 2, 6)
            action = "start" if rnd() < START_AT_ONCE else "acknowledge"
            steps.append((action, at, NO_VALUES, self.contacts[dept[0]], true))
            return at, dept, due_on

        def answer(at: int, dept: tuple[str, str], proposed: str, text: str,
                   planned_on: int | None = None) -> int:
            """答复 proposing an outcome, now and then back for rework, then 办结确认."""
            contact = self.contacts[dept[0]]
            reply = {"reply": text, "proposed_status": proposed, "planned_on": planned_on}
            steps.append(("reply", at, reply, contact, false))
            if rnd() < REWORK_SHARE:
                at = after(at, 0.3, 3)
                steps.append(("rework", at, {"reason": self.pick(v.REWORK_REASONS)}, staff,
                              false))
                at = after(at, 2, 10)
                steps.append(("reply", at, reply, contact, false))
            at = after(at, 0.2, 3)
            steps.append(("confirm", at, NO_VALUES, staff, true))
            return at

        if path == "reject":
            steps.append(("reject", after(t0, 0.1, 3), {"reason": self.pick(v.REJECT_REASONS)},
                          coordinator, true))
            return
        if path == "quick":
            at = after(t0, 0.3, 7)
            steps.append(("resolve", at, {"resolution": resolution(None)}, coordinator, true))
            rating(at)
            return
        dept = self.department(topic.departments, site)
        due_days = DUE_DAYS[int(rnd() * len(DUE_DAYS))]
        at = after(t0, 0.1, 3)
        due_on = clock.local_day(at) + due_days
        steps.append(("assign", at, {"department": dept[0], "due_on": due_on}, staff, true))
        if path == "reject_assigned":
            steps.append(("reject", after(at, 0.5, 5), {"reason": self.pick(v.REJECT_REASONS)},
                          staff, true))
            return
        if path == "assign_resolve":  # staff record the outcome the department gave them
            at = after(at, 1, due_days * 0.8)
            steps.append(("resolve", at, {"resolution": resolution(dept)}, staff, true))
            rating(at)
            return
        at, dept, due_on = take_up(at, dept, due_on)
        r = rnd()
        for _ in range(0 if r < 0.7 else 1 if r < 0.95 else 2):
            at = after(at, 1, 8)
            if rnd() < 0.8:
                f["dept"] = "承办单位"
                note = self.pick(topic.notes + v.PUBLIC_NOTES).format_map(f)
                steps.append(("note", at, {"note": note}, coordinator, true))
            else:
                steps.append(("note", at, {"note": self.pick(v.PRIVATE_NOTES)}, coordinator,
                              false))
        if path == "stall":
            return
        if rnd() < EXTENSION_SHARE:  # 申请延期, mostly approved (the due date moves)
            at = after(at, 0.5, 5)
            wanted = due_on + 10 + int(rnd() * 21)
            steps.append(("request_extension", at, {"requested_due_on": wanted,
                                                    "reason": self.pick(v.EXTENSION_REASONS)},
                          self.contacts[dept[0]], false))
            at = after(at, 0.3, 2)
            if rnd() < EXTENSION_APPROVED:
                steps.append(("approve_extension", at, NO_VALUES, staff, false))
                due_on = wanted
            else:
                steps.append(("refuse_extension", at,
                              {"reason": self.pick(v.REFUSE_EXTENSION_REASONS)}, staff, false))
        if path in ("standard", "reopen"):
            days_left = due_on - clock.local_day(at)
            if rnd() < 0.85:
                at = after(at, 1, max(1.5, days_left - 1))
            else:
                at = after(at, days_left + 1, days_left + 30)
            text = resolution(dept)
            at = answer(at, dept, "resolved", text)
            if path == "standard":
                rating(at)
                return
            rated = after(at, 1, 10)
            steps.append(("rate", rated, "unsatisfied", None, true))
            at = after(rated, 0.5, 3)
            steps.append(("reopen", at, {"reason": self.pick(v.REOPEN_REASONS)}, staff, true))
            at = after(at, 0.1, 2)
            due_on = clock.local_day(at) + self.pick((15, 20, 30))
            steps.append(("assign", at, {"department": dept[0], "due_on": due_on}, staff, true))
            at, dept, due_on = take_up(at, dept, due_on)
            at = answer(after(at, 3, 14), dept, "resolved", text)
            rating(at, unhappy=False)
            return
        if path == "constrain":
            at = after(at, 10, 45)
            at = answer(at, dept, "constrained", self.pick(topic.constraints).format_map(f))
            rating(at)
            return
        # 列入计划: kept (mostly due after today), later resolved, or later found impossible.
        at = after(at, 5, 30)
        plan_day = clock.local_day(at)
        if path == "plan" and rnd() < 0.8:
            planned_on = max(plan_day + 60, clock.today + 15 + int(rnd() * 385))
        else:
            planned_on = plan_day + 30 + int(rnd() * 210)
        f["next_year"] = clock.year(planned_on)
        at = answer(at, dept, "planned", self.pick(topic.plans).format_map(f), planned_on)
        span = max(1, planned_on - clock.local_day(at))
        if path == "plan_resolve":
            at = after(at, span * 0.6, span)
            steps.append(("resolve", at, {"resolution": resolution(dept)}, staff, true))
            rating(at)
        elif path == "plan_constrain":
            at = after(at, 30, 120)
            steps.append(("constrain", at,
                          {"resolution": self.pick(topic.constraints).format_map(f)}, staff, true))


def _cumulative(weights: Sequence[float]) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _weighted(rnd: Callable[[], float], options: Sequence[tuple[str, int]]) -> str:
    total = sum(w for _, w in options)
    x = rnd() * total
    for name, w in options:
        x -= w
        if x < 0:
            return name
    return options[-1][0]


def spread(total: int, weights: Sequence[float]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` by cumulative rounding: exact, and a small
    share still gets its turn (largest-remainder would give every day below one to the busiest)."""
    whole = sum(weights) or 1.0
    out, acc, given = [], 0.0, 0
    for w in weights:
        acc += w
        upto = int(total * acc / whole + 1e-9)
        out.append(upto - given)
        given = upto
    out[-1] += total - given
    return out


def _first(draft: tuple) -> int:
    return draft[0]


def _or(value: Any, null: Any) -> Any:
    return null if value is None else value


_CUM_MEMBERS = _cumulative((30, 35, 25, 10))
_KIND_ENUM = {k.value: k for k in KIND_WEIGHTS}
