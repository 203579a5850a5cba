"""Residents' problems with timelines the lifecycle allows, sized to the seed's 1,300 resolved.

Every problem is drawn as a path (quick fix, assign → start → resolve, plan, constrain, reject,
reopen…) with times in office hours; steps later than ``now`` are dropped, which is what leaves
recent problems open. The final fields are then derived step by step by the lifecycle's own
transitions (``Transition.changes``), each step checked against ``TRANSITIONS``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.demo import vocabulary as v
from consult_hub.demo.context import CITY_RESOLVED, Demo, Picker
from consult_hub.demo.events import Meeting
from consult_hub.demo.topics import Topic, fill, topic_choices
from consult_hub.demo.world import Site, World
from consult_hub.issues.lifecycle import TRANSITIONS, timeline_note
from consult_hub.issues.models import (
    CLOSED_STATUSES,
    DUE_STATUSES,
    IssueKind,
    IssueSource,
    IssueStatus,
    Satisfaction,
)
from consult_hub.issues.references import format_reference, reference_prefix
from consult_hub.platforms.models import PlatformKind

S = IssueStatus
# Weights echo the seed: resolved : planned : constrained ≈ 94.5 : 3.4 : 2.1.
PATHS = (("quick", 12.0), ("standard", 60.0), ("assign_resolve", 10.0), ("reopen", 2.0),
         ("plan", 2.9), ("plan_resolve", 1.5), ("constrain", 2.0), ("plan_constrain", 0.2),
         ("reject", 2.5), ("reject_assigned", 0.5))
STALL_DAYS = 150  # problems received this recently may be stuck (and become overdue)
STALL_SHARE = 0.15
ISSUES_PER_EVENT = ((0, 1, 2, 3), (45, 35, 15, 5))
DUE_DAYS = (15, 20, 30, 30, 45, 60)
RATINGS = ((Satisfaction.SATISFIED, Satisfaction.BASICALLY, Satisfaction.UNSATISFIED), (78, 17, 5))
SRC = IssueSource
SOURCES_BY_KIND = {
    PlatformKind.LIAISON_POINT: ((SRC.LIAISON_POINT, SRC.RESIDENT, SRC.MEMBER), (60, 30, 10)),
    PlatformKind.MEMBER_STUDIO: ((SRC.MEMBER, SRC.RESIDENT, SRC.LIAISON_POINT), (55, 35, 10)),
}
OTHER_SOURCES = ((SRC.RESIDENT, SRC.MEMBER, SRC.LIAISON_POINT), (60, 20, 20))
# The demo coordinator's problems: (source, steps) with (action, days ago, due/planned in days).
SCRIPTS: tuple[tuple[IssueSource, tuple[tuple[str, int, int], ...]], ...] = (
    (SRC.RESIDENT, (("receive", 25, 0), ("assign", 24, 18))),  # overdue 6 days
    (SRC.MEMBER, (("receive", 40, 0), ("assign", 39, 24), ("start", 37, 0),
                  ("note", 20, 0))),  # in progress, overdue 15 days
    (SRC.RESIDENT, (("receive", 1, 0),)),  # new
    (SRC.LIAISON_POINT, (("receive", 12, 0), ("assign", 11, 13), ("start", 9, 0))),  # due soon
    (SRC.MEMBER, (("receive", 70, 0), ("assign", 68, 30), ("start", 66, 0),
                  ("plan", 30, 120))),  # planned
    (SRC.LIAISON_POINT, (("receive", 200, 0), ("assign", 198, 30), ("start", 196, 0),
                         ("plan", 150, 140))),  # planned, overdue
    (SRC.MEMBER, (("receive", 60, 0), ("assign", 59, 30), ("start", 57, 0),
                  ("constrain", 20, 0))),
    (SRC.RESIDENT, (("receive", 8, 0), ("reject", 7, 0))),
    (SRC.RESIDENT, (("receive", 45, 0), ("assign", 44, 30), ("start", 42, 0),
                    ("note", 30, 0), ("resolve", 25, 0), ("rate", 20, 0))),
)


@dataclass
class Step:
    action: str  # a lifecycle action, "receive", or "rate" (a rating: no timeline entry)
    at: datetime
    actor_id: int | None = None
    note: str | None = None
    is_public: bool = True
    department: tuple[int, str] | None = None
    due_on: date | None = None
    planned_on: date | None = None
    resolution: str | None = None
    reason: str | None = None
    satisfaction: Satisfaction | None = None

    def values(self) -> dict[str, Any]:
        """The step's values as lifecycle effects take them (the department as its id)."""
        return {"department": self.department[0] if self.department else None,
                "due_on": self.due_on, "planned_on": self.planned_on,
                "resolution": self.resolution, "reason": self.reason, "note": self.note}


@dataclass(eq=False)
class Draft:
    order: int
    site: Site
    topic: Topic
    source: IssueSource
    received_at: datetime
    fields: dict[str, Any]
    event_id: int | None = None
    issue_index: int = 0  # which of the topic's problems (and so which answer)
    duplicate_of: Draft | None = None
    steps: list[Step] = field(default_factory=list)
    row: dict[str, Any] = field(default_factory=dict)
    updates: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class IssueCounts:
    total: int = 0
    updates: int = 0
    resolved_in_year: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    rated: int = 0
    duplicates: int = 0
    prefixes: dict[str, int] = field(default_factory=dict)


class IssueBuilder:
    """Draws, times and finishes every problem, then numbers them in order of receipt."""

    def __init__(self, demo: Demo, world: World) -> None:
        self.demo, self.world = demo, world
        self.drafts: list[Draft] = []
        self.year_start = demo.at(date(demo.year, 1, 1), 0)
        self.year_end = demo.at(date(demo.year + 1, 1, 1), 0)
        self.resolved_in_year = 0
        kind_weight = {PlatformKind.LIAISON_POINT: 1.5, PlatformKind.MEMBER_STUDIO: 1.2}
        self.picker = Picker(world.sites, [s.established_on for s in world.sites],
                             [s.weight * kind_weight.get(s.kind, 1.0) for s in world.sites])

    def build(self, meetings: list[Meeting]) -> IssueCounts:
        """All problems: from the year's events, walk-ins up to the seed's count, and since."""
        demo = self.demo
        in_year = [m for m in meetings if demo.local(m.ends_at).year == demo.year]
        for meeting in in_year:
            self.from_event(meeting)
        walk_ins = self._walk_ins_until_target()
        for meeting in meetings:
            if demo.local(meeting.ends_at).year != demo.year:
                self.from_event(meeting)
        first, last = date(demo.year + 1, 1, 1), demo.today - timedelta(days=1)
        if last >= first:
            for _ in range(round(walk_ins * ((last - first).days + 1) / 365)):
                self.walk_in(first, last)
        self.scripted()
        self.duplicates()
        return self.number()

    # Drawing ----------------------------------------------------------------------------------

    def _walk_ins_until_target(self) -> int:
        """Problems not raised at events, received around the year until enough were resolved."""
        demo = self.demo
        target = round(CITY_RESOLVED * demo.scale)
        first = date(demo.year, 1, 1) - timedelta(days=20)
        last = min(date(demo.year, 12, 31), demo.today - timedelta(days=1))
        count = 0
        for _ in range(3 * target + 50):  # a bound, should the year have barely begun
            if self.resolved_in_year >= target:
                break
            count += self.walk_in(first, last)
        return count

    def from_event(self, meeting: Meeting) -> None:
        demo = self.demo
        for _ in range(demo.pick(*ISSUES_PER_EVENT)):
            topic = meeting.topic if demo.chance(0.85) else self._topic(meeting.site)
            later = timedelta(minutes=demo.rng.randint(20, 90))
            received = demo.working_hours(meeting.ends_at + later)
            if received < demo.now:
                self.add(meeting.site, topic, IssueSource.EVENT, received, meeting)

    def walk_in(self, first: date, last: date) -> int:
        """One problem brought by a resident, a liaison point or a member; 0 if no platform yet."""
        demo = self.demo
        day = demo.day_between(first, last)
        site = self.picker.pick(demo.rng, day)
        if site is None:
            return 0
        source = demo.pick(*SOURCES_BY_KIND.get(site.kind, OTHER_SOURCES))
        if source is IssueSource.RESIDENT:  # submitted online, at any hour
            received = demo.at(day, demo.rng.randint(7, 22), demo.rng.randint(0, 59))
        else:
            received = demo.at(day, demo.rng.randint(9, 17), demo.rng.randint(0, 59))
        self.add(site, self._topic(site), source, min(received, demo.now - timedelta(minutes=5)))
        return 1

    def _topic(self, site: Site) -> Topic:
        topics, weights = topic_choices(site.rural)
        return self.demo.pick(topics, weights)

    def add(self, site: Site, topic: Topic, source: IssueSource, received: datetime,
            meeting: Meeting | None = None,
            steps: Callable[[Draft], list[Step]] | None = None) -> Draft:
        """Draw one problem's texts and history (or take ``steps``), and finish it."""
        demo = self.demo
        draft = Draft(len(self.drafts), site, topic, source, received,
                      site.fields(demo, demo.local(received).date()),
                      event_id=meeting.id if meeting else None)
        self._describe(draft, meeting)
        draft.steps = steps(draft) if steps else self._steps(draft, self._path(draft))
        self.finish(draft)
        self.drafts.append(draft)
        return draft

    def _path(self, draft: Draft) -> str:
        demo = self.demo
        if (demo.now - draft.received_at).days < STALL_DAYS and demo.chance(STALL_SHARE):
            return "stall"
        return demo.pick([p for p, _ in PATHS], [w for _, w in PATHS])

    def _describe(self, draft: Draft, meeting: Meeting | None) -> None:
        """Title, description, kind and the private submitter fields."""
        demo, topic = self.demo, draft.topic
        draft.issue_index = demo.rng.randrange(len(topic.issues))
        title, description = (fill(t, draft.fields) for t in topic.issues[draft.issue_index])
        if draft.source is IssueSource.EVENT and meeting:
            description = f"在“{meeting.title}”协商议事活动中,居民代表反映:{description}"
        elif draft.source is IssueSource.MEMBER:
            who = f"{draft.site.members[0][1]}委员" if draft.site.members else "政协委员"
            description = f"{who}走访时了解到:{description}"
        elif draft.source is IssueSource.LIAISON_POINT:
            description = f"联系点收集到居民反映:{description}"
        kind = topic.kinds[0] if demo.chance(0.7) else demo.pick([k.value for k in IssueKind])
        share = {IssueSource.RESIDENT: 1.0, IssueSource.LIAISON_POINT: 0.6, IssueSource.EVENT: 0.2}
        name, phone = demo.resident() if demo.chance(share.get(draft.source, 0.0)) else (None, None)
        draft.row = dict(
            id=None, reference=None, title=title, description=description, kind=IssueKind(kind),
            category=Category(topic.category), platform_id=draft.site.id,
            district_id=draft.site.district.id, event_id=draft.event_id, source=draft.source,
            submitter_name=name, submitter_phone=phone, tracking_token=demo.token(),
            department_id=None, due_on=None, planned_on=None, status=None, resolution=None,
            duplicate_of_id=None, resolved_at=None, closed_at=None, satisfaction=None,
            rated_at=None, version=1, created_at=draft.received_at, updated_at=draft.received_at,
            created_by_id=None if draft.source is SRC.RESIDENT else draft.site.coordinator_id,
        )

    # Timelines --------------------------------------------------------------------------------

    def _steps(self, draft: Draft, path: str) -> list[Step]:
        """The whole intended history of one problem (later steps may lie beyond now)."""
        demo, site = self.demo, draft.site
        coordinator, staff = site.coordinator_id, site.district.staff_id
        receiver = None if draft.source is IssueSource.RESIDENT else coordinator
        steps = [Step("receive", draft.received_at, receiver)]
        at = draft.received_at
        if path == "reject":
            steps.append(Step("reject", demo.after(at, 0.1, 3), coordinator,
                              reason=demo.pick(v.REJECT_REASONS)))
            return steps
        if path == "quick":  # the community fixed it without a department
            at = demo.after(at, 0.3, 7)
            steps.append(Step("resolve", at, coordinator,
                              resolution=self._text(draft, "resolutions")))
            return steps + self._rating(draft, at)
        department = self.world.department(demo, draft.topic.departments, site)
        due_days = demo.pick(DUE_DAYS)
        at = demo.after(at, 0.1, 3)
        due_on = demo.local(at).date() + timedelta(days=due_days)
        steps.append(Step("assign", at, staff, department=department, due_on=due_on))
        if path == "reject_assigned":
            steps.append(Step("reject", demo.after(at, 0.5, 5), staff,
                              reason=demo.pick(v.REJECT_REASONS)))
            return steps
        if path == "assign_resolve":
            at = demo.after(at, 1, due_days * 0.8)
            steps.append(Step("resolve", at, staff,
                              resolution=self._text(draft, "resolutions", department)))
            return steps + self._rating(draft, at)
        at = demo.after(at, 0.5, 4)
        steps.append(Step("start", at, staff))
        at = self._notes(draft, steps, at, demo.rng.randint(0, 2))
        if path == "stall":
            return steps
        if path in ("standard", "reopen"):
            return steps + self._resolved(draft, at, due_on, department, reopen=path == "reopen")
        if path == "constrain":
            at = demo.after(at, 10, 45)
            steps.append(Step("constrain", at, staff, resolution=self._text(draft, "constraints")))
            return steps + self._rating(draft, at)
        return steps + self._planned(draft, at, path, department)

    def _resolved(self, draft: Draft, at: datetime, due_on: date, department: tuple[int, str],
                  *, reopen: bool) -> list[Step]:
        """Resolve, mostly before the due date; a reopened one is rated badly and resolved again."""
        demo, staff = self.demo, draft.site.district.staff_id
        days_left = (due_on - demo.local(at).date()).days
        if demo.chance(0.85):
            at = demo.after(at, 1, max(1.5, days_left - 1))
        else:
            at = demo.after(at, days_left + 1, days_left + 30)
        answer = self._text(draft, "resolutions", department)
        steps = [Step("resolve", at, staff, resolution=answer)]
        if not reopen:
            return steps + self._rating(draft, at)
        rated = demo.after(at, 1, 10)
        steps.append(Step("rate", rated, satisfaction=Satisfaction.UNSATISFIED))
        at = demo.after(rated, 0.5, 3)
        steps.append(Step("reopen", at, staff, reason=demo.pick(v.REOPEN_REASONS)))
        at = demo.after(at, 0.1, 2)
        steps.append(Step("assign", at, staff, department=department,
                          due_on=demo.local(at).date() + timedelta(days=demo.pick((15, 20, 30)))))
        at = demo.after(at, 3, 14)
        steps.append(Step("resolve", at, staff, resolution=answer))
        return steps + self._rating(draft, at, unhappy=False)

    def _planned(self, draft: Draft, at: datetime, path: str,
                 department: tuple[int, str]) -> list[Step]:
        """列入计划: kept (mostly due after today), later resolved, or later found impossible."""
        demo, staff = self.demo, draft.site.district.staff_id
        at = demo.after(at, 5, 30)
        plan_day = demo.local(at).date()
        if path == "plan" and demo.chance(0.8):
            planned_on = max(plan_day + timedelta(days=60),
                             demo.today + timedelta(days=demo.rng.randint(15, 400)))
        else:
            planned_on = plan_day + timedelta(days=demo.rng.randint(30, 240))
        text = self._text(draft, "plans", extra={"next_year": planned_on.year})
        steps = [Step("plan", at, staff, planned_on=planned_on, resolution=text)]
        span = (planned_on - plan_day).days
        if path == "plan_resolve":
            at = demo.after(at, span * 0.6, span)
            steps.append(Step("resolve", at, staff,
                              resolution=self._text(draft, "resolutions", department)))
            steps += self._rating(draft, at)
        elif path == "plan_constrain":
            at = demo.after(at, 30, 120)
            steps.append(Step("constrain", at, staff, resolution=self._text(draft, "constraints")))
        return steps

    def _notes(self, draft: Draft, steps: list[Step], at: datetime, count: int) -> datetime:
        demo = self.demo
        for _ in range(count):
            at = demo.after(at, 1, 8)
            if demo.chance(0.8):
                fields = {**draft.fields, "dept": "承办单位"}
                note = fill(demo.pick(draft.topic.notes + v.PUBLIC_NOTES), fields)
                steps.append(Step("note", at, draft.site.coordinator_id, note=note))
            else:
                steps.append(Step("note", at, draft.site.coordinator_id,
                                  note=demo.pick(v.PRIVATE_NOTES), is_public=False))
        return at

    def _rating(self, draft: Draft, closed_at: datetime, *, unhappy: bool = True) -> list[Step]:
        """Some residents rate the outcome a few days after it was closed."""
        demo = self.demo
        likely = draft.source in (IssueSource.RESIDENT, IssueSource.EVENT)
        if not demo.chance(0.5 if likely else 0.2):
            return []
        options, weights = RATINGS if unhappy else (RATINGS[0][:2], RATINGS[1][:2])
        rated_at = demo.after(closed_at, 1, 15)
        return [Step("rate", rated_at, satisfaction=demo.pick(options, weights))]

    def _text(self, draft: Draft, kind: str, department: tuple[int, str] | None = None,
              extra: dict[str, Any] | None = None) -> str:
        fields = {**draft.fields, **(extra or {})}
        if department:
            fields["dept"] = department[1]
        if kind == "resolutions":
            return fill(draft.topic.resolutions[draft.issue_index], fields)
        return fill(self.demo.pick(getattr(draft.topic, kind)), fields)

    # Finishing --------------------------------------------------------------------------------

    def finish(self, draft: Draft) -> None:
        """Apply the steps up to now with the lifecycle's transitions; keep the timeline rows."""
        row, status = draft.row, None
        for step in draft.steps:
            if step.at > self.demo.now:
                break
            if step.action == "rate":
                if status in CLOSED_STATUSES:
                    row.update(satisfaction=step.satisfaction, rated_at=step.at, updated_at=step.at)
                continue
            values = step.values()
            if step.action == "receive":
                assert status is None, "a problem is received once"
                row["status"] = S.RECEIVED
            else:
                transition = TRANSITIONS[step.action]
                assert status in transition.sources, f"{step.action} is not allowed from {status}"
                row.update(transition.changes(status, values, step.at))
            before, status = status, row["status"]
            draft.updates.append(dict(
                action=step.action, from_status=before, to_status=status,
                note=timeline_note(values), is_public=step.is_public,
                actor_id=step.actor_id, created_at=step.at,
            ))
            row["updated_at"] = step.at
        row["status"] = status
        if (status is S.RESOLVED and self.year_start <= row["resolved_at"] < self.year_end):
            self.resolved_in_year += 1

    # The demo coordinator, duplicates, numbering ----------------------------------------------

    def scripted(self) -> None:
        """Open, overdue, planned, constrained and rejected problems for the demo coordinator."""
        sites = self.world.demo_sites
        for number, (source, script) in enumerate(SCRIPTS):
            site = sites[number % len(sites)]
            received = self._script_time(script[0][1])
            if self.demo.local(received).date() > site.established_on:
                self.add(site, self._topic(site), source, received,
                         steps=lambda draft, script=script: self._script_steps(draft, script))

    def _script_time(self, days_ago: int) -> datetime:
        minutes = self.demo.rng.randint(0, 480)
        day = self.demo.today - timedelta(days=days_ago)
        return self.demo.at(day, 9) + timedelta(minutes=minutes)

    def _script_steps(self, draft: Draft, script: tuple[tuple[str, int, int], ...]) -> list[Step]:
        site = draft.site
        receiver = None if draft.source is IssueSource.RESIDENT else site.coordinator_id
        steps = [Step("receive", draft.received_at, receiver)]
        for action, days_ago, ahead in script[1:]:
            at = self._script_time(days_ago)
            day = self.demo.local(at).date()
            step = Step(action, at, site.district.staff_id)
            if action == "assign":
                step.department, step.due_on = site.street.office, day + timedelta(days=ahead)
            elif action == "plan":
                step.planned_on = day + timedelta(days=ahead)
                extra = {"next_year": step.planned_on.year}
                step.resolution = self._text(draft, "plans", extra=extra)
            elif action == "note":
                step.note, step.actor_id = self.demo.pick(v.PUBLIC_NOTES), site.coordinator_id
            elif action == "reject":
                step.reason = self.demo.pick(v.REJECT_REASONS)
            elif action in ("constrain", "resolve"):
                kind = "constraints" if action == "constrain" else "resolutions"
                step.resolution = self._text(draft, kind, site.street.office)
            elif action == "rate":
                step.actor_id, step.satisfaction = None, Satisfaction.SATISFIED
            steps.append(step)
        return steps

    def duplicates(self) -> None:
        """A few residents report what someone already reported: rejected as duplicates."""
        demo = self.demo
        older = [d for d in self.drafts if d.received_at < demo.now - timedelta(days=3)]
        wanted = min(len(older), max(1, round(len(self.drafts) * 0.005)))
        for original in demo.rng.sample(older, wanted):
            received = min(original.received_at + timedelta(days=demo.rng.uniform(1, 20)),
                           demo.now - timedelta(hours=2))

            def steps(draft: Draft, original: Draft = original) -> list[Step]:
                rejected = demo.after(draft.received_at, 0.1, 2)
                return [Step("receive", draft.received_at),
                        Step("reject", rejected, original.site.coordinator_id,
                             reason=v.DUPLICATE_REASON)]

            draft = self.add(original.site, original.topic, IssueSource.RESIDENT, received,
                             steps=steps)
            draft.duplicate_of = original
            draft.row.update(title=original.row["title"], description=original.row["description"])

    def number(self) -> IssueCounts:
        """Ids and receipts in order of receipt; queue the rows; count for the report."""
        demo, counts = self.demo, IssueCounts()
        self.drafts.sort(key=lambda d: (d.received_at, d.order))
        for issue_id, draft in enumerate(self.drafts, 1):
            prefix = reference_prefix(draft.received_at)
            counts.prefixes[prefix] = counts.prefixes.get(prefix, 0) + 1
            reference = format_reference(prefix, counts.prefixes[prefix])
            draft.row.update(id=issue_id, reference=reference)
        for draft in self.drafts:
            self._link_duplicate(draft)
            demo.add("issues", **draft.row)
            for update in draft.updates:
                demo.add("issue_updates", id=demo.next_id("issue_updates"),
                         issue_id=draft.row["id"], **update)
            self._count(counts, draft)
        return counts

    def _link_duplicate(self, draft: Draft) -> None:
        if draft.duplicate_of is None or draft.row["status"] is not S.REJECTED:
            return
        ref = draft.duplicate_of.row["reference"]
        draft.row.update(duplicate_of_id=draft.duplicate_of.row["id"],
                         resolution=draft.row["resolution"].format(ref=ref))
        for update in draft.updates:
            if update["action"] == "reject":
                update["note"] = update["note"].format(ref=ref)

    def _count(self, counts: IssueCounts, draft: Draft) -> None:
        row, today = draft.row, self.demo.today
        counts.total += 1
        counts.updates += len(draft.updates)
        counts.by_status[row["status"].value] += 1
        counts.rated += row["satisfaction"] is not None
        counts.duplicates += row["duplicate_of_id"] is not None
        if row["status"] is S.RESOLVED and self.year_start <= row["resolved_at"] < self.year_end:
            counts.resolved_in_year += 1
        if (row["status"] in DUE_STATUSES and row["due_on"] and row["due_on"] < today) or (
                row["status"] is S.PLANNED and row["planned_on"] < today):
            counts.overdue += 1


def build_issues(demo: Demo, world: World, meetings: list[Meeting]) -> IssueCounts:
    return IssueBuilder(demo, world).build(meetings)
