"""Load demonstration data: one city at the seed's scale (1,006 platforms, 1,220 events, 1,300+
problems resolved in the year), generated from a seed so that a reload gives the same data.

Only the secrets differ between two loads: password hashes (salted) and session tokens.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import record
from consult_hub.auth.models import User
from consult_hub.auth.passwords import hash_password
from consult_hub.core.db import utcnow
from consult_hub.core.prose import with_html
from consult_hub.core.timefmt import local_zone
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import CITY_PLATFORMS, Demo
from consult_hub.demo.cppcc import CppccCounts, build_cppcc
from consult_hub.demo.events import EventCounts, build_events
from consult_hub.demo.issues import IssueCounts, build_issues
from consult_hub.demo.world import World, build_world
from consult_hub.extensions import db
from consult_hub.issues.models import OPEN_STATUSES, ReferenceCounter
from consult_hub.platforms.models import Platform

# Parents before children, so that every foreign key points at a row already written.
TABLE_ORDER = ("areas", "departments", "members", "platforms", "platform_status_changes",
               "users", "platform_members",
               "platform_coordinators", "events", "event_attendees", "issues", "issue_updates",
               "opinion_reports", "opinion_report_events", "opinion_report_issues", "proposals",
               "proposal_members", "proposal_departments", "proposal_updates", "proposal_issues",
               "proposal_opinion_reports")
BATCH = 5000


class DemoRefused(Exception):
    """The database already holds data and --force was not given."""


def parse_scale(scale: str) -> int:
    """``city`` → 1006 platforms; a positive whole number → that many platforms."""
    text = (scale or "").strip().lower()
    if text == "city":
        return CITY_PLATFORMS
    if re.fullmatch(r"[0-9]+", text) and int(text) > 0:
        return int(text)
    raise ValueError(
        f"scale must be 'city' ({CITY_PLATFORMS} platforms) or a positive whole number of "
        f"platforms, not {scale!r}"
    )


@dataclass
class DemoReport:
    seed: int
    year: int
    platforms: int
    seconds: float
    areas: Counter[str] = field(default_factory=Counter)
    platform_kinds: Counter[str] = field(default_factory=Counter)
    demonstration: int = 0
    members: int = 0
    departments: int = 0
    users: int = 0
    events: EventCounts = field(default_factory=EventCounts)
    issues: IssueCounts = field(default_factory=IssueCounts)
    logins: list[tuple[str, str, str, str]] = field(default_factory=list)
    coordinator_platforms: list[str] = field(default_factory=list)
    cppcc: CppccCounts = field(default_factory=CppccCounts)

    def text(self) -> str:
        """A summary for the terminal, ending with the demo logins and their passwords."""
        e, i, status, actions = self.events, self.issues, self.issues.by_status, \
            self.issues.actions
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.platform_kinds.items()))
        lines = [
            f"Demo data loaded in {self.seconds:.1f} s (seed {self.seed}, year {self.year}).",
            f"  areas        {self.areas['district']} districts, {self.areas['street']} streets, "
            f"{self.areas['community']} communities and villages",
            f"  platforms    {self.platforms} ({kinds}); {self.demonstration} demonstration sites",
            f"  members      {self.members}; departments {self.departments}; "
            f"staff accounts {self.users}",
            f"  events       {e.total} in all: {e.held_in_year} held in {self.year}, "
            f"{e.cancelled_in_year} cancelled in {self.year}, {e.upcoming} planned ahead, "
            f"{e.minutes_missing} past but without minutes",
            f"  problems     {i.total} in all, {i.updates} timeline entries: "
            f"{i.resolved_in_year} resolved in {self.year}; now open "
            f"{sum(status[s.value] for s in OPEN_STATUSES) - status['planned']} "
            f"({i.overdue} overdue, {status['pending']} waiting for review, "
            f"{status['replied']} replies to confirm), planned {status['planned']}, constrained "
            f"{status['constrained']}, rejected {status['rejected']} ({i.duplicates} duplicates); "
            f"{i.rated} rated; {i.total - i.unpublished} published",
            f"  departments' handling  {actions['acknowledge']} acknowledged, "
            f"{actions['reply']} replies ({actions['rework']} returned for rework), "
            f"{actions['confirm']} confirmed, {actions['request_extension']} extensions asked "
            f"({actions['approve_extension']} approved), {actions['return']} sent back",
            f"  {self.year}: 全市共建成一线协商平台、社情民意联系点{self.platforms}个，"
            "开展协商议事活动"
            f"{e.held_in_year}场次，促进了{i.resolved_in_year}个群众急难愁盼问题、房前屋后实事、"
            "基层治理难事得到解决。",
            *self.cppcc.lines(self.year),
            "",
            "Demo logins (demo passwords: change or remove these accounts before real use):",
        ]
        for username, password, role, name in self.logins:
            lines.append(f"  {username:<12} {password:<24} {role} {name}")
        if self.coordinator_platforms:
            lines.append(f"  coordinator's platforms: {'、'.join(self.coordinator_platforms)}")
        lines.append("Other staff accounts (staff…, coord…, dept…) have no password and cannot "
                     "sign in.")
        return "\n".join(lines)


def load_demo(
    *,
    platforms: int,
    seed: int,
    year: int,
    force: bool,
    progress: Callable[[str], None] | None = None,
    now: datetime | None = None,
) -> DemoReport:
    """Generate the demo city and commit it; refuse a non-empty database unless ``force``."""
    say = progress or (lambda _message: None)
    now = now or utcnow()
    _check(platforms, year, now)
    if not force and not _is_empty():
        raise DemoRefused("the database already holds data; pass --force to wipe every "
                          "table and load the demo data")
    if force:
        _wipe()
        say("wiped every table")
    started = time.perf_counter()
    demo = Demo(random.Random(seed), now, year, platforms, local_zone())
    hashes = {username: hash_password(password) for username, password, *_ in v.DEMO_USERS}
    world = build_world(demo, hashes)
    say(f"areas {len(demo.rows['areas'])}, departments {len(demo.rows['departments'])}, "
        f"members {len(demo.rows['members'])}")
    say(f"platforms {len(world.sites)}, users {len(demo.rows['users'])}")
    meetings, events = build_events(demo, world)
    say(f"events {events.total}")
    issues = build_issues(demo, world, meetings)
    say(f"issues {issues.total}, timeline entries {issues.updates}")
    cppcc = build_cppcc(demo, world, meetings)
    say(f"opinion reports {cppcc.reports}, proposals {cppcc.proposals}")
    _write(demo, say)
    _set_counters({**issues.prefixes, **cppcc.prefixes})
    _reset_sequences()
    report = _report(demo, world, events, issues, seed, time.perf_counter() - started)
    report.cppcc = cppcc
    record("demo_load", changes={"seed": seed, "year": year, "platforms": platforms,
                                 "events": events.total, "issues": issues.total})
    db.session.commit()
    say(f"done in {report.seconds:.1f} s")
    return report


def _check(platforms: int, year: int, now: datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("now must be an aware datetime")
    if platforms < 1:
        raise ValueError("the demo needs at least one platform")
    today = now.astimezone(local_zone()).date()
    if today <= date(year, 1, 1):
        raise ValueError(f"year {year} has not begun yet (today is {today:%Y-%m-%d}); "
                         "choose a year whose events can already have been held")


def _is_empty() -> bool:
    """True when there is no platform, user or area."""
    return all(db.session.scalar(sa.select(model.id).limit(1)) is None
               for model in (Platform, User, Area))


def _wipe() -> None:
    """Delete every row of every table, children first."""
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())


def _write(demo: Demo, say: Callable[[str], None]) -> None:
    """Bulk-insert the queued rows, table by table, in batches."""
    say("writing to the database…")
    for name in TABLE_ORDER:
        rows = [with_html(name, row) for row in demo.rows.get(name, [])]  # core/prose.py
        table = db.metadata.tables[name]
        for start in range(0, len(rows), BATCH):
            db.session.execute(table.insert(), rows[start:start + BATCH])


def _set_counters(last_numbers: dict[str, int]) -> None:
    """Make later receipts continue each year's sequence after the demo's last number."""
    prefixes = sorted(last_numbers)
    if not prefixes:
        return
    db.session.execute(sa.delete(ReferenceCounter).where(ReferenceCounter.prefix.in_(prefixes)))
    db.session.execute(sa.insert(ReferenceCounter),
                       [{"prefix": p, "last_value": last_numbers[p]} for p in prefixes])


def _reset_sequences() -> None:
    """On PostgreSQL, move each id sequence past the ids the demo assigned itself, never back:
    a sequence is outside the transaction (a load rolled back keeps it moved), and one moved
    back below ids written since would hand out one of them again."""
    if db.session.get_bind().dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        if "id" in table.c and table.c.id.primary_key:
            sequence = f"pg_get_serial_sequence('{table.name}', 'id')"
            db.session.execute(sa.text(
                f"SELECT setval({sequence}, GREATEST(COALESCE(MAX(id), 0) + 1, "
                f"nextval({sequence})), false) FROM {table.name}"))


def _report(demo: Demo, world: World, events: EventCounts, issues: IssueCounts, seed: int,
            seconds: float) -> DemoReport:
    rows = demo.rows
    return DemoReport(
        seed=seed, year=demo.year, platforms=len(world.sites), seconds=seconds,
        areas=Counter(AreaLevel(r["level"]).value for r in rows["areas"]),
        platform_kinds=Counter(s.kind.value for s in world.sites),
        demonstration=sum(1 for s in world.sites if s.demonstration_year),
        members=len(rows["members"]), departments=len(rows["departments"]),
        users=len(rows["users"]), events=events, issues=issues, logins=world.logins,
        coordinator_platforms=[s.name for s in world.demo_sites],
    )
