"""Proposals (提案): members' (alone or jointly) and collective bodies', mostly handed in at the
annual session in January, the rest between sessions; reviewed by city staff (立案 with a lead
and co-handling departments and a three-month due date, or 不予立案 with the reason); signed
for and answered (办复) by the lead department with an outcome class, the co-handling ones
sending their opinions first; rated by the proposers, an unsatisfied rating sending it back
for re-handling. The demo year reproduces the seed's 提案办理回顾 exactly: which proposals are
accepted, by whom, in which field and with which final outcome is planned first (``_slots``),
then each is drawn as steps and derived by ``proposals/lifecycle.py``'s transitions.
"""

from __future__ import annotations

import bisect
import itertools
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.demo.context import allocate
from consult_hub.demo.cppcc import (
    PROPOSALS_ACCEPTED_COLLECTIVE,
    PROPOSALS_ACCEPTED_MEMBER,
    PROPOSALS_BY_CATEGORY,
    PROPOSALS_BY_OUTCOME,
    PROPOSALS_SUBMITTED,
    Cppcc,
    exact_or_jittered,
)
from consult_hub.demo.cppcc_topics import (
    CO_OPINIONS,
    COLLECTIVE_NAMES,
    COLLECTIVE_WEIGHTS,
    NOT_ACCEPTED_REASONS,
    SATISFIED_NOTES,
    UNSATISFIED_NOTES,
    Theme,
    numbered,
    render,
    theme_fields,
    what_about,
)
from consult_hub.issues.models import Satisfaction
from consult_hub.proposals.lifecycle import (
    TRANSITIONS,
    add_months,
    draft_reference,
    handling_departments,
    timeline_note,
)
from consult_hub.proposals.models import (
    ACCEPTED_STATUSES,
    ANSWERED_STATUSES,
    CollectiveKind,
    ProposalOutcome,
    ProposalStatus,
    ProposalTiming,
    ProposerKind,
)

S = ProposalStatus
Outcome = ProposalOutcome
# The annual session (大会): its days in January; most proposals are handed in then.
SESSION_DAYS = (6, 9)
SESSION_SHARE = 0.86
JOINT_SHARE = 0.38  # of the members' proposals: 联名, with 2–5 members
KEY_SHARE = 0.1
CO_COUNT = ((0, 1, 2), (45, 35, 20))
LATE_SHARE = 0.08  # answered after the due date (still within the year)
UNSATISFIED_SHARE = 0.025  # rated 不满意 first, re-handled and answered again
EVIDENCE_SHARE = 0.12  # members' proposals citing problems or opinion reports
RATINGS = {Outcome.RESOLVED: (90, 10), Outcome.PLANNED: (60, 40), Outcome.CONSTRAINED: (35, 65)}
CONSTRAINTS = ("涉及国家和省级政策调整，需报请上级部门研究", "所需资金量较大，受当前财力所限",
               "涉及规划调整和用地指标，需统筹考虑", "涉及多个部门和区的职责分工，需进一步研究论证")
FALLBACKS = ("先行开展试点，积累经验后逐步推开", "积极向上级部门争取政策支持",
             "将您的建议作为今后工作的重要参考", "持续跟踪研究，适时推动纳入相关规划")


@dataclass
class Slot:
    """One proposal of the year as planned: accepted or not, by whom, its field and outcome."""

    accepted: bool
    kind: ProposerKind
    category: str
    outcome: ProposalOutcome | None = None


@dataclass
class Step:
    action: str
    at: datetime
    actor_id: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    department: int | None = None  # a co-handling department's own actions


@dataclass(eq=False)
class Draft:
    year: int
    row: dict[str, Any]
    proposers: list[int]  # member ids, the lead one first
    steps: list[Step] = field(default_factory=list)
    departments: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: list[int] = field(default_factory=list)
    reports: list[int] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)


class ProposalBuilder:
    def __init__(self, cppcc: Cppcc) -> None:
        self.cppcc, self.demo = cppcc, cppcc.demo
        self.drafts: list[Draft] = []
        self.titles: set[str] = set()
        rng = self.demo.rng
        # Some members propose much more than others.
        self.activity = list(itertools.accumulate(rng.choice((1, 1, 1, 2, 3, 5))
                                                  for _ in cppcc.city_members))
        self.members = {m["id"]: m for m in cppcc.members}
        self.by_sector: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for member in cppcc.city_members:
            self.by_sector[member["sector"]].append(member)
        self.issues: dict[tuple[int, str], list[tuple[datetime, int]]] = defaultdict(list)
        for issue in self.demo.rows["issues"]:
            if issue["published_at"] is not None:
                key = (issue["district_id"], Category(issue["category"]).value)
                self.issues[key].append((issue["published_at"], issue["id"]))
        for entries in self.issues.values():
            entries.sort()
        self.reports: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
        for report in self.demo.rows["opinion_reports"]:
            if report["member_id"] is not None and report["submitted_at"] is not None:
                self.reports[report["member_id"]].append((report["submitted_at"], report["id"]))
        for entries in self.reports.values():
            entries.sort()
        self.login_slots = 0

    # Planning ---------------------------------------------------------------------------------

    def _slots(self, year: int) -> list[Slot]:
        """The year's proposals: the seed's split of the accepted ones by proposer, field and
        outcome (exact for the demo year), and the ones not accepted."""
        cppcc, rng = self.cppcc, self.demo.rng
        accepted = exact_or_jittered(cppcc, year, PROPOSALS_ACCEPTED_MEMBER
                                     + PROPOSALS_ACCEPTED_COLLECTIVE)
        refused = exact_or_jittered(cppcc, year, PROPOSALS_SUBMITTED - PROPOSALS_ACCEPTED_MEMBER
                                    - PROPOSALS_ACCEPTED_COLLECTIVE)
        members, collective = allocate(accepted, [PROPOSALS_ACCEPTED_MEMBER,
                                                  PROPOSALS_ACCEPTED_COLLECTIVE])
        kinds = [ProposerKind.MEMBER] * members + [ProposerKind.COLLECTIVE] * collective
        categories = [c for (c, _), n in zip(PROPOSALS_BY_CATEGORY, allocate(
            accepted, [n for _, n in PROPOSALS_BY_CATEGORY]), strict=True) for _ in range(n)]
        outcomes = [Outcome(o) for (o, _), n in zip(PROPOSALS_BY_OUTCOME, allocate(
            accepted, [n for _, n in PROPOSALS_BY_OUTCOME]), strict=True) for _ in range(n)]
        for column in (kinds, categories, outcomes):
            rng.shuffle(column)
        slots = [Slot(True, k, c, o) for k, c, o in zip(kinds, categories, outcomes, strict=True)]
        weights = [n for _, n in PROPOSALS_BY_CATEGORY]
        slots += [Slot(False, ProposerKind.MEMBER,
                       rng.choices([c for c, _ in PROPOSALS_BY_CATEGORY], weights)[0])
                  for _ in range(refused)]
        for slot in slots:
            if slot.kind is ProposerKind.MEMBER and self.demo.chance(JOINT_SHARE):
                slot.kind = ProposerKind.JOINT
        rng.shuffle(slots)
        return slots

    def year(self, year: int) -> None:
        demo = self.demo
        self.titles = set()  # a title may come again another year, not in the same one
        session = [date(year, 1, d) for d in range(SESSION_DAYS[0], SESSION_DAYS[1] + 1)]
        if demo.at(session[-1], 18) > demo.now:
            return  # the session has not been held yet
        # Between sessions: early enough to be answered within the year, or (this year) up to
        # today, the late ones still being reviewed or handled.
        last_interim = date(year, 9, 10)
        if year == demo.today.year:
            last_interim = max(last_interim, demo.today - timedelta(days=1))
        for slot in self._slots(year):
            if demo.chance(SESSION_SHARE):
                submitted, timing = self.cppcc.moment(demo.pick(session)), ProposalTiming.SESSION
            else:
                day = demo.day_between(date(year, 2, 20), last_interim)
                submitted, timing = self.cppcc.moment(day), ProposalTiming.INTERIM
            if submitted > demo.now:
                continue
            self.proposal(year, slot, submitted, timing)

    # Drawing ----------------------------------------------------------------------------------

    def proposal(self, year: int, slot: Slot, submitted: datetime, timing: ProposalTiming,
                 lead: dict[str, Any] | None = None, theme: Theme | None = None) -> Draft:
        """One proposal handed in at ``submitted``, its text, proposers and whole history."""
        demo, cppcc = self.demo, self.cppcc
        theme = theme or cppcc.theme(slot.category)
        draft = self._proposers(year, slot, lead)
        district = cppcc.district_name(draft.row.pop("_district"))
        self._text(draft, theme, district, year)
        draft.row.update(category=Category(slot.category), timing=timing,
                         # A few replies stay unpublished (办复不公开), on sensitive matters.
                         reply_public=not (slot.category == "politics" and demo.chance(0.15)))
        entered_by = self._proposer_actor(draft)
        if timing is ProposalTiming.SESSION:
            created = submitted - timedelta(days=demo.rng.uniform(1, 20))
        else:
            created = submitted - timedelta(days=demo.rng.uniform(0.2, 8))
        draft.row.update(created_at=created, created_by_id=entered_by)
        draft.steps.append(Step("create", created, entered_by))
        draft.steps.append(Step("submit", submitted, entered_by))
        if slot.kind is not ProposerKind.COLLECTIVE and demo.chance(EVIDENCE_SHARE):
            self._evidence(draft, submitted)
        if slot.accepted:
            self._handled(draft, slot, theme, submitted, timing)
        else:
            reviewed = self._review_time(submitted, timing)
            draft.steps.append(Step("not_accept", reviewed, cppcc.reviewer_id,
                                    {"reason": demo.pick(NOT_ACCEPTED_REASONS)}))
        self.drafts.append(draft)
        return draft

    def _proposers(self, year: int, slot: Slot, lead: dict[str, Any] | None) -> Draft:
        demo, cppcc = self.demo, self.cppcc
        row: dict[str, Any] = dict(
            id=None, year=year, reference=None, number=None, title=None, reasons=None,
            suggestions=None, category=None, timing=None, proposer_kind=slot.kind,
            lead_member_id=None, collective_kind=None, collective_name=None, status=None,
            is_key=False, submitted_at=None, reviewed_at=None, review_note=None,
            lead_department_id=None, due_on=None, acknowledged_at=None, replied_at=None,
            outcome=None, reply=None, reply_public=True, rating=None, rated_at=None,
            rating_note=None, rehandled=0, created_by_id=None, version=1, created_at=None,
            updated_at=None, _district=None)
        if slot.kind is ProposerKind.COLLECTIVE:
            kinds = [k for k, _ in COLLECTIVE_WEIGHTS]
            kind = demo.pick(kinds, [w for _, w in COLLECTIVE_WEIGHTS])
            row.update(collective_kind=CollectiveKind(kind),
                       collective_name=demo.pick(COLLECTIVE_NAMES[kind]))
            return Draft(year, row, [])
        login = cppcc.login_member
        if lead is None and login is not None and year == demo.year and self.login_slots < 3 \
                and slot.accepted:
            lead, self.login_slots = login, self.login_slots + 1
        lead = lead or demo.rng.choices(cppcc.city_members, cum_weights=self.activity)[0]
        proposers = [lead["id"]]
        if slot.kind is ProposerKind.JOINT:
            wanted = demo.pick((1, 2, 3, 4), (40, 30, 20, 10))
            pool = self.by_sector.get(lead["sector"], [])
            while len(proposers) < wanted + 1:
                other = demo.pick(pool) if pool and demo.chance(0.6) else \
                    demo.pick(cppcc.city_members)
                if other["id"] not in proposers:
                    proposers.append(other["id"])
                elif len(cppcc.city_members) <= len(proposers):
                    break
            if len(proposers) == 1:
                row["proposer_kind"] = ProposerKind.MEMBER
        row.update(lead_member_id=lead["id"], _district=lead["district_id"])
        row["_lead_name"] = lead["name"]
        return Draft(year, row, proposers)

    def _proposer_actor(self, draft: Draft) -> int | None:
        """The lead member's account when they have one, else city staff entering it."""
        lead = draft.row["lead_member_id"]
        return self.cppcc.member_users.get(lead, self.cppcc.reviewer_id) if lead else \
            self.cppcc.reviewer_id

    def _text(self, draft: Draft, theme: Theme, district: str, year: int) -> None:
        """Title, 案由 and 建议. A title names the theme's subject or one of its measures,
        sometimes a place; within a year no two are the same (as far as the words allow)."""
        demo, rng = self.demo, self.demo.rng
        for _ in range(12):
            fields = theme_fields(rng, district, year)
            measures = [render(m, rng, fields) for m in
                        rng.sample(theme.measures, min(len(theme.measures), 3))]
            title = self._title(theme, fields, measures[0])
            if title not in self.titles:
                break
        self.titles.add(title)
        problems = rng.sample(theme.problems, min(len(theme.problems), rng.randint(2, 3)))
        opening = demo.pick(("调研发现，仍存在一些问题：", "与先进城市相比，仍存在以下不足：",
                             "从实际情况看，还存在以下问题："))
        draft.row.update(
            title=title,
            reasons=render(demo.pick(theme.situations), rng, fields) + opening
            + numbered([render(p, rng, fields) for p in problems]),
            suggestions="为此建议：\n" + numbered(measures, "（一）"))
        draft.row["_theme"], draft.row["_fields"] = theme, fields
        draft.row["_measures"] = measures

    def _title(self, theme: Theme, fields: dict[str, Any], measure: str) -> str:
        what = what_about(theme, self.demo.rng, fields, measure)
        return f"关于{what}的{self.demo.pick(('建议', '建议', '建议', '提案'))}"

    def _evidence(self, draft: Draft, submitted: datetime) -> None:
        """Problems of the lead member's district in the same field, or their own reports."""
        demo = self.demo
        lead = draft.row["lead_member_id"]
        member = self.members[lead]
        entries = self.issues.get((member["district_id"], draft.row["category"].value), [])
        before = bisect.bisect_left(entries, (submitted - timedelta(days=3), 0))
        recent = [i for at, i in entries[max(0, before - 30):before]]
        if recent:
            draft.issues = demo.rng.sample(recent, min(len(recent), demo.rng.randint(1, 3)))
        reports = [i for at, i in self.reports.get(lead, []) if at < submitted]
        if reports and demo.chance(0.6):
            draft.reports = [reports[-1]]

    def _review_time(self, submitted: datetime, timing: ProposalTiming) -> datetime:
        demo = self.demo
        if timing is ProposalTiming.SESSION:
            year = demo.local(submitted).year
            return self.cppcc.moment(demo.day_between(date(year, 1, 20), date(year, 2, 28)))
        return demo.after(submitted, 5, 20)

    def _handled(self, draft: Draft, slot: Slot, theme: Theme, submitted: datetime,
                 timing: ProposalTiming) -> None:
        """立案, 签收, the co-handling departments' opinions, 办复 and the rating (once more
        after a 不满意)."""
        demo, cppcc = self.demo, self.cppcc
        assert slot.outcome is not None
        reviewed = self._review_time(submitted, timing)
        lead = cppcc.department(demo.pick(theme.lead, [3] + [1] * (len(theme.lead) - 1)))
        others = [k for k in dict.fromkeys(theme.co + theme.lead)
                  if cppcc.department(k) != lead]
        co = [cppcc.department(k) for k in demo.rng.sample(
            others, min(len(others), demo.pick(*CO_COUNT)))]
        co = list(dict.fromkeys(c for c in co if c != lead))
        key = demo.chance(KEY_SHARE * (2.5 if slot.kind is ProposerKind.COLLECTIVE else 0.65))
        due_on = add_months(demo.local(reviewed).date(), 3)
        values = {"lead_department": lead[0], "co_departments": [c[0] for c in co],
                  "due_on": due_on, "number": None}
        if key and demo.chance(0.6):
            values["is_key"] = True
        draft.steps.append(Step("accept", reviewed, cppcc.reviewer_id, values))
        draft.row["_lead"] = lead
        if key and not values.get("is_key"):
            draft.steps.append(Step("mark_key", demo.after(reviewed, 2, 15), cppcc.reviewer_id))
        contact = cppcc.world.contact(demo, lead)
        acknowledged = demo.after(reviewed, 0.2, 4)
        draft.steps.append(Step("acknowledge", acknowledged, contact))
        year_end = cppcc.year_end(draft.year) - timedelta(days=12)
        days_left = (due_on - demo.local(acknowledged).date()).days
        if demo.chance(LATE_SHARE):
            replied = demo.after(acknowledged, days_left + 2, days_left + 20)
        else:
            replied = demo.after(acknowledged, min(25, days_left - 3), max(26, days_left - 2))
        # Answered within the session year (the review's "all replied by year end").
        replied = max(min(replied, year_end), demo.after(acknowledged, 1, 3))
        for department in co:
            self._co_handling(draft, department, reviewed, replied)
        unhappy = demo.chance(UNSATISFIED_SHARE) and \
            replied < cppcc.year_end(draft.year) - timedelta(days=120)
        first = slot.outcome
        if unhappy and slot.outcome is Outcome.RESOLVED and demo.chance(0.4):
            first = Outcome.PLANNED
        elif unhappy and slot.outcome is Outcome.PLANNED and demo.chance(0.3):
            first = Outcome.CONSTRAINED
        draft.steps.append(Step("reply", replied, contact,
                                {"outcome": first, "reply": self._reply(draft, first, lead,
                                                                        replied)}))
        rated = demo.after(replied, 5, 30)
        if unhappy:
            draft.steps.append(Step("rate", rated, self._proposer_actor(draft), {
                "rating": Satisfaction.UNSATISFIED,
                "rating_note": demo.pick(UNSATISFIED_NOTES)}))
            again = demo.after(rated, 0.3, 3)
            draft.steps.append(Step("acknowledge", again, contact))
            replied = demo.after(again, 10, 26)
            draft.steps.append(Step("reply", replied, contact, {
                "outcome": slot.outcome,
                "reply": self._reply(draft, slot.outcome, lead, replied, again=True)}))
            rated = demo.after(replied, 3, 20)
        weights = RATINGS[slot.outcome]
        rating = demo.pick((Satisfaction.SATISFIED, Satisfaction.BASICALLY), weights)
        note = demo.pick(SATISFIED_NOTES) or None
        draft.steps.append(Step("rate", rated, self._proposer_actor(draft),
                                {"rating": rating, "rating_note": note}))

    def _co_handling(self, draft: Draft, department: tuple[int, str], reviewed: datetime,
                     replied: datetime) -> None:
        demo = self.demo
        contact = self.cppcc.world.contact(demo, department)
        signed = demo.after(reviewed, 0.5, 6)
        if signed >= replied - timedelta(days=2):
            return
        draft.steps.append(Step("co_acknowledge", signed, contact, department=department[0]))
        span = (replied - signed).total_seconds() / 86400
        opinion = demo.after(signed, min(5, span * 0.3), max(span * 0.8, 1))
        if opinion < replied - timedelta(hours=12):
            draft.steps.append(Step("co_opinion", opinion, contact,
                                    {"opinion": demo.pick(CO_OPINIONS)}, department[0]))

    def _reply(self, draft: Draft, outcome: ProposalOutcome, lead: tuple[int, str],
               at: datetime, *, again: bool = False) -> str:
        """The lead department's letter: to whom, what was done, and its signature."""
        demo, row = self.demo, draft.row
        theme: Theme = row["_theme"]
        fields = row["_fields"]
        if row["proposer_kind"] is ProposerKind.COLLECTIVE:
            to, you = row["collective_name"], "你们"
        elif len(draft.proposers) > 1:
            to, you = f"{row['_lead_name']}等{len(draft.proposers)}位委员", "你们"
        else:
            to, you = f"{row['_lead_name']}委员", "您"
        measure = demo.pick(row["_measures"])
        done = [render(d, demo.rng, fields) for d in
                demo.rng.sample(theme.done, min(2, len(theme.done)))]
        opening = "经与提案人再次沟通，我们对办理工作作了进一步研究。" if again else \
            "我单位高度重视，认真研究办理，现答复如下。"
        if outcome is Outcome.RESOLVED:
            body = (f"{you}提出的建议针对性强，我们已吸收采纳：" + numbered(done)
                    + f"下一步，我们将{measure}，持续推动相关工作落实。")
        elif outcome is Outcome.PLANNED:
            when = demo.local(at).year + 1
            body = (f"{you}提出的“{measure}”的建议，已列入{when}年度工作计划。目前，"
                    f"{done[0]}，相关工作正在推进，预计{when}年底前完成。")
        else:
            body = (f"经研究，{you}提出的“{measure}”的建议，因{demo.pick(CONSTRAINTS)}，"
                    f"一时难以全面实施。下一步，我们将{demo.pick(FALLBACKS)}，待条件成熟后"
                    "积极推进。")
        local = demo.local(at)
        return (f"{to}：\n{you}提出的《{row['title']}》收悉。{opening}\n{body}\n"
                f"感谢{you}对{theme.field}工作的关心和支持！\n{lead[1]}\n"
                f"{local.year}年{local.month}月{local.day}日")

    # The demo member's own --------------------------------------------------------------------

    def scripted(self) -> None:
        """The demo member's proposals this year: a draft citing problems and a report, one
        waiting for review, one accepted this month and being handled, one answered and
        waiting for their rating; and the demo department's share as a co-handling one."""
        demo, cppcc = self.demo, self.cppcc
        year, today = demo.today.year, demo.today
        if today < date(year, 1, 20) or year < demo.year:
            return  # too early in the year for a handling history

        def at(days_ago: float, hour: int = 10) -> datetime:
            moment = demo.at(today - timedelta(days=int(days_ago)), hour,
                             demo.rng.randint(0, 50))
            return min(moment, demo.now - timedelta(hours=1))

        self._co_handled_by_the_demo_department(year, at)
        member = cppcc.login_member
        if member is None:
            return

        # Answered three days ago, waiting for the rating.
        slot = Slot(True, ProposerKind.JOINT, "society", Outcome.RESOLVED)
        draft = self.proposal(year, slot, at(60), ProposalTiming.INTERIM, lead=member)
        self._retime(draft, {"accept": at(52), "acknowledge": at(51), "reply": at(3)},
                     keep_until="reply")
        # Accepted this month, signed for and being handled.
        slot = Slot(True, ProposerKind.MEMBER, "ecology", Outcome.RESOLVED)
        accepted_day = min(today.day - 1, 3)
        draft = self.proposal(year, slot, at(accepted_day + 8), ProposalTiming.INTERIM,
                              lead=member)
        self._retime(draft, {"accept": at(accepted_day, 9), "acknowledge": at(accepted_day, 15)},
                     keep_until="acknowledge")
        # Waiting for review.
        slot = Slot(False, ProposerKind.MEMBER, "economy")
        draft = self.proposal(year, slot, at(4), ProposalTiming.INTERIM, lead=member)
        draft.steps = [s for s in draft.steps if s.action in ("create", "submit")]
        # A draft, citing the member's problems and reports.
        slot = Slot(False, ProposerKind.MEMBER, "society")
        draft = self.proposal(year, slot, at(1), ProposalTiming.INTERIM, lead=member)
        draft.steps = [s for s in draft.steps if s.action == "create"]
        self._evidence(draft, demo.now)

    def _co_handled_by_the_demo_department(self, year: int,
                                           at: Callable[..., datetime]) -> None:
        """Two of this year's proposals on the demo district's streets, led by the city's
        urban management and co-handled by the demo department: one waiting for it to sign,
        one signed and waiting for its opinion (会办意见)."""
        demo, cppcc = self.demo, self.cppcc
        theme = next(t for t in cppcc.themes_by_category["ecology"] if t.key == "city")
        demo_department = cppcc.world.demo_department
        lead = cppcc.department("urban")
        for days_ago, signed in ((6, False), (16, True)):
            slot = Slot(True, ProposerKind.JOINT, "ecology", Outcome.RESOLVED)
            draft = self.proposal(year, slot, at(days_ago + 9), ProposalTiming.INTERIM,
                                  theme=theme)
            self._retime(draft, {"accept": at(days_ago, 9), "acknowledge": at(days_ago - 1)},
                         keep_until="acknowledge")
            accept = next(step for step in draft.steps if step.action == "accept")
            accept.values.update(lead_department=lead[0], co_departments=[demo_department[0]])
            draft.row["_lead"] = lead
            for step in draft.steps:
                if step.action == "acknowledge":
                    step.actor_id = cppcc.world.contact(demo, lead)
            if signed:
                draft.steps.append(Step("co_acknowledge", at(days_ago - 2),
                                        cppcc.world.contact(demo, demo_department),
                                        department=demo_department[0]))

    def _retime(self, draft: Draft, times: dict[str, datetime], keep_until: str) -> None:
        """Move the scripted steps to the given times and drop what comes after."""
        kept = []
        for step in draft.steps:
            if step.action in times:
                step.at = times.pop(step.action)
                if step.action == "reply":
                    step.values["reply"] = self._reply(draft, step.values["outcome"],
                                                       draft.row["_lead"], step.at)
            if step.action in ("co_acknowledge", "co_opinion", "mark_key"):
                continue
            kept.append(step)
            if step.action == keep_until:
                break
        draft.steps = kept
        for step in draft.steps:
            if step.action == "accept":
                step.values["due_on"] = add_months(self.demo.local(step.at).date(), 3)

    # Finishing --------------------------------------------------------------------------------

    def finish(self) -> None:
        """References in order of submission, 案号 in order of acceptance, each year; each
        proposal's steps up to now by the lifecycle's transitions; the rows queued."""
        demo, counts = self.demo, self.cppcc.counts
        self._number()
        order = {id(d): n for n, d in enumerate(self.drafts)}  # ties: in the order drawn
        self.drafts.sort(key=lambda d: (d.steps[0].at, order[id(d)]))
        for draft in self.drafts:
            row = draft.row
            row["id"] = demo.next_id("proposals")
            self._apply(draft)
            for name in [k for k in row if k.startswith("_")]:
                del row[name]
            demo.add("proposals", **row)
            for position, member_id in enumerate(draft.proposers):
                demo.add("proposal_members", proposal_id=row["id"], member_id=member_id,
                         is_lead=position == 0, position=position)
            for department in draft.departments.values():
                demo.add("proposal_departments", id=demo.next_id("proposal_departments"),
                         proposal_id=row["id"], **department)
            for update in draft.updates:
                demo.add("proposal_updates", id=demo.next_id("proposal_updates"),
                         proposal_id=row["id"], **update)
            for issue_id in dict.fromkeys(draft.issues):
                demo.add("proposal_issues", proposal_id=row["id"], issue_id=issue_id)
            for report_id in dict.fromkeys(draft.reports):
                demo.add("proposal_opinion_reports", proposal_id=row["id"], report_id=report_id)
            counts.proposals += 1
            counts.proposal_updates += len(draft.updates)
            if row["status"] is not S.DRAFT:
                tally = counts.year(row["year"])
                tally["proposals_submitted"] += 1
                tally["proposals_accepted"] += row["status"] in ACCEPTED_STATUSES
                tally["proposals_replied"] += row["status"] in ANSWERED_STATUSES
                tally["proposals_not_accepted"] += row["status"] is S.NOT_ACCEPTED

    def _number(self) -> None:
        demo, counts = self.demo, self.cppcc.counts
        submissions = sorted((s.at, n, d, s) for n, d in enumerate(self.drafts) for s in d.steps
                             if s.action == "submit" and s.at <= demo.now)
        references: dict[int, int] = defaultdict(int)
        for _at, _key, draft, step in submissions:
            references[draft.year] += 1
            step.values["reference"] = f"TA{draft.year}-{references[draft.year]:04d}"
        acceptances = sorted((s.at, n, d, s) for n, d in enumerate(self.drafts) for s in d.steps
                             if s.action == "accept" and s.at <= demo.now)
        numbers: dict[int, int] = defaultdict(int)
        for _at, _key, draft, step in acceptances:
            numbers[draft.year] += 1
            step.values["number"] = f"{draft.year}-{numbers[draft.year]:04d}"
        for year, last in references.items():
            counts.prefixes[f"TA{year}"] = last
        for year, last in numbers.items():
            counts.prefixes[f"AH{year}"] = last

    def _apply(self, draft: Draft) -> None:
        """The row after each step up to now, with its handling departments and timeline."""
        row, demo = draft.row, self.demo
        status: ProposalStatus | None = None
        row["reference"] = draft_reference(demo.token()[:16])
        draft.steps.sort(key=lambda step: step.at)  # stable: same-time steps keep their order
        for step in draft.steps:
            if step.at > demo.now:
                break
            values = {**step.values, "today": demo.local(step.at).date()}
            department = None
            if step.action == "create":
                row["status"] = S.DRAFT
            else:
                transition = TRANSITIONS[step.action]
                assert transition.allows(row), f"{step.action} is not allowed from {status}"
                row.update(transition.changes(status, values, step.at, row))
                department = self._departments(draft, step, values)
            draft.updates.append(dict(
                action=step.action, from_status=status, to_status=row["status"],
                note=None if step.action == "create" else timeline_note(step.action, values),
                department_id=department, actor_id=step.actor_id, created_at=step.at))
            status = row["status"]
            row["updated_at"] = step.at

    def _departments(self, draft: Draft, step: Step, values: dict[str, Any]) -> int | None:
        """What the step does to the handling departments (the lifecycle's own rule); the
        department acting."""
        draft.departments, acting = handling_departments(
            step.action, draft.departments, values, draft.row, step.department, step.at)
        return acting


def build_proposals(cppcc: Cppcc) -> ProposalBuilder:
    builder = ProposalBuilder(cppcc)
    for year in cppcc.years:
        builder.year(year)
    builder.scripted()
    builder.finish()
    return builder
