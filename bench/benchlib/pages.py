"""The pages to time, each with URLs that vary across requests.

Every page is a :class:`Page`: a label, who asks (anonymous, or a staff role signed in), and a
function from the request number to a URL, so that successive requests read different
platforms, events, problems, districts, search words and deep pages, not one hot row.
The ids come from the database itself (random ids over the whole id range), plus the
dataset's ``sample`` where it names a city's districts.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

PUBLIC, STAFF, API = "public", "staff", "api"


@dataclass
class Page:
    name: str
    url: Callable[[int], str]
    kind: str = PUBLIC  # public page, staff page, or machine interface (API, feeds count as public)
    role: str | None = None  # staff role signed in; None: anonymous
    endpoint: str = ""


@dataclass
class Pools:
    """Ids and words to vary the requests, drawn at random from the whole dataset."""

    platform_ids: list[int] = field(default_factory=list)
    event_ids: list[int] = field(default_factory=list)
    references: list[str] = field(default_factory=list)  # problems with a public outcome
    # any published problem, open or closed (API, Open311); an unpublished one answers 404
    any_references: list[str] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    district_ids: list[int] = field(default_factory=list)
    district_codes: list[str] = field(default_factory=list)
    streets: dict[int, list[int]] = field(default_factory=dict)
    words: list[str] = field(default_factory=list)
    months: list[date] = field(default_factory=list)  # recent complete months, newest first
    years: list[int] = field(default_factory=list)
    proposal_ids: list[int] = field(default_factory=list)  # accepted: public pages
    open_issue_ids: list[int] = field(default_factory=list)  # still being handled: staff act
    report_ids: list[int] = field(default_factory=list)  # opinion reports (社情民意)
    editable_proposal_ids: list[int] = field(default_factory=list)  # drafts, awaiting 立案
    proposal_years: list[int] = field(default_factory=list)  # years with accepted proposals
    counts: dict[str, int] = field(default_factory=dict)  # list sizes, for deep pages

    def pick(self, values: list[Any], n: int) -> Any:
        return values[n % len(values)]


def _sample_ids(column: Any, where: list[Any], k: int, rng: random.Random) -> list[int]:
    """About ``k`` distinct ids matching ``where``, spread over the whole id range."""
    from consult_hub.extensions import db

    low, high = db.session.execute(sa.select(sa.func.min(column), sa.func.max(column))
                                   .where(*where)).one()
    if low is None:
        return []
    found: set[int] = set()
    for _ in range(k * 2):
        start = rng.randint(low, high)
        ident = db.session.scalar(sa.select(column).where(column >= start, *where)
                                  .order_by(column).limit(1))
        if ident is not None:
            found.add(ident)
        if len(found) >= k:
            break
    ids = sorted(found)
    rng.shuffle(ids)
    return ids


def _months_back(last: date, count: int) -> list[date]:
    months, month = [], last
    for _ in range(count):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    return months


def last_complete_month(today: date, latest: date | None) -> date:
    """The month before the newest record's month (before this month, whichever is earlier)."""
    ceiling = today.replace(day=1)
    if latest is not None:
        ceiling = min(ceiling, latest.replace(day=1))
    return (ceiling - timedelta(days=1)).replace(day=1)


def gather(sample: dict[str, Any], *, k: int = 200, seed: int = 7) -> Pools:
    """Pools from the database of the current app context."""
    from consult_hub.areas.models import Area, AreaLevel
    from consult_hub.core.db import utcnow
    from consult_hub.events.models import Event
    from consult_hub.extensions import db
    from consult_hub.issues.models import OPEN_STATUSES, Issue
    from consult_hub.opinions.models import OpinionReport
    from consult_hub.platforms.models import Platform
    from consult_hub.proposals.models import ACCEPTED_STATUSES, Proposal, ProposalStatus
    from consult_hub.public.queries import OUTCOME_STATUSES, PUBLISHED

    rng = random.Random(seed)
    pools = Pools()
    session = db.session
    pools.platform_ids = _sample_ids(Platform.id, [], k, rng)
    pools.event_ids = _sample_ids(Event.id, [], k, rng)
    outcome_ids = _sample_ids(Issue.id, [Issue.status.in_(OUTCOME_STATUSES), PUBLISHED], k, rng)
    any_ids = _sample_ids(Issue.id, [PUBLISHED], k, rng)
    pools.references = list(session.scalars(sa.select(Issue.reference).where(
        Issue.id.in_(outcome_ids))))
    pools.any_references = list(session.scalars(sa.select(Issue.reference).where(
        Issue.id.in_(any_ids))))
    token_ids = _sample_ids(Issue.id, [Issue.tracking_token.is_not(None)], min(k, 50), rng)
    pools.tokens = list(session.scalars(sa.select(Issue.tracking_token).where(
        Issue.id.in_(token_ids))))
    for pool in (pools.references, pools.any_references, pools.tokens):
        rng.shuffle(pool)
    districts = session.execute(sa.select(Area.id, Area.code).where(
        Area.level == AreaLevel.DISTRICT).order_by(Area.id)).all()
    wanted = list(sample.get("city_district_ids") or [])
    chosen = [d for d in districts if d.id in wanted] or list(districts)
    rng.shuffle(chosen)
    chosen = chosen[:k]
    pools.district_ids = [d.id for d in chosen]
    pools.district_codes = [d.code for d in chosen]
    for district_id in pools.district_ids[:20]:
        pools.streets[district_id] = list(session.scalars(sa.select(Area.id).where(
            Area.parent_id == district_id, Area.level == AreaLevel.STREET).limit(50)))
    pools.streets = {d: s for d, s in pools.streets.items() if s}
    names = session.execute(sa.select(Platform.name, Platform.address).where(
        Platform.id.in_(pools.platform_ids[:60]))).all()
    for name, address in names:
        for text in (name, address):
            text = (text or "").strip()
            if len(text) >= 4:
                start = rng.randint(0, len(text) - 3)
                pools.words.append(text[start:start + rng.choice((2, 3))])
    pools.words = pools.words or ["社区"]
    latest = session.scalar(sa.select(sa.func.max(Issue.created_at)))
    today = utcnow().date()
    last = last_complete_month(today, latest.date() if latest else None)
    pools.months = _months_back(last, 24)
    pools.years = sorted({m.year for m in pools.months[:36]}, reverse=True)[:3]
    pools.proposal_ids = _sample_ids(Proposal.id, [Proposal.status.in_(ACCEPTED_STATUSES)], k,
                                     rng)
    pools.open_issue_ids = _sample_ids(Issue.id, [Issue.status.in_(OPEN_STATUSES)], k, rng)
    pools.report_ids = _sample_ids(OpinionReport.id, [], k, rng)
    pools.editable_proposal_ids = _sample_ids(Proposal.id, [Proposal.status.in_(
        [ProposalStatus.DRAFT, ProposalStatus.SUBMITTED])], k, rng)
    pools.proposal_years = list(session.scalars(
        sa.select(Proposal.year).where(Proposal.status.in_(ACCEPTED_STATUSES)).distinct()
        .order_by(Proposal.year.desc())))
    pools.counts = {
        "proposals": session.scalar(sa.select(sa.func.count()).select_from(Proposal).where(
            Proposal.status.in_(ACCEPTED_STATUSES))) or 0,
        "platforms": session.scalar(sa.select(sa.func.count()).select_from(Platform)) or 0,
        "past_events": session.scalar(sa.select(sa.func.count()).select_from(Event).where(
            Event.starts_at < utcnow())) or 0,
        "outcomes": session.scalar(sa.select(sa.func.count()).select_from(Issue).where(
            Issue.status.in_(OUTCOME_STATUSES))) or 0,
        "issues": session.scalar(sa.select(sa.func.count()).select_from(Issue)) or 0,
    }
    return pools


def _deep(count: int, n: int, per_page: int = 30, public: bool = True) -> int:
    """A page in the second half of a list of ``count`` rows (varies with ``n``).

    Public lists are browsed only to their first ``BROWSE_LIMIT`` rows (core/pagination.py;
    the filters reach the rest): there, the second half of what can be browsed.
    """
    if public:
        from consult_hub.core.pagination import BROWSE_LIMIT

        count = min(count, BROWSE_LIMIT)
    pages = max(1, -(-count // per_page))
    if pages < 4:
        return pages
    half = pages // 2
    return half + (n * 7919) % (pages - half)


def pages(p: Pools) -> list[Page]:
    """Every public page, feed and API list, then the main staff lists by role."""
    pick = p.pick
    kinds = ["consult_room", "member_studio", "liaison_point", "consult_home"]
    categories = ["economy", "politics", "culture", "society", "ecology"]
    statuses = ["resolved", "planned", "constrained"]

    def street(n: int) -> str:
        if not p.streets:
            return f"/platforms?district={pick(p.district_ids, n)}"
        district = pick(sorted(p.streets), n)
        return f"/platforms?district={district}&street={pick(p.streets[district], n // 3)}"

    def month(n: int) -> date:
        return pick(p.months, n)

    out = [
        Page("home", lambda n: "/", endpoint="main.index"),
        Page("directory", lambda n: "/platforms", endpoint="public.platforms"),
        Page("directory ?page=deep", lambda n: f"/platforms?page={_deep(p.counts['platforms'], n)}",
             endpoint="public.platforms"),
        Page("directory ?district", lambda n: f"/platforms?district={pick(p.district_ids, n)}",
             endpoint="public.platforms"),
        Page("directory ?district&street", street, endpoint="public.platforms"),
        Page("directory ?kind&demo", lambda n: f"/platforms?kind={pick(kinds, n)}&demo=1",
             endpoint="public.platforms"),
        Page("directory ?q=search", lambda n: f"/platforms?q={pick(p.words, n)}",
             endpoint="public.platforms"),
        Page("directory ?district&q", lambda n: f"/platforms?district={pick(p.district_ids, n)}"
             f"&q={pick(p.words, n // 2)}", endpoint="public.platforms"),
        Page("platform page", lambda n: f"/platforms/{pick(p.platform_ids, n)}",
             endpoint="public.platform"),
        Page("events (upcoming)", lambda n: "/events", endpoint="public.events"),
        Page("events ?when=past", lambda n: "/events?when=past", endpoint="public.events"),
        Page("events ?past&page=deep",
             lambda n: f"/events?when=past&page={_deep(p.counts['past_events'], n)}",
             endpoint="public.events"),
        Page("events ?district", lambda n: f"/events?when=past&district={pick(p.district_ids, n)}",
             endpoint="public.events"),
        Page("platform events", lambda n: f"/events?when=past&platform={pick(p.platform_ids, n)}",
             endpoint="public.events"),
        Page("event page", lambda n: f"/events/{pick(p.event_ids, n)}", endpoint="public.event"),
        Page("outcomes", lambda n: "/outcomes", endpoint="public.outcomes"),
        Page("outcomes ?status&category&district",
             lambda n: f"/outcomes?status={pick(statuses, n)}&category={pick(categories, n // 3)}"
             f"&district={pick(p.district_ids, n)}", endpoint="public.outcomes"),
        Page("outcomes ?page=deep", lambda n: f"/outcomes?page={_deep(p.counts['outcomes'], n)}",
             endpoint="public.outcomes"),
        Page("outcome page /issues/<ref>", lambda n: f"/issues/{pick(p.references, n)}",
             endpoint="public.issue"),
        Page("track form", lambda n: "/track", endpoint="public.track"),
        Page("submit form", lambda n: "/submit", endpoint="public.submit"),
        Page("submit form ?platform", lambda n: f"/submit?platform={pick(p.platform_ids, n)}",
             endpoint="public.submit"),
        Page("feeds index", lambda n: "/feeds/", endpoint="feeds.index"),
        Page("iCal city", lambda n: "/feeds/events.ics", endpoint="feeds.city_events"),
        Page("iCal district", lambda n: f"/feeds/districts/{pick(p.district_codes, n)}.ics",
             endpoint="feeds.district_events"),
        Page("iCal platform", lambda n: f"/feeds/platforms/{pick(p.platform_ids, n)}.ics",
             endpoint="feeds.platform_events"),
        Page("Atom outcomes", lambda n: "/feeds/outcomes.atom", endpoint="feeds.outcomes"),
        Page("reports index", lambda n: "/reports", endpoint="tallies.public_index"),
        Page("report year", lambda n: f"/reports/{pick(p.years, n)}",
             endpoint="tallies.public_year"),
        Page("report month", lambda n: f"/reports/{month(n).year}/{month(n).month:02d}",
             endpoint="tallies.public_month"),
        Page("API platforms", lambda n: "/api/v1/platforms", API, endpoint="api.platforms"),
        Page("API platforms ?district&page",
             lambda n: f"/api/v1/platforms?district={pick(p.district_codes, n)}&page={1 + n % 3}",
             API, endpoint="api.platforms"),
        Page("API platform", lambda n: f"/api/v1/platforms/{pick(p.platform_ids, n)}", API,
             endpoint="api.platform"),
        Page("API events", lambda n: "/api/v1/events", API, endpoint="api.events"),
        Page("API events ?platform_id",
             lambda n: f"/api/v1/events?platform_id={pick(p.platform_ids, n)}", API,
             endpoint="api.events"),
        Page("API event", lambda n: f"/api/v1/events/{pick(p.event_ids, n)}", API,
             endpoint="api.event"),
        Page("API issues", lambda n: "/api/v1/issues", API, endpoint="api.issues"),
        Page("API issues ?status&district",
             lambda n: f"/api/v1/issues?status={pick(statuses, n)}"
             f"&district={pick(p.district_codes, n)}", API, endpoint="api.issues"),
        Page("API issue", lambda n: f"/api/v1/issues/{pick(p.any_references, n)}", API,
             endpoint="api.issue"),
        Page("API districts", lambda n: "/api/v1/districts", API, endpoint="api.districts"),
        Page("API departments", lambda n: "/api/v1/departments", API, endpoint="api.departments"),
        Page("API city tally", lambda n: f"/api/v1/tallies/{month(n):%Y-%m}", API,
             endpoint="api.city_tally"),
        Page("API district tally",
             lambda n: f"/api/v1/tallies/{month(n):%Y-%m}/districts/{pick(p.district_codes, n)}",
             API, endpoint="api.district_tally"),
        Page("Open311 requests", lambda n: "/open311/v2/requests.json", API,
             endpoint="open311.requests"),
        Page("Open311 request",
             lambda n: f"/open311/v2/requests/{pick(p.any_references, n)}.json", API,
             endpoint="open311.request_detail"),
    ]
    if p.proposal_ids:  # the public proposal pages (提案), where the dataset has proposals
        at = out.index(next(x for x in out if x.name == "reports index"))
        out[at:at] = [
            Page("proposals", lambda n: "/proposals", endpoint="proposals.public_index"),
            Page("proposals ?page=deep",
                 lambda n: f"/proposals?page={_deep(p.counts['proposals'], n)}",
                 endpoint="proposals.public_index"),
            Page("proposals ?year&category",
                 lambda n: f"/proposals?year={pick(p.proposal_years, n)}"
                 f"&category={pick(categories, n // 2)}", endpoint="proposals.public_index"),
            Page("proposal page", lambda n: f"/proposals/{pick(p.proposal_ids, n)}",
                 endpoint="proposals.public_show"),
            Page("proposals review", lambda n: f"/proposals/review/{pick(p.proposal_years, n)}",
                 endpoint="proposals.review"),
        ]
        out += [
            Page("API proposals", lambda n: f"/api/v1/proposals?page={1 + n % 3}", API,
                 endpoint="api.proposals"),
            Page("API proposal", lambda n: f"/api/v1/proposals/{pick(p.proposal_ids, n)}", API,
                 endpoint="api.proposal"),
            Page("API year review", lambda n: f"/api/v1/tallies/years/{pick(p.proposal_years, n)}",
                 API, endpoint="api.city_year_review"),
        ]
    if p.tokens:
        out.insert(out.index(next(x for x in out if x.name == "track form")) + 1,
                   Page("tracking page /track/<token>", lambda n: f"/track/{pick(p.tokens, n)}",
                        endpoint="public.track_token"))
    staff = [
        ("dashboard", "/dashboard", ("admin", "district_admin", "coordinator")),
        ("platforms list", "/manage/platforms/", ("admin", "district_admin")),
        ("events list", "/manage/events/", ("admin", "coordinator")),
        ("problems list", "/manage/issues/", ("admin", "district_admin", "coordinator")),
        # Raising a problem starts by choosing its platform: every platform within reach.
        ("raise a problem", "/manage/issues/new", ("admin", "district_admin")),
        ("write an opinion report", "/manage/opinion-reports/new", ("admin", "district_admin")),
        ("write a proposal", "/manage/proposals/new", ("admin", "district_admin")),
        ("notification inbox", "/inbox/", ("district_admin", "coordinator")),
        ("proposals list", "/manage/proposals/", ("admin", "district_admin")),
        ("opinion reports list", "/manage/opinion-reports/", ("admin", "district_admin")),
        ("audit log", "/manage/audit/", ("admin",)),
    ]
    for name, path, roles in staff:
        for role in roles:
            out.append(Page(f"{name} [{role}]", lambda n, path=path: path, STAFF, role))
    out += [
        Page("platforms list ?district&page=2 [admin]",
             lambda n: f"/manage/platforms/?district_id={pick(p.district_ids, n)}&page=2",
             STAFF, "admin"),
        Page("platforms list ?page=deep [admin]",
             lambda n: f"/manage/platforms/?page={_deep(p.counts['platforms'], n, public=False)}",
             STAFF, "admin"),
        Page("events list ?status&category [admin]",
             lambda n: f"/manage/events/?status=held&category={pick(categories, n)}", STAFF,
             "admin"),
        Page("problems list ?status=assigned&overdue [district_admin]",
             lambda n: "/manage/issues/?status=assigned&overdue=y", STAFF, "district_admin"),
        Page("problems list ?district&kind [admin]",
             lambda n: f"/manage/issues/?district={pick(p.district_ids, n)}"
             f"&kind={pick(['urgent', 'doorstep', 'governance'], n)}", STAFF, "admin"),
        Page("problems list ?q=search [admin]",
             lambda n: f"/manage/issues/?q={pick(p.words, n)}", STAFF, "admin"),
        Page("problems list ?page=deep [admin]",
             lambda n: f"/manage/issues/?page={_deep(p.counts['issues'], n, public=False)}",
             STAFF, "admin"),
        # The records staff open to act on: a problem still being handled (its action forms
        # with their department lists), a proposal, an opinion report, an event, a platform
        # (those the dataset has: the ten-year city has no proposals or opinion reports).
        *(Page(f"{name} [admin]", lambda n, pool=pool, path=path: path.format(pick(pool, n)),
               STAFF, "admin")
          for name, pool, path in (
              ("staff problem page (open)", p.open_issue_ids, "/manage/issues/{}"),
              ("staff proposal page", p.proposal_ids, "/manage/proposals/{}"),
              ("edit a proposal", p.editable_proposal_ids, "/manage/proposals/{}/edit"),
              ("staff opinion report page", p.report_ids, "/manage/opinion-reports/{}"),
              ("staff event page", p.event_ids, "/manage/events/{}"),
              ("staff platform page", p.platform_ids, "/manage/platforms/{}"))
          if pool),
        Page("staff report month [admin]", lambda n: f"/manage/reports/{month(n):%Y-%m}", STAFF,
             "admin"),
        Page("staff report month [district_admin]",
             lambda n: f"/manage/reports/{month(n):%Y-%m}", STAFF, "district_admin"),
        Page("staff report year [admin]", lambda n: f"/manage/reports/year/{pick(p.years, n)}",
             STAFF, "admin"),
        Page("staff report year [district_admin]",
             lambda n: f"/manage/reports/year/{pick(p.years, n)}", STAFF, "district_admin"),
    ]
    return out
