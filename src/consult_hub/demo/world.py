"""The city's fixed parts: areas, departments, members, platforms and staff accounts."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from consult_hub.areas.models import AreaLevel
from consult_hub.auth.models import Role
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import Demo, allocate
from consult_hub.members.models import MemberLevel
from consult_hub.platforms.models import PlatformKind, PlatformStatus
from consult_hub.platforms.operations import status_change

KIND_WEIGHTS = {PlatformKind.CONSULT_ROOM: 56, PlatformKind.LIAISON_POINT: 24,
                PlatformKind.MEMBER_STUDIO: 12, PlatformKind.CONSULT_HOME: 8}
# The demo coordinator's platforms: (kind, community), all in vocabulary.DEMO_STREET.
DEMO_PLATFORMS = ((PlatformKind.CONSULT_ROOM, "百步亭社区"),
                  (PlatformKind.LIAISON_POINT, "育才社区"),
                  (PlatformKind.CONSULT_ROOM, "幸福社区"), (PlatformKind.CONSULT_HOME, None))
# How busy a kind of platform is, relative to a consult room.
KIND_ACTIVITY = {PlatformKind.CONSULT_HOME: 1.3, PlatformKind.MEMBER_STUDIO: 1.2}
MemberRef = tuple[int, str, MemberLevel]  # id, name, level
# Placeholder accounts have this hash: it never verifies, so they cannot sign in.
NO_LOGIN_HASH = "!demo-account-without-password"


@dataclass(eq=False)
class Community:
    id: int
    name: str
    lat: float
    lon: float

    @property
    def stem(self) -> str:
        return self.name.removesuffix("社区").removesuffix("村")


class StreetNames:
    """How a street (街道/乡镇) reads in names; needs ``name``. Shared with bench/benchlib."""

    name: str

    @property
    def stem(self) -> str:
        for suffix in ("办事处", "街", "乡", "镇"):
            if self.name.endswith(suffix):
                return self.name[: -len(suffix)]
        return self.name

    @property
    def label(self) -> str:
        """How the street reads in a platform name: 后湖街, 辛安渡."""
        return self.stem if self.name.endswith("办事处") else self.name

    @property
    def office_name(self) -> str:
        if self.name.endswith(("乡", "镇")):
            return f"{self.name}人民政府"
        if self.name.endswith("办事处"):
            return self.name
        return f"{self.name}道办事处"


@dataclass(eq=False)
class Street(StreetNames):
    id: int
    code: str
    name: str
    rural: bool
    lat: float
    lon: float
    communities: list[Community] = field(default_factory=list)
    office: tuple[int, str] | None = None  # the street office, as a department


@dataclass(eq=False)
class District:
    id: int
    spec: v.District
    streets: list[Street] = field(default_factory=list)
    departments: dict[str, tuple[int, str]] = field(default_factory=dict)
    staff_id: int | None = None

    @property
    def name(self) -> str:
        return self.spec.name


@dataclass(eq=False)
class Site:
    """A platform, with what the text templates need to talk about its neighbourhood."""

    id: int
    code: str
    name: str
    kind: PlatformKind
    district: District
    street: Street
    community: Community | None
    established_on: date
    convener: str
    estates: list[str]
    school: str
    market: str
    park: str
    is_active: bool = True
    demonstration_year: int | None = None
    weight: float = 1.0  # how often it holds events and receives problems
    members: list[tuple[int, str]] = field(default_factory=list)
    coordinator_id: int | None = None
    address: str = ""

    @property
    def rural(self) -> bool:
        return self.street.rural

    def fields(self, demo: Demo, on: date) -> dict[str, Any]:
        """Values for the text templates, freshly drawn."""
        community = self.community or demo.pick(self.street.communities)
        return {
            "community": community.name, "street": self.street.name, "district": self.district.name,
            "estate": demo.pick(self.estates), "road": demo.pick(self.district.spec.roads),
            "n": demo.rng.randint(1, 24), "school": self.school, "market": self.market,
            "park": self.park, "water": demo.pick(self.district.spec.waters), "year": on.year,
            "next_year": on.year + 1, "k": demo.rng.randint(2, 9), "days": demo.rng.randint(5, 15),
            "dept": "社区",
        }


@dataclass
class World:
    districts: list[District]
    sites: list[Site]
    city_departments: dict[str, tuple[int, str]]
    demo_sites: list[Site]
    logins: list[tuple[str, str, str, str]]  # username, password, role label, name
    # The department the demo department login works for (an office of the demo district).
    demo_department: tuple[int, str]
    # Each department's contact (承办单位联系人): the user its acknowledgements and replies
    # are by. The demo login for the demo department; a placeholder without a password for
    # the others, made when a problem first reaches them.
    contacts: dict[int, int] = field(default_factory=dict)
    # The member (政协委员) the demo member login belongs to: (id, name, level).
    demo_member: MemberRef | None = None

    def contact(self, demo: Demo, department: tuple[int, str]) -> int:
        """The user who acts for ``department``."""
        user_id = self.contacts.get(department[0])
        if user_id is None:
            user_id = _user(demo, f"dept{department[0]:04d}", demo.person(), Role.DEPARTMENT,
                            NO_LOGIN_HASH, None, department[0])
            self.contacts[department[0]] = user_id
        return user_id

    def department(self, demo: Demo, kinds: tuple[str, ...], site: Site) -> tuple[int, str]:
        """The office a problem of one of these kinds goes to: mostly the district's own."""
        kind = demo.pick(kinds)
        if site.street.office and (kind == "street" or demo.chance(0.15)):
            return site.street.office
        local = site.district.departments.get(kind)
        if local and demo.chance(0.8):
            return local
        return self.city_departments.get(kind) or self.city_departments["housing"]


def build_world(demo: Demo, password_hashes: dict[str, str]) -> World:
    """Areas, departments, members, platforms and users, in that order."""
    districts = build_areas(demo)
    city_departments = build_departments(demo, districts)
    counts = _platforms_per_district(demo, districts)
    members = build_members(demo, districts, counts)
    sites, demo_sites = build_platforms(demo, districts, counts, members)
    demo_district = next(d for d in districts if d.spec.code == v.DEMO_DISTRICT)
    demo_department = demo_district.departments[v.DEMO_DEPARTMENT_KIND]
    contacts: dict[int, int] = {}
    demo_member = _demo_member(demo_sites, members, demo_district)
    logins = build_users(demo, districts, sites, demo_sites, password_hashes, demo_department,
                         contacts, demo_member)
    return World(districts, sites, city_departments, demo_sites, logins, demo_department,
                 contacts, demo_member)


# Areas ----------------------------------------------------------------------------------------

def _clamp(lat: float, lon: float) -> tuple[float, float]:
    return (round(min(max(lat, v.LAT_RANGE[0]), v.LAT_RANGE[1]), 6),
            round(min(max(lon, v.LON_RANGE[0]), v.LON_RANGE[1]), 6))


def _near(demo: Demo, lat: float, lon: float, spread: float) -> tuple[float, float]:
    """A point around (lat, lon), drawn again while it falls outside the city's bounds."""
    for _ in range(20):
        point = demo.rng.gauss(lat, spread), demo.rng.gauss(lon, spread)
        if _clamp(*point) == (round(point[0], 6), round(point[1], 6)):
            break
    return _clamp(*point)


def build_areas(demo: Demo) -> list[District]:
    """The 13 districts, their streets, and the communities and villages under them."""
    districts = []
    for spec in v.DISTRICTS:
        district = District(demo.next_id("areas"), spec)
        demo.add("areas", id=district.id, code=spec.code, name=spec.name,
                 level=AreaLevel.DISTRICT, parent_id=None)
        used: set[str] = set()
        for number, street_spec in enumerate(spec.streets, 1):
            district.streets.append(_build_street(demo, district, number, street_spec, used))
        districts.append(district)
    return districts


def _build_street(demo: Demo, district: District, number: int, spec: v.Street,
                  used: set[str]) -> Street:
    lat, lon = _near(demo, district.spec.lat, district.spec.lon, district.spec.spread)
    street = Street(demo.next_id("areas"), f"{district.spec.code}{number:03d}000", spec.name,
                    spec.rural, lat, lon)
    demo.add("areas", id=street.id, code=street.code, name=street.name, level=AreaLevel.STREET,
             parent_id=district.id)
    urban_number, village_number = 1, 201  # 居委会 001–199, 村委会 201– as in the national codes
    for name in _community_names(demo, district, street, used):
        if name.endswith("村"):
            code, village_number = f"{street.code[:9]}{village_number:03d}", village_number + 1
        else:
            code, urban_number = f"{street.code[:9]}{urban_number:03d}", urban_number + 1
        c_lat, c_lon = _near(demo, street.lat, street.lon, 0.006)
        community = Community(demo.next_id("areas"), name, c_lat, c_lon)
        demo.add("areas", id=community.id, code=code, name=name, level=AreaLevel.COMMUNITY,
                 parent_id=street.id)
        street.communities.append(community)
    return street


def _community_names(demo: Demo, district: District, street: Street, used: set[str]) -> list[str]:
    known = v.KNOWN_COMMUNITIES.get(street.name)
    if known:
        used.update(known)
        return list(known)
    names = []
    if street.rural or demo.chance(0.3):
        names.append(f"{street.stem}社区")
    count = demo.rng.randint(6, 10) if street.rural else demo.rng.randint(4, 8)
    while len(names) < count:
        if street.rural and demo.chance(0.75):
            name = _village_name(demo)
        elif demo.chance(0.15) and _small_roads(district):  # after a local road: 二七路社区
            name = f"{demo.pick(_small_roads(district))}社区"
        else:
            name = _community_name(demo)
        if name not in used and name not in names:
            names.append(name)
    used.update(names)
    return names


def _small_roads(district: District) -> list[str]:
    return [r for r in district.spec.roads if r.endswith(("路", "街")) and not r.endswith("大街")]


def _community_name(demo: Demo) -> str:
    stem = demo.pick(v.COMMUNITY_STEMS)
    tail = "" if stem.endswith(v.NO_TAIL_ENDINGS) else demo.pick(v.COMMUNITY_TAILS)
    return f"{stem}{tail}社区"


def _village_name(demo: Demo) -> str:
    if demo.chance(0.5):
        return f"{demo.pick(v.SURNAMES)}家{demo.pick(v.VILLAGE_TAILS)}村"
    return f"{demo.pick(v.VILLAGE_STEMS)}村"


# Departments ----------------------------------------------------------------------------------

def build_departments(demo: Demo, districts: list[District]) -> dict[str, tuple[int, str]]:
    """City offices, each district's offices and every street office."""
    city = {}
    for number, (kind, city_name, _suffix) in enumerate(v.DEPARTMENT_KINDS, 1):
        city[kind] = (_department(demo, f"WH-{number:02d}", city_name, None), city_name)
    for district in districts:
        has_villages = any(s.rural for s in district.streets)
        for number, (kind, _city_name, suffix) in enumerate(v.DEPARTMENT_KINDS, 1):
            if suffix is None or (kind in v.RURAL_DEPARTMENTS and not has_villages):
                continue
            name = f"{district.name}{suffix}"
            district.departments[kind] = (
                _department(demo, f"{district.spec.code}-{number:02d}", name, district.id), name)
        for street in district.streets:
            street.office = (_department(demo, street.code, street.office_name, district.id),
                             street.office_name)
    return city


def _department(demo: Demo, code: str, name: str, district_id: int | None) -> int:
    row = demo.add("departments", id=demo.next_id("departments"), code=code, name=name,
                   district_id=district_id, is_active=True)
    return row["id"]


# Members --------------------------------------------------------------------------------------

def _platforms_per_district(demo: Demo, districts: list[District]) -> list[int]:
    """Split the platforms across districts; the demo district gets at least four."""
    counts = allocate(demo.platforms, [d.spec.weight for d in districts])
    demo_index = next(i for i, d in enumerate(districts) if d.spec.code == v.DEMO_DISTRICT)
    wanted = min(demo.platforms, len(DEMO_PLATFORMS))
    while counts[demo_index] < wanted:
        donor = max(range(len(counts)), key=lambda i: (counts[i] if i != demo_index else -1, -i))
        counts[donor] -= 1
        counts[demo_index] += 1
    return counts


def build_members(demo: Demo, districts: list[District],
                  counts: list[int]) -> dict[int, list[MemberRef]]:
    """CPPCC members (several hundred at city scale), grouped by the district they serve."""
    total = max(6, round(demo.platforms * 0.8))
    per_district = allocate(total, [c + 0.01 for c in counts])
    sectors = [s for s, _ in v.SECTORS]
    sector_weights = [w for _, w in v.SECTORS]
    since = demo.at(date(demo.year - 3, 1, 10), 9)
    members: dict[int, list[MemberRef]] = {}
    for district, count in zip(districts, per_district, strict=True):
        members[district.id] = []
        for _ in range(count):
            member_id = demo.next_id("members")
            level = MemberLevel.CITY if demo.chance(0.3) else MemberLevel.DISTRICT
            name = demo.person()
            demo.add("members", id=member_id, code=f"WY{member_id:04d}", name=name,
                     sector=demo.pick(sectors, sector_weights), level=level,
                     district_id=district.id, is_active=True, created_at=since, updated_at=since)
            members[district.id].append((member_id, name, level))
    return members


# Platforms ------------------------------------------------------------------------------------

@dataclass
class _Slot:
    kind: PlatformKind
    street: Street
    community: Community | None


def build_platforms(demo: Demo, districts: list[District], counts: list[int],
                    members: dict[int, list[MemberRef]]) -> tuple[list[Site], list[Site]]:
    """Place every platform in a district, street and community; link its members."""
    sites: list[Site] = []
    demo_sites: list[Site] = []
    names: set[str] = set()
    for district, count in zip(districts, counts, strict=True):
        slots = _slots(demo, district, count)
        studio_leads = list(members[district.id])
        demo.rng.shuffle(studio_leads)
        for number, slot in enumerate(slots, 1):
            site = _site(demo, district, slot, number, names, studio_leads)
            _link_members(demo, site, members)
            sites.append(site)
            if district.spec.code == v.DEMO_DISTRICT and number <= len(DEMO_PLATFORMS):
                demo_sites.append(site)
    _schedule_founding(demo, sites, demo_sites)
    for site in sites:
        _add_platform_row(demo, site)
    return sites, demo_sites


def _slots(demo: Demo, district: District, count: int) -> list[_Slot]:
    """Which kind of platform goes where; the demo street's platforms come first."""
    slots: list[_Slot] = []
    homes = list(district.streets)
    rooms = [(s, c) for s in district.streets for c in s.communities]
    demo.rng.shuffle(homes)
    demo.rng.shuffle(rooms)
    if district.spec.code == v.DEMO_DISTRICT:
        street = next(s for s in district.streets if s.name == v.DEMO_STREET)
        for kind, community_name in DEMO_PLATFORMS[:count]:
            community = next((c for c in street.communities if c.name == community_name), None)
            slots.append(_Slot(kind, street, community))
            if kind is PlatformKind.CONSULT_HOME:
                homes.remove(street)
            else:
                rooms.remove((street, community))
    kinds, weights = list(KIND_WEIGHTS), list(KIND_WEIGHTS.values())
    while len(slots) < count:
        kind = demo.pick(kinds, weights)
        if kind is PlatformKind.CONSULT_HOME and not homes:
            kind = PlatformKind.CONSULT_ROOM
        if kind is PlatformKind.CONSULT_HOME:
            slots.append(_Slot(kind, homes.pop(), None))
        elif kind is PlatformKind.MEMBER_STUDIO:
            slots.append(_Slot(kind, demo.pick(district.streets), None))
        elif kind is PlatformKind.CONSULT_ROOM and rooms:
            street, community = rooms.pop()
            slots.append(_Slot(kind, street, community))
        else:
            street = demo.pick(district.streets)
            slots.append(_Slot(kind, street, demo.pick(street.communities)))
    return slots


def _site(demo: Demo, district: District, slot: _Slot, number: int, names: set[str],
          studio_leads: list[MemberRef]) -> Site:
    street, community = slot.street, slot.community
    place = community or demo.pick(street.communities)
    lead = studio_leads.pop() if slot.kind is PlatformKind.MEMBER_STUDIO and studio_leads else None
    name = _unique_name(demo, slot, district, lead, names)
    school = demo.pick(("小学", "小学", "实验小学", "中学"))
    site = Site(
        id=demo.next_id("platforms"), code=f"{district.spec.code}-{number:04d}", name=name,
        kind=slot.kind, district=district, street=street, community=community,
        established_on=date.min, convener=lead[1] if lead else demo.person(),
        estates=_estates(demo, street.rural), school=f"{place.stem}{school}",
        market=f"{street.stem}{demo.pick(('菜市场', '农贸市场'))}", park=f"{place.stem}口袋公园",
    )
    if lead:
        site.members.append((lead[0], lead[1]))
    return site


def _unique_name(demo: Demo, slot: _Slot, district: District,
                 lead: MemberRef | None, names: set[str]) -> str:
    street, community = slot.street, slot.community
    where = community.name if community else street.label
    if slot.kind is PlatformKind.CONSULT_ROOM:
        options = [f"{street.label}{where}协商议事室"]
        options += [f"{street.label}{where}“{b}”协商议事室" for b in v.CONSULT_ROOM_BRANDS]
        if demo.chance(0.15):
            options.insert(0, options.pop(1 + demo.rng.randrange(len(v.CONSULT_ROOM_BRANDS))))
    elif slot.kind is PlatformKind.LIAISON_POINT:
        options = [f"{district.name}政协社情民意联系点（{where}）",
                   f"{street.label}{where}社情民意联系点"]
        if demo.chance(0.5):
            options.reverse()
    elif slot.kind is PlatformKind.MEMBER_STUDIO:
        options = [f"{district.name}政协委员工作室（{street.label}）"]
        if lead:
            options.insert(0 if demo.chance(0.6) else 1, f"{lead[1]}委员工作室")
    else:
        options = [f"{street.label}协商议事之家"]
    options.append(f"{options[0]}（{demo.pick(street.communities).name}）")
    for name in options:
        if name not in names:
            names.add(name)
            return name
    number = 2
    while f"{options[0]}{number}" in names:
        number += 1
    names.add(f"{options[0]}{number}")
    return f"{options[0]}{number}"


def _estates(demo: Demo, rural: bool) -> list[str]:
    estates: list[str] = []
    while len(estates) < 3:
        if rural:
            name = f"{demo.pick(v.SURNAMES)}家{demo.pick(('湾', '墩', '岗', '咀'))}"
        elif demo.chance(0.2):
            name = demo.pick(v.UNIT_QUARTERS)
        else:
            name = f"{demo.pick(v.ESTATE_STEMS)}{demo.pick(v.ESTATE_TAILS)}"
        if name not in estates:
            estates.append(name)
    return estates


def _link_members(demo: Demo, site: Site,
                  members: dict[int, list[MemberRef]]) -> None:
    """2–5 members per platform, from its district first (下沉委员)."""
    wanted = demo.pick((2, 3, 4, 5), (30, 35, 25, 10))
    pool = [m for m in members[site.district.id] if m[0] not in {x for x, _ in site.members}]
    if len(pool) + len(site.members) < wanted:
        pool += [m for d in sorted(members) if d != site.district.id for m in members[d]
                 if m[2] is MemberLevel.CITY]
    chosen = demo.rng.sample(pool, min(len(pool), wanted - len(site.members)))
    for member_id, name, _level in chosen:
        site.members.append((member_id, name))
    for member_id, _name in site.members:
        demo.add("platform_members", platform_id=site.id, member_id=member_id)


def _schedule_founding(demo: Demo, sites: list[Site], demo_sites: list[Site]) -> None:
    """Three in four founded before the year, the rest during it (at least 30 days ago)."""
    year = demo.year
    early = (date(year - 3, 3, 1), date(year - 1, 12, 31))
    earliest = (date(year - 3, 3, 1), date(year - 1, 6, 30))  # the demo platforms: long running
    late_end = min(date(year, 10, 31), demo.today - timedelta(days=30))
    order = list(sites)
    demo.rng.shuffle(order)
    order.sort(key=lambda s: s not in demo_sites)  # the demo ones first: founded early
    for index, site in enumerate(order):
        in_year = index >= (len(order) * 3 + 3) // 4 and late_end >= date(year, 1, 1)
        window = (date(year, 1, 1), late_end) if in_year else early
        site.established_on = demo.day_between(*(earliest if site in demo_sites else window))
        site.weight = KIND_ACTIVITY.get(site.kind, 1.0)
        if site is order[0] or (not in_year and demo.chance(0.12)):  # 示范点
            first = max(site.established_on.year + 1, year - 2)
            site.demonstration_year = demo.rng.randint(min(first, year), year)
            site.weight *= 2.5
    suspended = round(demo.platforms * 0.005)
    for site in demo.rng.sample([s for s in sites if s not in demo_sites], suspended):
        site.is_active = False


def _add_platform_row(demo: Demo, site: Site) -> None:
    place = site.community or demo.pick(site.street.communities)
    lat, lon = _near(demo, place.lat, place.lon, 0.002)
    founded = demo.at(site.established_on, 9)
    site.address = _address(demo, site)
    demo.add(
        "platforms", id=site.id, code=site.code, name=site.name, kind=site.kind,
        area_id=site.community.id if site.community else site.street.id,
        district_id=site.district.id, address=site.address, latitude=lat, longitude=lon,
        convener=site.convener, description=_description(demo, site),
        established_on=site.established_on, is_demonstration=site.demonstration_year is not None,
        demonstration_year=site.demonstration_year,
        status=PlatformStatus.ACTIVE if site.is_active else PlatformStatus.SUSPENDED,
        version=1, created_at=founded, updated_at=founded,
    )
    # Its status history: opened on its founding day; a suspended one stopped at the start of
    # the year after the demo's (it holds events in the year, none after: demo/events.py).
    demo.add("platform_status_changes", **status_change(
        site.id, None, PlatformStatus.ACTIVE, effective_on=site.established_on, actor_id=None,
        now=founded).history)
    if not site.is_active:
        stopped = max(site.established_on, min(date(demo.year + 1, 1, 1), demo.today))
        demo.add("platform_status_changes", **status_change(
            site.id, PlatformStatus.ACTIVE, PlatformStatus.SUSPENDED, effective_on=stopped,
            actor_id=None, reason="场地改造，暂停开展活动", now=demo.at(stopped, 9)).history)


def _address(demo: Demo, site: Site) -> str:
    district, street, community = site.district.name, site.street, site.community
    if community and community.name.endswith("村"):
        return f"{district}{street.name}{community.name}村委会"
    road = f"{district}{demo.pick(site.district.spec.roads)}{demo.rng.randint(1, 680)}号"
    if site.kind is PlatformKind.LIAISON_POINT:
        return road + demo.pick(("",
                                 f"{community.name if community else street.name}党群服务中心一楼",
                                 f"{site.estates[0]}物业服务中心"))
    if site.kind is PlatformKind.MEMBER_STUDIO:
        return road + f"{street.name}党群服务中心三楼"
    return road + f"{community.name if community else street.name}党群服务中心"


def _description(demo: Demo, site: Site) -> str:
    where = site.community.name if site.community else site.street.name
    if site.kind is PlatformKind.MEMBER_STUDIO:
        return (f"由政协委员{site.convener}领衔，{len(site.members)}名委员下沉{site.street.name}，"
                "每月固定时间接待居民来访，收集社情民意，推动房前屋后实事解决。")
    if site.kind is PlatformKind.LIAISON_POINT:
        return (f"设在{where}，由区政协委员联系，收集辖区居民、商户和新就业群体的意见建议，"
                "经整理后报送区政协。")
    if site.kind is PlatformKind.CONSULT_HOME:
        return (f"{site.street.name}协商议事之家统筹辖区各社区协商议事室，"
                "承接跨社区、跨部门的协商议题，"
                "邀请政协委员、职能部门和居民代表“有事好商量”。")
    return (f"依托{where}党群服务中心设立，召集人{site.convener}。"
            "坚持“居民点题、委员参与、部门回应”，"
            f"{demo.pick(('每月', '每季度'))}至少开展一次协商议事活动。")


# Users ----------------------------------------------------------------------------------------

def _demo_member(demo_sites: list[Site], members: dict[int, list[MemberRef]],
                 demo_district: District) -> MemberRef:
    """The member of the demo member login, chosen without drawing (the rest of the demo stays
    as it was): one serving at the demo coordinator's platforms (江岸区后湖街), preferably a
    city member (市政协委员) of the demo district, then the one serving at most of them."""
    known = {ref[0]: (district_id, ref) for district_id, refs in members.items() for ref in refs}
    serving = [member_id for site in demo_sites for member_id, _name in site.members]
    if not serving:  # a demo too small for the demo platforms' members: any member
        return next(ref for refs in members.values() for ref in refs)

    def rank(member_id: int) -> tuple[bool, bool, int, int]:
        district_id, ref = known[member_id]
        return (ref[2] is not MemberLevel.CITY, district_id != demo_district.id,
                -serving.count(member_id), serving.index(member_id))

    return known[min(dict.fromkeys(serving), key=rank)][1]


def build_users(demo: Demo, districts: list[District], sites: list[Site], demo_sites: list[Site],
                password_hashes: dict[str, str], demo_department: tuple[int, str],
                contacts: dict[int, int],
                demo_member: MemberRef | None = None) -> list[tuple[str, str, str, str]]:
    """The demo logins (the department one for ``demo_department``, the member one for
    ``demo_member``), a staff member per other district and a coordinator per street."""
    demo_district = next(d for d in districts if d.spec.code == v.DEMO_DISTRICT)
    logins = []
    for username, password, role, name in v.DEMO_USERS:
        role = Role(role)
        if role is Role.MEMBER and demo_member is None:
            continue
        department_id = demo_department[0] if role is Role.DEPARTMENT else None
        member_id = demo_member[0] if role is Role.MEMBER and demo_member else None
        name = demo_member[1] if role is Role.MEMBER and demo_member else name
        user_id = _user(demo, username, name, role, password_hashes[username],
                        demo_district.id if role is Role.DISTRICT_ADMIN else None, department_id,
                        member_id)
        where = (f"({demo_district.name})" if role is Role.DISTRICT_ADMIN
                 else f"({demo_department[1]})" if role is Role.DEPARTMENT
                 else f"({demo_member[2].label}, {member_id})" if demo_member and member_id
                 else "")
        logins.append((username, password, role.label, name + where))
        if role is Role.DISTRICT_ADMIN:
            demo_district.staff_id = user_id
        elif role is Role.DEPARTMENT:
            contacts[demo_department[0]] = user_id
        elif role is Role.COORDINATOR:
            _coordinate(demo, user_id, demo_sites)
    for district in districts:
        if district.staff_id is None:
            district.staff_id = _user(demo, f"staff{district.spec.code}", demo.person(),
                                      Role.DISTRICT_ADMIN, NO_LOGIN_HASH, district.id)
    by_street: dict[int, list[Site]] = {}
    for site in sites:
        if site not in demo_sites:
            by_street.setdefault(site.street.id, []).append(site)
    for street_sites in by_street.values():
        code = street_sites[0].street.code[:9]
        user_id = _user(demo, f"coord{code}", demo.person(), Role.COORDINATOR, NO_LOGIN_HASH, None)
        _coordinate(demo, user_id, street_sites)
    return logins


def _user(demo: Demo, username: str, name: str, role: Role, password_hash: str,
          district_id: int | None, department_id: int | None = None,
          member_id: int | None = None) -> int:
    joined = demo.at(date(demo.year - 1, 12, 1), 9)
    row = demo.add("users", id=demo.next_id("users"), username=username, name=name, email=None,
                   password_hash=password_hash, role=role, district_id=district_id,
                   department_id=department_id, member_id=member_id, is_active=True,
                   locale="zh", last_login_at=None, session_token=secrets.token_hex(16),
                   created_at=joined, updated_at=joined)
    return row["id"]


def _coordinate(demo: Demo, user_id: int, sites: list[Site]) -> None:
    for site in sites:
        site.coordinator_id = user_id
        demo.add("platform_coordinators", platform_id=site.id, user_id=user_id)
