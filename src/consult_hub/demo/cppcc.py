"""The CPPCC's other records in the demo: opinion reports (社情民意信息) and proposals (提案).

The demo year reproduces the seed's figures exactly (at city scale; scaled down with the
platforms otherwise): 1,590 reports submitted, 666 of them on 民生实事; 744 proposals
submitted, 708 accepted (573 by members, 135 collective), all replied, outcomes 669 / 24 / 15,
by field 285 / 44 / 79 / 253 / 47. The years after it, up to today, get about as many, with
the recent ones still under way. Every row is made by the lifecycles' transitions
(``opinions/lifecycle.py``, ``proposals/lifecycle.py``), as the web pages make them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from consult_hub.auth.models import Role
from consult_hub.demo.context import Demo
from consult_hub.demo.cppcc_topics import CPPCC_DEPARTMENTS, THEMES, Theme
from consult_hub.demo.events import Meeting
from consult_hub.demo.world import World
from consult_hub.members.models import MemberLevel

# The seed's figures for the demo year (提案办理回顾 and 数读).
PROPOSALS_SUBMITTED = 744
PROPOSALS_ACCEPTED_MEMBER = 573
PROPOSALS_ACCEPTED_COLLECTIVE = 135
PROPOSALS_BY_CATEGORY = (("economy", 285), ("politics", 44), ("culture", 79), ("society", 253),
                         ("ecology", 47))
PROPOSALS_BY_OUTCOME = (("resolved", 669), ("planned", 24), ("constrained", 15))
REPORTS_SUBMITTED = 1590  # "近1600篇"
REPORTS_LIVELIHOOD = 666  # "660余条，占……42%"
# Submissions by month (January: the annual session; February: the Spring Festival).
REPORT_MONTHS = (6, 5, 9, 10, 10, 9, 8, 7, 9, 10, 9, 8)


@dataclass
class CppccCounts:
    """What the report of a demo load says about proposals and opinion reports."""

    proposals: int = 0
    proposal_updates: int = 0
    reports: int = 0
    by_year: dict[int, Counter[str]] = field(default_factory=dict)
    prefixes: dict[str, int] = field(default_factory=dict)

    def year(self, year: int) -> Counter[str]:
        return self.by_year.setdefault(year, Counter())

    def lines(self, year: int) -> list[str]:
        """The load summary's lines: the year's proposals and opinion reports."""
        t = self.by_year.get(year, Counter())
        return [
            f"  proposals    {self.proposals} in all, {self.proposal_updates} timeline entries; "
            f"{year}: {t['proposals_submitted']} submitted, {t['proposals_accepted']} accepted "
            f"({t['proposals_not_accepted']} not), {t['proposals_replied']} replied",
            f"  opinion reports {self.reports} in all; {year}: {t['reports_submitted']} "
            f"submitted, {t['reports_livelihood']} on 民生实事, {t['reports_adopted']} adopted",
        ]


@dataclass
class Cppcc:
    """What both builders share: departments by key, members, the accounts that act."""

    demo: Demo
    world: World
    meetings: list[Meeting]
    departments: dict[str, tuple[int, str]]
    city_members: list[dict[str, Any]]
    members: list[dict[str, Any]]
    member_users: dict[int, int]  # member id → its account's user id
    reviewer_id: int | None  # the city staff who review proposals and edit reports
    # The demo member login's member (None when the demo has no member login).
    login_member: dict[str, Any] | None
    counts: CppccCounts = field(default_factory=CppccCounts)
    themes_by_category: dict[str, list[Theme]] = field(default_factory=dict)

    @property
    def years(self) -> list[int]:
        """The demo year and every year since, up to today."""
        return list(range(self.demo.year, max(self.demo.year, self.demo.today.year) + 1))

    def department(self, key: str) -> tuple[int, str]:
        return self.departments.get(key) or self.departments["housing"]

    def theme(self, category: str, fit: Callable[[Theme], bool] = lambda t: True) -> Theme:
        themes = [t for t in self.themes_by_category[category] if fit(t)] or \
            self.themes_by_category[category]
        return self.demo.pick(themes, [t.weight for t in themes])

    def district_name(self, district_id: int | None) -> str:
        for district in self.world.districts:
            if district.id == district_id:
                return district.name
        return self.demo.pick(self.world.districts).name

    def moment(self, day: date) -> datetime:
        """A working-hours moment of ``day``."""
        return self.demo.at(day, self.demo.rng.randint(9, 17), self.demo.rng.randint(0, 59))

    def year_end(self, year: int) -> datetime:
        return self.demo.at(date(year + 1, 1, 1), 0)


def build_cppcc(demo: Demo, world: World, meetings: list[Meeting]) -> CppccCounts:
    """Opinion reports first (proposals cite some of them), then proposals."""
    # Imported here: both builders import this module's shared parts.
    from consult_hub.demo.opinions import build_reports
    from consult_hub.demo.proposals import build_proposals

    cppcc = _setup(demo, world, meetings)
    build_reports(cppcc)
    build_proposals(cppcc)
    return cppcc.counts


def _setup(demo: Demo, world: World, meetings: list[Meeting]) -> Cppcc:
    departments = {**world.city_departments}
    taken = {row["code"] for row in demo.rows["departments"]}
    number = len(world.city_departments)
    for key, name in CPPCC_DEPARTMENTS:
        number += 1
        code = f"WH-{number:02d}"
        while code in taken:
            number += 1
            code = f"WH-{number:02d}"
        row = demo.add("departments", id=demo.next_id("departments"), code=code, name=name,
                       district_id=None, is_active=True)
        departments[key] = (row["id"], name)
    members = list(demo.rows["members"])
    city_members = [m for m in members if m["level"] is MemberLevel.CITY] or members
    users = demo.rows["users"]
    member_users = {u["member_id"]: u["id"] for u in users
                    if u.get("member_id") is not None and u["role"] is Role.MEMBER}
    login = next((u for u in users if u["role"] is Role.MEMBER and u.get("member_id")
                  and u["password_hash"] and not u["password_hash"].startswith("!")), None)
    login_member = next((m for m in members if login and m["id"] == login["member_id"]), None)
    reviewer = next((u["id"] for u in users if u["role"] is Role.ADMIN), None)
    by_category: dict[str, list[Theme]] = {}
    for theme in THEMES:
        by_category.setdefault(theme.category, []).append(theme)
    return Cppcc(demo, world, meetings, departments, city_members, members, member_users,
                 reviewer, login_member, themes_by_category=by_category)


def exact_or_jittered(cppcc: Cppcc, year: int, total: int) -> int:
    """The seed's count scaled to the demo (exactly, for the demo year), or about as many in
    a later year."""
    scaled = round(total * cppcc.demo.scale)
    if year == cppcc.demo.year:
        return scaled
    return max(0, round(scaled * cppcc.demo.rng.uniform(0.94, 1.06)))
