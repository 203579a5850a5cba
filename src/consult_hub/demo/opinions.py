"""Opinion reports (社情民意信息): written by liaison points' coordinators, members and district
CPPCCs, sent (报送), then adopted (编发 in an issue of 《社情民意》) or not; some adopted ones
forwarded to the province or the national CPPCC, a few with a leader's instruction and what
followed it.

Each report is drawn as steps (submit, perhaps return and submit again, adopt or not_adopt,
forward, instruct, follow_up); steps later than now are dropped, which leaves recent reports
waiting for a decision. The row is then derived step by step by ``opinions/lifecycle.py``'s
transitions. A platform's report on residents' matters is written from one of its held events
(with the problems raised there) or from its problems, and links them.
"""

from __future__ import annotations

import bisect
import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.demo.context import Picker, weighted_days
from consult_hub.demo.cppcc import (
    REPORT_MONTHS,
    REPORTS_LIVELIHOOD,
    REPORTS_SUBMITTED,
    Cppcc,
    exact_or_jittered,
)
from consult_hub.demo.cppcc_topics import (
    ADOPTED_NOTES,
    BULLETIN,
    FOLLOW_UPS,
    INSTRUCTIONS,
    LEADERS,
    NOT_ADOPTED_NOTES,
    REPORT_OPENINGS,
    REPORT_TITLES,
    Theme,
    numbered,
    render,
    theme_fields,
    what_about,
)
from consult_hub.demo.events import Meeting
from consult_hub.demo.topics import TOPICS, Topic, fill, topic_choices
from consult_hub.demo.world import Site
from consult_hub.opinions.lifecycle import TRANSITIONS
from consult_hub.opinions.models import SENT_STATUSES, OpinionSource, OpinionStatus
from consult_hub.opinions.operations import counter_prefix, format_reference
from consult_hub.platforms.models import PlatformKind

SRC = OpinionSource
# Where reports come from: on residents' matters mostly the platforms, otherwise members.
SOURCES = {True: ((SRC.PLATFORM, SRC.MEMBER, SRC.DISTRICT), (55, 30, 15)),
           False: ((SRC.MEMBER, SRC.DISTRICT, SRC.PLATFORM), (62, 23, 15))}
SITE_WEIGHTS = {PlatformKind.LIAISON_POINT: 4.0, PlatformKind.MEMBER_STUDIO: 2.0}
ADOPT_SHARE = {True: 0.33, False: 0.28}
DECIDE_DAYS = (3, 25)
FORWARD_SHARE = 0.2  # of the adopted: to the province; of those, later to the national CPPCC
NATIONAL_SHARE = 0.2
INSTRUCT_SHARE = 0.05  # of the adopted
FOLLOW_UP_SHARE = 0.8
RETURN_SHARE = 0.04  # sent back for revision once, then sent again
DRAFT_SHARE = 0.025  # written in the year and never sent
RETURN_REASONS = ("请补充具体数据和典型案例后再报送。", "请核实所反映情况，并提出有针对性的建议。",
                  "标题与内容不够对应，请修改后报送。")
# Which department a topic's instruction goes to (topics name department kinds or "street").
STREET = "housing"


@dataclass
class Step:
    action: str
    at: datetime
    values: dict[str, Any] = field(default_factory=dict)


@dataclass(eq=False)
class Report:
    created_at: datetime
    row: dict[str, Any]
    steps: list[Step] = field(default_factory=list)
    events: list[int] = field(default_factory=list)
    issues: list[int] = field(default_factory=list)
    lead_key: str = "housing"  # the department a leader's instruction names


class ReportBuilder:
    def __init__(self, cppcc: Cppcc) -> None:
        self.cppcc, self.demo = cppcc, cppcc.demo
        self.reports: list[Report] = []
        sites = cppcc.world.sites
        self.sites = Picker(sites, [s.established_on for s in sites],
                            [SITE_WEIGHTS.get(s.kind, 1.0) for s in sites])
        self.meetings: dict[int, list[Meeting]] = defaultdict(list)
        for meeting in sorted(cppcc.meetings, key=lambda m: m.ends_at):
            self.meetings[meeting.site.id].append(meeting)
        self.event_issues: dict[int, list[int]] = defaultdict(list)
        self.site_issues: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        for issue in self.demo.rows["issues"]:
            if issue["published_at"] is None:
                continue
            if issue["event_id"] is not None:
                self.event_issues[issue["event_id"]].append(issue["id"])
            self.site_issues[issue["platform_id"]].append((issue["published_at"], issue["id"]))
        for entries in self.site_issues.values():
            entries.sort()
        self.issue_published = {i["id"]: i["published_at"] for i in self.demo.rows["issues"]}
        self.issue_rows = {i["id"]: i for i in self.demo.rows["issues"]}
        self.topics_of: dict[int, Topic | None] = {}
        city = {m["id"] for m in cppcc.city_members}
        self.member_weights = list(itertools.accumulate(
            2.0 if m["id"] in city else 1.0 for m in cppcc.members))
        self.district_weights = list(itertools.accumulate(
            d.spec.weight for d in cppcc.world.districts))

    # Drawing ----------------------------------------------------------------------------------

    def year(self, year: int) -> None:
        """The year's reports, sent on days weighted by month; the demo year's counts exact."""
        demo, cppcc = self.demo, self.cppcc
        total = exact_or_jittered(cppcc, year, REPORTS_SUBMITTED)
        livelihood = round(total * REPORTS_LIVELIHOOD / REPORTS_SUBMITTED)
        if year == demo.year:
            livelihood = round(REPORTS_LIVELIHOOD * demo.scale)
        last = min(date(year, 12, 31), demo.today - timedelta(days=1))
        if last < date(year, 1, 1):
            return
        days, weights = weighted_days(date(year, 1, 1), last, REPORT_MONTHS)
        if last < date(year, 12, 31):  # a year under way: as many as its days so far hold
            full = sum(REPORT_MONTHS[d.month - 1] for d in
                       (date(year, 1, 1) + timedelta(days=i) for i in range(365)))
            share = weights[-1] / full
            total, livelihood = round(total * share), round(livelihood * share)
        flags = [True] * livelihood + [False] * (total - livelihood)
        demo.rng.shuffle(flags)
        for is_livelihood in flags:
            day = demo.rng.choices(days, cum_weights=weights)[0]
            self.report(year, day, is_livelihood)
        for _ in range(round(total * DRAFT_SHARE)):
            self.report(year, demo.rng.choices(days, cum_weights=weights)[0],
                        demo.chance(0.4), draft=True)

    def report(self, year: int, day: date, is_livelihood: bool, *, draft: bool = False,
               source: OpinionSource | None = None, site: Site | None = None,
               member: dict[str, Any] | None = None) -> Report:
        """One report sent on ``day`` (or only written then, a draft), with its history."""
        demo, cppcc = self.demo, self.cppcc
        sent = cppcc.moment(day)
        if source is None:
            source = demo.pick(*SOURCES[is_livelihood])
            if draft and source is SRC.MEMBER:  # drafts are kept by people with accounts
                source = SRC.PLATFORM
        if source is SRC.PLATFORM:
            site = site or self.sites.pick(demo.rng, day) or demo.pick(cppcc.world.sites)
        report = self._written(year, sent, is_livelihood, source, site, member)
        if draft:
            report.row["updated_at"] = report.created_at
            self.reports.append(report)
            return report
        at = sent
        if demo.chance(RETURN_SHARE) and day - timedelta(days=8) >= date(year, 1, 1):
            first = demo.after(sent - timedelta(days=demo.rng.uniform(5, 8)), 0, 0.1)
            report.created_at = min(report.created_at, first - timedelta(hours=3))
            report.row.update(created_at=report.created_at, updated_at=report.created_at)
            report.steps.append(Step("submit", first))
            returned = demo.after(first, 0.5, 2)
            report.steps.append(Step("return", returned,
                                     {"reason": demo.pick(RETURN_REASONS)}))
        report.steps.append(Step("submit", at))
        self._decide(report, at, is_livelihood)
        self.reports.append(report)
        return report

    def _written(self, year: int, sent: datetime, is_livelihood: bool, source: OpinionSource,
                 site: Site | None, member: dict[str, Any] | None) -> Report:
        """Who wrote it, about what, and when it was begun."""
        demo, cppcc = self.demo, self.cppcc
        author = platform_id = member_id = None
        if source is SRC.PLATFORM:
            assert site is not None
            author, platform_id, district_id = site.coordinator_id, site.id, site.district.id
            opening = render(demo.pick(REPORT_OPENINGS["platform"]), demo.rng,
                             {"platform": site.name})
        elif source is SRC.MEMBER:
            member = member or demo.rng.choices(cppcc.members,
                                                cum_weights=self.member_weights)[0]
            member_id, district_id = member["id"], member["district_id"]
            author = cppcc.member_users.get(member["id"])
            opening = demo.pick(REPORT_OPENINGS["member"]).format(member=member["name"])
        else:
            district = demo.rng.choices(cppcc.world.districts,
                                        cum_weights=self.district_weights)[0]
            author, district_id = district.staff_id, district.id
            opening = demo.pick(REPORT_OPENINGS["district"]).format(district=district.name)
        begun = max(sent - timedelta(days=demo.rng.uniform(0.1, 4)),
                    demo.at(date(year, 1, 1), 9))
        report = Report(begun, dict(
            id=None, reference=None, category=None, is_livelihood=is_livelihood, source=source,
            status=None, author_id=author, member_id=member_id, platform_id=platform_id,
            district_id=district_id, submitted_at=None, decided_at=None, bulletin_issue=None,
            decision_note=None, forwarded_to=None, forwarded_at=None, instruction_leader=None,
            instruction_text=None, instructed_on=None, follow_up=None, version=1,
            created_at=begun, updated_at=begun))
        district_name = cppcc.district_name(district_id)
        if is_livelihood and (site is not None or demo.chance(0.35)):
            site = site or self._site_in(district_id, self.demo.local(sent).date())
            self._from_topic(report, opening, site, sent)
        else:
            self._from_theme(report, opening, district_name, year, is_livelihood)
        return report

    def _site_in(self, district_id: int | None, day: date) -> Site:
        for _ in range(20):
            site = self.sites.pick(self.demo.rng, day) or self.demo.pick(self.cppcc.world.sites)
            if district_id is None or site.district.id == district_id:
                return site
        return site

    def _from_topic(self, report: Report, opening: str, site: Site, sent: datetime) -> None:
        """A residents' matter at ``site``: from a recent held event there (linked with the
        problems of its topic raised at it), else from one of its recent problems (linked),
        else from a topic."""
        demo = self.demo
        fields = site.fields(demo, demo.local(sent).date())
        meeting = self._recent_meeting(site, sent) if report.row["platform_id"] else None
        problem = None if meeting or not report.row["platform_id"] else \
            self._site_problem(site, sent)
        if meeting:
            topic: Topic = meeting.topic
        elif problem:
            topic = problem[1]
        else:
            topic = demo.pick(*topic_choices(site.rural))
        title, description = (fill(t, fields) for t in demo.pick(topic.issues))
        if problem:
            title, description = problem[2], problem[3]
            report.issues.append(problem[0])
        place = site.community.name if site.community else site.street.name
        subject = topic.subject
        where = place[:-2] if place.endswith("社区") and subject.startswith("社区") else place
        report.row["title"] = demo.pick((
            f"关于解决{where}{subject}问题的建议", f"{site.street.name}居民反映：{title}",
            f"关于{site.district.name}{subject}问题的几点建议", f"{where}{subject}问题亟待解决",
            f"{title}的问题亟待解决"))
        points = demo.rng.sample(topic.consensus, min(len(topic.consensus),
                                                      demo.rng.randint(2, 3)))
        parts = [opening + description]
        if meeting:
            parts.append(f"在“{meeting.title}”协商议事活动中，居民代表、政协委员和有关单位"
                         "共同协商，形成了以下意见：" + numbered([fill(p, fields) for p in points]))
            report.events.append(meeting.id)
            report.issues += [i for i in self.event_issues.get(meeting.id, [])
                              if self.issue_published[i] < sent
                              and self._topic_of(i) is topic][:3]
        else:
            parts.append(f"据了解，类似情况在{site.district.name}不少社区都存在。建议："
                         + numbered([fill(p, fields) for p in points]))
        report.row["body"] = "\n".join(parts)
        report.row["category"] = Category(topic.category)
        report.lead_key = next((k for k in topic.departments if k != "street"), STREET)

    def _recent_meeting(self, site: Site, sent: datetime) -> Meeting | None:
        held = [m for m in self.meetings.get(site.id, ())
                if sent - timedelta(days=90) <= m.ends_at < sent - timedelta(days=1)]
        return held[-1] if held else None

    def _site_problem(self, site: Site, sent: datetime) -> tuple[int, Topic, str, str] | None:
        """A problem published at ``site`` in the four months before ``sent`` whose topic is
        known: its id, topic, title and description (without who brought it)."""
        entries = self.site_issues.get(site.id, [])
        before = bisect.bisect_left(entries, (sent - timedelta(days=1), 0))
        for at, issue_id in reversed(entries[max(0, before - 5):before]):
            topic = self._topic_of(issue_id)
            if at > sent - timedelta(days=120) and topic is not None:
                row = self.issue_rows[issue_id]
                text = row["description"]
                head, colon, rest = text.partition("：")
                if colon and len(head) < 60 and head.endswith(("反映", "了解到")):
                    text = rest
                return issue_id, topic, row["title"], text
        return None

    def _topic_of(self, issue_id: int) -> Topic | None:
        """The topic a problem's title was written from."""
        if issue_id not in self.topics_of:
            title = self.issue_rows[issue_id]["title"]
            self.topics_of[issue_id] = next(
                (topic for pattern, topic in TOPIC_PATTERNS if pattern.match(title)), None)
        return self.topics_of[issue_id]

    def _from_theme(self, report: Report, opening: str, district: str, year: int,
                    is_livelihood: bool) -> None:
        """A city-wide matter from the proposals' themes."""
        demo, rng = self.demo, self.demo.rng
        category = demo.pick(*_REPORT_CATEGORIES[is_livelihood])
        theme: Theme = self.cppcc.theme(category, lambda t: t.livelihood is is_livelihood)
        fields = theme_fields(rng, district, year)
        problems = rng.sample(theme.problems, min(len(theme.problems), rng.randint(2, 3)))
        measures = rng.sample(theme.measures, min(len(theme.measures), rng.randint(2, 3)))
        subject = what_about(theme, rng, fields, render(measures[0], rng, fields))
        report.row["title"] = demo.pick(REPORT_TITLES).format(subject=subject)
        lead = demo.pick(("调研发现，仍存在一些问题：", "从反映的情况看，还存在以下问题：",
                          "目前主要存在以下问题："))
        report.row["body"] = "\n".join((
            opening + render(demo.pick(theme.situations), rng, fields) + lead
            + numbered([render(p, rng, fields) for p in problems]),
            "为此建议：" + numbered([render(m, rng, fields) for m in measures], "（一）")))
        report.row["category"] = Category(theme.category)
        report.lead_key = theme.lead[0]

    # Decisions --------------------------------------------------------------------------------

    def _decide(self, report: Report, sent: datetime, is_livelihood: bool) -> None:
        demo = self.demo
        decided = demo.after(sent, *DECIDE_DAYS)
        share = ADOPT_SHARE[is_livelihood] + (0.08 if report.events else 0.0)
        if not demo.chance(share):
            report.steps.append(Step("not_adopt", decided,
                                     {"reason": demo.pick(NOT_ADOPTED_NOTES)}))
            return
        values = {"bulletin_issue": None}  # numbered once every adoption is known
        if demo.chance(0.3):
            values["note"] = demo.pick(ADOPTED_NOTES)
        report.steps.append(Step("adopt", decided, values))
        at = decided
        forwarded = demo.chance(FORWARD_SHARE)
        if forwarded:
            at = demo.after(at, 3, 20)
            report.steps.append(Step("forward", at, {"forwarded_to": "province"}))
            if demo.chance(NATIONAL_SHARE):
                at = demo.after(at, 10, 45)
                report.steps.append(Step("forward", at, {"forwarded_to": "national"}))
        if demo.chance(INSTRUCT_SHARE * (2.5 if forwarded else 0.7)):
            self._instruction(report, decided)

    def _instruction(self, report: Report, decided: datetime) -> None:
        demo = self.demo
        dept = self.cppcc.department(report.lead_key)[1]
        at = demo.after(decided, 3, 30)
        report.steps.append(Step("instruct", at, {
            "instruction_leader": demo.pick(LEADERS),
            "instruction_text": demo.pick(INSTRUCTIONS).format(dept=dept),
            "instructed_on": demo.local(at).date()}))
        if demo.chance(FOLLOW_UP_SHARE):
            later = demo.after(at, 15, 60)
            text = demo.pick(FOLLOW_UPS).format(dept=dept, year=demo.local(later).year)
            report.steps.append(Step("follow_up", later, {"follow_up": text}))

    # The demo logins' own ---------------------------------------------------------------------

    def scripted(self) -> None:
        """The demo member's reports in every state, and the demo coordinator's: a draft from
        a recent event, one waiting for a decision, one adopted with a leader's instruction."""
        demo, cppcc = self.demo, self.cppcc
        today = demo.today
        member = cppcc.login_member
        if member is not None:
            for days_ago, fate in ((2, "draft"), (6, "waiting"), (45, "adopted"),
                                   (80, "not_adopted")):
                self._scripted(today - timedelta(days=days_ago), fate, SRC.MEMBER,
                               member=member)
        sites = cppcc.world.demo_sites
        for number, (days_ago, fate) in enumerate(((1, "draft"), (9, "waiting"),
                                                   (70, "instructed"))):
            if sites:
                self._scripted(today - timedelta(days=days_ago), fate, SRC.PLATFORM,
                               site=sites[number % len(sites)])

    def _scripted(self, day: date, fate: str, source: OpinionSource, *,
                  member: dict[str, Any] | None = None, site: Site | None = None) -> None:
        demo = self.demo
        if day < date(demo.year, 1, 2) or day.year == demo.year < demo.today.year:
            return  # the demo year, once over, holds exactly the seed's figures
        report = self.report(day.year, day, True, draft=True, source=source, site=site,
                             member=member)
        if fate == "draft":
            return
        submitted = max(self.cppcc.moment(day), report.created_at + timedelta(hours=1))
        report.steps.append(Step("submit", submitted))
        decided = demo.after(submitted, 5, 12)
        if fate == "not_adopted":
            report.steps.append(Step("not_adopt", decided,
                                     {"reason": demo.pick(NOT_ADOPTED_NOTES)}))
        elif fate in ("adopted", "instructed"):
            report.steps.append(Step("adopt", decided, {"bulletin_issue": None}))
            if fate == "instructed":
                report.steps.append(Step("forward", demo.after(decided, 3, 6),
                                         {"forwarded_to": "province"}))
                self._instruction(report, decided)

    # Finishing --------------------------------------------------------------------------------

    def finish(self) -> None:
        """Bulletin issues, references and ids in order; each report's steps by the lifecycle's
        transitions up to now; the rows queued."""
        demo, counts = self.demo, self.cppcc.counts
        self._bulletins()
        order = {id(r): n for n, r in enumerate(self.reports)}  # ties: in the order drawn
        self.reports.sort(key=lambda r: (r.created_at, order[id(r)]))
        numbers: dict[int, int] = defaultdict(int)
        for report in self.reports:
            year = demo.local(report.created_at).year
            numbers[year] += 1
            report.row.update(id=demo.next_id("opinion_reports"),
                              reference=format_reference(year, numbers[year]))
            self._apply(report)
            row = report.row
            demo.add("opinion_reports", **row)
            for event_id in dict.fromkeys(report.events):
                demo.add("opinion_report_events", report_id=row["id"], event_id=event_id)
            for issue_id in dict.fromkeys(report.issues):
                demo.add("opinion_report_issues", report_id=row["id"], issue_id=issue_id)
            counts.reports += 1
            if row["status"] in SENT_STATUSES:
                tally = counts.year(demo.local(row["submitted_at"]).year)
                tally["reports_submitted"] += 1
                tally["reports_livelihood"] += row["is_livelihood"]
                tally["reports_adopted"] += row["status"] is OpinionStatus.ADOPTED
        for year, last in numbers.items():
            counts.prefixes[counter_prefix(year)] = last

    def _bulletins(self) -> None:
        """Adopted reports appear in 《社情民意》, one to three to an issue, numbered within
        the year of adoption."""
        demo = self.demo
        adoptions = sorted((step.at, n, step) for n, report in enumerate(self.reports)
                           for step in report.steps if step.action == "adopt"
                           and step.at <= demo.now)
        number: dict[int, int] = defaultdict(int)
        left = 0
        for at, _key, step in adoptions:
            year = demo.local(at).year
            if left == 0 or number[year] == 0:
                number[year] += 1
                left = demo.pick((1, 1, 2, 3))
            left -= 1
            step.values["bulletin_issue"] = BULLETIN.format(year=year, number=number[year])

    def _apply(self, report: Report) -> None:
        row, status = report.row, OpinionStatus.DRAFT
        row["status"] = status
        for step in report.steps:
            if step.at > self.demo.now:
                break
            transition = TRANSITIONS[step.action]
            assert transition.allows(row), f"{step.action} is not allowed from {status}"
            row.update(transition.changes(status, step.values, step.at, row))
            status = row["status"]
            row["updated_at"] = step.at


def _title_pattern(template: str) -> re.Pattern[str]:
    return re.compile(".+?".join(re.escape(part) for part in re.split(r"\{\w+\}", template))
                      + r"\Z")


# A problem's title → the topic it was drawn from (its templates, placeholders as wildcards).
TOPIC_PATTERNS = [(_title_pattern(title), topic) for topic in TOPICS for title, _ in topic.issues]

_LIVELIHOOD = ((Category.SOCIETY.value, Category.CULTURE.value, Category.ECOLOGY.value),
               (82, 6, 12))
_OTHER = ((Category.ECONOMY.value, Category.POLITICS.value, Category.CULTURE.value,
           Category.ECOLOGY.value), (52, 20, 16, 12))
_REPORT_CATEGORIES = {True: _LIVELIHOOD, False: _OTHER}


def build_reports(cppcc: Cppcc) -> ReportBuilder:
    builder = ReportBuilder(cppcc)
    for year in cppcc.years:
        builder.year(year)
    builder.scripted()
    builder.finish()
    return builder
