"""Consultation events: the seed's count held in the year, and a live calendar around now."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import CITY_EVENTS, Demo, Picker, weighted_days
from consult_hub.demo.topics import Topic, fill, topic_choices
from consult_hub.demo.world import Site, World
from consult_hub.events import lifecycle
from consult_hub.events.models import EventFormat, EventStatus

# Fewer meetings around the Spring Festival and in the summer heat.
MONTH_WEIGHTS = (0.6, 0.5, 1.0, 1.0, 1.0, 1.0, 0.8, 0.8, 1.1, 1.1, 1.1, 1.0)
START_TIMES = ((9, 0), (9, 30), (10, 0), (14, 30), (15, 0), (19, 0), (19, 30))
CANCELLED_SHARE = 0.03
LEAD_DAYS = 14  # a platform holds its first event at least this long after it was founded


@dataclass(eq=False)
class Meeting:
    """A held event, as the problems raised at it see it."""

    id: int
    site: Site
    topic: Topic
    title: str
    ends_at: datetime
    held_at: datetime


@dataclass
class EventCounts:
    held_in_year: int = 0
    cancelled_in_year: int = 0
    upcoming: int = 0
    minutes_missing: int = 0
    total: int = 0


def build_events(demo: Demo, world: World) -> tuple[list[Meeting], EventCounts]:
    """Events of the year (exactly scaled to 1,220 held), of the time since, and ahead."""
    counts = EventCounts()
    meetings: list[Meeting] = []
    held = round(CITY_EVENTS * demo.scale)
    year_end = min(date(demo.year, 12, 31), demo.today - timedelta(days=1))
    every_site = _picker(world.sites, active_only=False)
    for site in world.demo_sites[:3]:  # the demo coordinator's platforms are busy ones
        start = max(date(demo.year, 1, 1), site.established_on + timedelta(days=LEAD_DAYS))
        for _ in range(min(2, held - counts.held_in_year) if start <= year_end else 0):
            meetings.append(_held(demo, world, site, demo.day_between(start, year_end)))
            counts.held_in_year += 1
    meetings += _series(demo, world, every_site, date(demo.year, 1, 1), year_end,
                        held - counts.held_in_year, EventStatus.HELD)
    counts.held_in_year = held
    counts.cancelled_in_year = round(held * CANCELLED_SHARE)
    _series(demo, world, every_site, date(demo.year, 1, 1), year_end, counts.cancelled_in_year,
            EventStatus.CANCELLED)
    meetings += _since_the_year(demo, world)
    counts.minutes_missing = _minutes_missing(demo, world)
    counts.upcoming = _upcoming(demo, world)
    counts.total = len(demo.rows["events"])
    return meetings, counts


def _picker(sites: list[Site], *, active_only: bool) -> Picker[Site]:
    chosen = [s for s in sites if s.is_active or not active_only]
    return Picker(chosen, [s.established_on + timedelta(days=LEAD_DAYS) for s in chosen],
                  [s.weight for s in chosen])


def _series(demo: Demo, world: World, picker: Picker[Site], first: date, last: date,
            count: int, status: EventStatus) -> list[Meeting]:
    """``count`` events spread over the days from ``first`` to ``last``."""
    if count <= 0 or last < first:
        return []
    days, cumulative = weighted_days(first, last, MONTH_WEIGHTS)
    meetings = []
    while count:
        day = demo.rng.choices(days, cum_weights=cumulative)[0]
        site = picker.pick(demo.rng, day)
        if site is None:
            continue  # no platform yet on that day: draw another
        if status is EventStatus.CANCELLED:
            _cancelled(demo, world, site, day)
        else:
            meetings.append(_held(demo, world, site, day))
        count -= 1
    return meetings


def _since_the_year(demo: Demo, world: World) -> list[Meeting]:
    """Held and cancelled events from the next 1 January up to yesterday, at the year's pace."""
    first, last = date(demo.year + 1, 1, 1), demo.today - timedelta(days=1)
    if last < first:
        return []
    per_day = round(CITY_EVENTS * demo.scale) / 365
    days = (last - first).days + 1
    active = _picker(world.sites, active_only=True)
    meetings = _series(demo, world, active, first, last, round(per_day * days), EventStatus.HELD)
    _series(demo, world, active, first, last, round(per_day * days * CANCELLED_SHARE),
            EventStatus.CANCELLED)
    return meetings


def _minutes_missing(demo: Demo, world: World) -> int:
    """A few events that ended days ago but are still 'planned': their minutes are due."""
    active = [s for s in world.sites if s.is_active]
    others = max(1, round(6 * demo.scale))
    sites = [world.demo_sites[0]] + [demo.pick(active) for _ in range(others)]
    for site in sites:
        day = demo.today - timedelta(days=demo.rng.randint(2, 9))
        _event_row(demo, world, site, _start(demo, day), EventStatus.PLANNED)
    return len(sites)


def _upcoming(demo: Demo, world: World) -> int:
    """Planned events: three for the demo coordinator within 72 hours, the rest over six weeks."""
    count = 0
    for hours, site in zip((18, 42, 66), world.demo_sites, strict=False):
        _event_row(demo, world, site, _soon(demo, hours), EventStatus.PLANNED)
        count += 1
    active = [s for s in world.sites if s.is_active]
    for _ in range(max(3, round(CITY_EVENTS * demo.scale * 42 / 365))):
        day = demo.today + timedelta(days=demo.rng.randint(1, 42))
        _event_row(demo, world, demo.pick(active), _start(demo, day), EventStatus.PLANNED)
        count += 1
    return count


def _soon(demo: Demo, hours: int) -> datetime:
    """About ``hours`` from now, moved earlier into daytime, still in the future."""
    local = demo.local(demo.now + timedelta(hours=hours))
    if local.hour < 9:
        local = (local - timedelta(days=1)).replace(hour=19, minute=0)
    elif local.hour >= 21:
        local = local.replace(hour=19, minute=0)
    else:
        local = local.replace(minute=0 if local.minute < 30 else 30)
    return local.replace(second=0, microsecond=0).astimezone(demo.now.tzinfo)


def _start(demo: Demo, day: date) -> datetime:
    return demo.at(day, *demo.pick(START_TIMES))


def _held(demo: Demo, world: World, site: Site, day: date) -> Meeting:
    row, topic = _event_row(demo, world, site, _start(demo, day), EventStatus.HELD)
    return Meeting(row["id"], site, topic, row["topic"], row["ends_at"], row["held_at"])


def _cancelled(demo: Demo, world: World, site: Site, day: date) -> None:
    _event_row(demo, world, site, _start(demo, day), EventStatus.CANCELLED)


def _event_row(demo: Demo, world: World, site: Site, starts_at: datetime,
               status: EventStatus) -> tuple[dict[str, Any], Topic]:
    """Add one event; held ones get minutes, attendees and (when old enough) an outcome."""
    topics, weights = topic_choices(site.rural)
    topic = demo.pick(topics, weights)
    fields = site.fields(demo, demo.local(starts_at).date())
    ends_at = starts_at + timedelta(minutes=demo.pick((90, 120, 120, 150)))
    announced = timedelta(days=demo.rng.randint(5, 20), hours=demo.rng.randint(0, 8))
    created_at = min(starts_at - announced, demo.now - timedelta(hours=1))
    location = site.address if demo.chance(0.7) else fill(demo.pick(v.EVENT_LOCATIONS), fields)
    row = demo.add(
        "events", id=demo.next_id("events"), code=None, platform_id=site.id,
        topic=fill(demo.pick(topic.events), fields), category=Category(topic.category),
        starts_at=starts_at, ends_at=ends_at, location=location,
        format=demo.pick((EventFormat.ONSITE, EventFormat.HYBRID, EventFormat.ONLINE), (85, 10, 5)),
        agenda=(f"一、{fields['community']}通报{topic.subject}有关情况\n二、居民代表发言\n"
                "三、政协委员和相关部门回应\n四、协商形成意见建议"),
        status=status, minutes=None, opinions=None, resident_count=0, department_count=0,
        expert_count=0, held_at=None, outcome=None, concluded_at=None, cancel_reason=None,
        cancelled_at=None, sequence=0, created_by_id=site.coordinator_id, version=1,
        created_at=created_at, updated_at=created_at,
    )
    if status is EventStatus.HELD:
        _hold(demo, world, site, topic, fields, row)
    elif status is EventStatus.CANCELLED:
        reason = demo.pick(v.CANCEL_REASONS)
        cancelled_at = min(demo.after(created_at, 0.5, 4), starts_at - timedelta(hours=2))
        row.update(lifecycle.changes("cancel", {"reason": reason}, cancelled_at),
                   updated_at=cancelled_at)
    return row, topic


def _hold(demo: Demo, world: World, site: Site, topic: Topic, fields: dict[str, Any],
          row: dict[str, Any]) -> None:
    """Fill in what a coordinator logs after the meeting, and its outcome when fed back."""
    attendees = demo.rng.sample(site.members, min(len(site.members), demo.rng.randint(1, 3)))
    for member_id, _name in attendees:
        demo.add("event_attendees", event_id=row["id"], member_id=member_id)
    departments = sorted({world.department(demo, topic.departments, site)[1]
                          for _ in range(demo.rng.randint(1, 3))})
    residents = demo.rng.randint(8, 45)
    experts = demo.pick((0, 0, 0, 1, 2, 3))
    points = demo.rng.sample(topic.consensus, min(3, len(topic.consensus)))
    record = dict(
        resident_count=residents, department_count=len(departments), expert_count=experts,
        minutes=_minutes(demo, site, row, topic, fields, [n for _, n in attendees], departments,
                         residents, experts, points),
        opinions="\n".join(f"{n}、{fill(p, fields)}。"
                           for n, p in zip("一二三", points, strict=False)),
    )
    held_at = min(row["ends_at"] + timedelta(hours=demo.rng.randint(1, 30)), demo.now)
    row.update(lifecycle.changes("record", record, held_at), updated_at=held_at)
    age = (demo.today - demo.local(row["starts_at"]).date()).days
    if demo.chance(0.65 if age > 60 else 0.35 if age > 14 else 0.0):
        concluded_at = demo.after(held_at, 7, 45)
        if concluded_at < demo.now:
            outcome = _outcome(demo, topic, fields, departments)
            row.update(lifecycle.changes("conclude", {"outcome": outcome}, concluded_at),
                       updated_at=concluded_at)


def _minutes(demo: Demo, site: Site, row: dict[str, Any], topic: Topic, fields: dict[str, Any],
             members: list[str], departments: list[str], residents: int, experts: int,
             points: list[str]) -> str:
    start = demo.local(row["starts_at"])
    who = f"政协委员{'、'.join(members)}，" if members else ""
    expert_text = f"，另邀请{experts}名律师、规划师等专业人士列席" if experts else ""
    agreed = "；".join(fill(p, fields) for p in points)
    return (
        f"{start.year}年{start.month}月{start.day}日{start:%H:%M}，{site.name}围绕“{row['topic']}”"
        f"开展协商议事活动。召集人{site.convener}主持，{who}{'、'.join(departments)}负责同志"
        f"和居民代表{residents}人参加{expert_text}。\n"
        f"会上，{fields['community']}通报了{topic.subject}有关情况，居民代表逐一发言，"
        "政协委员结合前期走访调研情况提出建议，相关部门负责同志现场作了回应。\n"
        f"经充分协商，会议形成以下共识：{agreed}。"
    )


def _outcome(demo: Demo, topic: Topic, fields: dict[str, Any], departments: list[str]) -> str:
    text = fill(demo.pick(topic.outcomes), fields)
    follow = demo.pick((f"协商意见已交{departments[0]}办理落实，办理情况已向居民公示。",
                        "协商成果已纳入街道年度为民办实事项目。",
                        "相关做法被区政协作为“一线协商·共同缔造”典型案例推广。"))
    return f"{text}{follow}"
