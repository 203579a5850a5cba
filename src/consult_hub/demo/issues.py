"""Residents' problems with timelines the lifecycle allows, sized to the seed's 1,300 resolved.

Every problem is drawn as a path (quick fix, assign → acknowledge → reply → confirm, plan,
constrain, reject, reopen…) with times in office hours; steps later than ``now`` are dropped,
which is what leaves recent problems open. The final fields are then derived step by step by
the lifecycle's own transitions (``Transition.changes``), each step checked against
``TRANSITIONS``.

A resident's own submission starts pending (待受理) and is accepted and published by district
staff within a day or two, with a public text that leaves out the contact details the resident
wrote; one found out of scope, or a duplicate, is rejected at review and never published. What
staff, liaison points and members raise is published as it is recorded. A department (承办单位)
mostly acknowledges (签收) within two working days, replies with a proposed outcome (答复) and
district staff confirm it (办结确认); some replies go back for rework, some departments ask for
more time, a few send a problem back as not theirs.
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
from consult_hub.issues.lifecycle import DEPARTMENT_ACTIONS, TRANSITIONS, timeline_note
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
# Review of a resident's submission: accepted and published within this many days.
ACCEPT_DAYS = (0.05, 2.0)
# A department's handling: acknowledged within two working days mostly; some start at once
# without a separate 签收; most start work after acknowledging.
ACK_ON_TIME = 0.85
START_AT_ONCE = 0.1
START_AFTER_ACK = 0.6
# Shares of the department's answers: sent back for rework; extension requested (and of those
# approved); problems sent back as not the department's; outcomes staff record themselves
# (answered by phone or on site, without a reply in the system).
REWORK_SHARE = 0.08
EXTENSION_SHARE = 0.05
EXTENSION_APPROVED = 0.8
RETURN_SHARE = 0.02
STAFF_OUTCOME_SHARE = 0.12
# What a resident's words hold besides the problem: contact details in this share.
CONTACT_SHARE = 0.5
SRC = IssueSource
SOURCES_BY_KIND = {
    PlatformKind.LIAISON_POINT: ((SRC.LIAISON_POINT, SRC.RESIDENT, SRC.MEMBER), (60, 30, 10)),
    PlatformKind.MEMBER_STUDIO: ((SRC.MEMBER, SRC.RESIDENT, SRC.LIAISON_POINT), (55, 35, 10)),
}
OTHER_SOURCES = ((SRC.RESIDENT, SRC.MEMBER, SRC.LIAISON_POINT), (60, 20, 20))
# Scripted problems: (source, steps) with (action, days ago, days ahead: the due date for
# assign, the planned date for plan and reply_planned, the requested date for an extension).
# Steps lie on different days, in order. A resident's submission is accepted before it is
# handled; one only received waits for review.
Script = tuple[IssueSource, tuple[tuple[str, int, int], ...]]
# The demo coordinator's platforms, handled by their street office.
SCRIPTS: tuple[Script, ...] = (
    (SRC.RESIDENT, (("receive", 26, 0), ("accept", 25, 0), ("assign", 24, 18),
                    ("acknowledge", 23, 0))),  # overdue 6 days
    (SRC.MEMBER, (("receive", 40, 0), ("assign", 39, 24), ("acknowledge", 38, 0),
                  ("start", 37, 0), ("note", 20, 0))),  # in progress, overdue 15 days
    (SRC.RESIDENT, (("receive", 1, 0),)),  # waiting for review
    (SRC.LIAISON_POINT, (("receive", 12, 0), ("assign", 11, 13), ("acknowledge", 10, 0),
                         ("start", 9, 0))),  # due soon
    (SRC.MEMBER, (("receive", 70, 0), ("assign", 68, 30), ("acknowledge", 67, 0),
                  ("start", 66, 0), ("reply_planned", 31, 121), ("confirm", 30, 0))),  # planned
    (SRC.LIAISON_POINT, (("receive", 200, 0), ("assign", 198, 30), ("start", 196, 0),
                         ("plan", 150, 140))),  # planned, overdue
    (SRC.MEMBER, (("receive", 60, 0), ("assign", 59, 30), ("acknowledge", 58, 0),
                  ("start", 57, 0), ("reply_constrained", 21, 0),
                  ("confirm", 20, 0))),  # constrained
    (SRC.RESIDENT, (("receive", 8, 0), ("reject", 7, 0))),  # refused at review
    (SRC.RESIDENT, (("receive", 46, 0), ("accept", 45, 0), ("assign", 44, 30),
                    ("acknowledge", 43, 0), ("start", 42, 0), ("note", 30, 0), ("reply", 27, 0),
                    ("rework", 26, 0), ("reply", 25, 0), ("confirm", 24, 0), ("rate", 20, 0))),
    (SRC.RESIDENT, (("receive", 2, 0),)),  # waiting for review
    (SRC.RESIDENT, (("receive", 3, 0),)),  # waiting for review
)
# The demo department's queue (vocabulary.DEMO_DEPARTMENT_KIND of the demo district).
DEPARTMENT_SCRIPTS: tuple[Script, ...] = (
    (SRC.LIAISON_POINT, (("receive", 4, 0), ("assign", 2, 15))),  # new
    (SRC.RESIDENT, (("receive", 5, 0), ("accept", 4, 0), ("assign", 1, 20))),  # new
    (SRC.MEMBER, (("receive", 3, 0), ("assign", 1, 30))),  # new
    (SRC.LIAISON_POINT, (("receive", 15, 0), ("assign", 14, 16), ("acknowledge", 13, 0),
                         ("start", 11, 0))),  # due in two days
    (SRC.RESIDENT, (("receive", 31, 0), ("accept", 30, 0), ("assign", 29, 20),
                    ("acknowledge", 27, 0), ("start", 25, 0), ("note", 12, 0))),  # overdue
    (SRC.MEMBER, (("receive", 26, 0), ("assign", 25, 30), ("acknowledge", 24, 0),
                  ("start", 22, 0), ("reply", 6, 0), ("rework", 4, 0))),  # back for rework
    (SRC.LIAISON_POINT, (("receive", 21, 0), ("assign", 20, 22), ("acknowledge", 19, 0),
                         ("start", 17, 0), ("request_extension", 2, 30))),  # asks for time
    (SRC.RESIDENT, (("receive", 23, 0), ("accept", 22, 0), ("assign", 21, 30),
                    ("acknowledge", 20, 0), ("start", 18, 0), ("reply", 2, 0))),  # to confirm
    (SRC.MEMBER, (("receive", 50, 0), ("assign", 49, 20), ("acknowledge", 48, 0),
                  ("start", 46, 0), ("request_extension", 40, 35), ("approve_extension", 39, 0),
                  ("reply", 30, 0), ("confirm", 29, 0), ("rate", 25, 0))),  # done
)
# A scripted reply and the outcome it proposes.
REPLIES = {"reply": S.RESOLVED, "reply_planned": S.PLANNED, "reply_constrained": S.CONSTRAINED}
# Who takes an action: the department's contact, or district staff (the rest, but notes).
DEPARTMENT_SIDE = DEPARTMENT_ACTIONS - {"note"}
STAFF_OUTCOME = {S.RESOLVED: "resolve", S.PLANNED: "plan", S.CONSTRAINED: "constrain"}
# The columns a problem's row starts with besides its text (what the lifecycle writes later).
HANDLING = dict.fromkeys((
    "department_id", "due_on", "planned_on", "status", "resolution", "duplicate_of_id",
    "resolved_at", "closed_at", "satisfaction", "rated_at", "published_at", "consent_version",
    "contact_erased_at", "assigned_at", "acknowledged_at", "replied_at", "reply",
    "proposed_status", "proposed_planned_on", "requested_due_on", "extension_reason",
    "rework_reason", "returned_at"))


@dataclass
class Step:
    action: str  # a lifecycle action, "receive", or "rate" (a rating: no timeline entry)
    at: datetime
    actor_id: int | None = None
    note: str | None = None
    is_public: bool = True  # for notes; other actions are as public as their transition
    department: tuple[int, str] | None = None
    due_on: date | None = None
    planned_on: date | None = None
    resolution: str | None = None
    reason: str | None = None
    satisfaction: Satisfaction | None = None
    title: str | None = None
    description: str | None = None
    reply: str | None = None
    proposed_status: IssueStatus | None = None
    requested_due_on: date | None = None

    def values(self) -> dict[str, Any]:
        """The step's values as lifecycle effects take them (the department as its id)."""
        return {"department": self.department[0] if self.department else None,
                "due_on": self.due_on, "planned_on": self.planned_on,
                "resolution": self.resolution, "reason": self.reason, "note": self.note,
                "title": self.title, "description": self.description, "reply": self.reply,
                "proposed_status": self.proposed_status,
                "requested_due_on": self.requested_due_on}


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
    # The public title and description staff publish (a resident's words stay private).
    public: tuple[str, str] = ("", "")

    @property
    def needs_review(self) -> bool:
        """A resident's own submission: pending until staff accept it."""
        return self.source is IssueSource.RESIDENT


@dataclass
class IssueCounts:
    total: int = 0
    updates: int = 0
    resolved_in_year: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    actions: Counter[str] = field(default_factory=Counter)
    overdue: int = 0
    rated: int = 0
    duplicates: int = 0
    unpublished: int = 0
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
            steps: Callable[[Draft], list[Step]] | None = None,
            contact: bool | None = None) -> Draft:
        """Draw one problem's texts and history (or take ``steps``), and finish it."""
        demo = self.demo
        draft = Draft(len(self.drafts), site, topic, source, received,
                      site.fields(demo, demo.local(received).date()),
                      event_id=meeting.id if meeting else None)
        self._describe(draft, meeting, contact)
        draft.steps = steps(draft) if steps else self._steps(draft, self._path(draft))
        self.finish(draft)
        self.drafts.append(draft)
        return draft

    def _path(self, draft: Draft) -> str:
        demo = self.demo
        if (demo.now - draft.received_at).days < STALL_DAYS and demo.chance(STALL_SHARE):
            return "stall"
        return demo.pick([p for p, _ in PATHS], [w for _, w in PATHS])

    def _describe(self, draft: Draft, meeting: Meeting | None, contact: bool | None) -> None:
        """Title, description, kind and the private submitter fields.

        A resident's submission keeps the resident's words (often with their name and phone
        number) as submitted; staff publish the plain description of the problem.
        """
        demo, topic = self.demo, draft.topic
        draft.issue_index = demo.rng.randrange(len(topic.issues))
        title, description = (fill(t, draft.fields) for t in topic.issues[draft.issue_index])
        if draft.source is IssueSource.EVENT and meeting:
            description = f"在“{meeting.title}”协商议事活动中，居民代表反映：{description}"
        elif draft.source is IssueSource.MEMBER:
            who = f"{draft.site.members[0][1]}委员" if draft.site.members else "政协委员"
            description = f"{who}走访时了解到：{description}"
        elif draft.source is IssueSource.LIAISON_POINT:
            description = f"联系点收集到居民反映：{description}"
        kind = topic.kinds[0] if demo.chance(0.7) else demo.pick([k.value for k in IssueKind])
        share = {IssueSource.RESIDENT: 1.0, IssueSource.LIAISON_POINT: 0.6, IssueSource.EVENT: 0.2}
        name, phone = demo.resident() if demo.chance(share.get(draft.source, 0.0)) else (None, None)
        draft.public = (title, description)
        submitted_title = submitted_text = None
        if draft.needs_review:
            submitted_title, submitted_text = title, description
            if name and (demo.chance(CONTACT_SHARE) if contact is None else contact):
                line = demo.pick(v.CONTACT_LINES[:3] if contact else v.CONTACT_LINES)
                submitted_text += fill(line, {**draft.fields, "name": name, "phone": phone,
                                              "surname": name[:-2]})
        draft.row = dict(
            HANDLING, id=None, reference=None, title=submitted_title or title,
            description=submitted_text or description, submitted_title=submitted_title,
            submitted_text=submitted_text, kind=IssueKind(kind),
            category=Category(topic.category), platform_id=draft.site.id,
            district_id=draft.site.district.id, event_id=draft.event_id, source=draft.source,
            submitter_name=name, submitter_phone=phone, tracking_token=demo.token(),
            version=1, created_at=draft.received_at, updated_at=draft.received_at,
            created_by_id=None if draft.source is SRC.RESIDENT else draft.site.coordinator_id,
        )

    # Timelines --------------------------------------------------------------------------------

    def _steps(self, draft: Draft, path: str) -> list[Step]:
        """The whole intended history of one problem (later steps may lie beyond now)."""
        demo, site = self.demo, draft.site
        coordinator, staff = site.coordinator_id, site.district.staff_id
        receiver = None if draft.needs_review else coordinator
        steps = [Step("receive", draft.received_at, receiver)]
        at = draft.received_at
        if draft.needs_review:
            if path == "reject":  # out of scope: refused at review, never published
                steps.append(Step("reject", demo.after(at, *ACCEPT_DAYS), staff,
                                  reason=demo.pick(v.REJECT_REASONS)))
                return steps
            at = demo.after(at, *ACCEPT_DAYS)
            steps.append(self._accept(draft, at))
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
        quick = path == "assign_resolve"  # answered soon after acknowledging, without notes
        at, department, due_on = self._take_up(draft, steps, at, department, due_on,
                                               quick=quick, stall=path == "stall")
        if not quick:
            at = self._notes(draft, steps, at, demo.rng.randint(0, 2))
        if path == "stall":
            return steps
        at, due_on = self._extension(draft, steps, at, department, due_on)
        if path in ("standard", "reopen", "assign_resolve"):
            return steps + self._resolved(draft, at, due_on, department, reopen=path == "reopen")
        if path == "constrain":
            at = demo.after(at, 10, 45)
            answer, at = self._answer(draft, at, department, S.CONSTRAINED,
                                      self._text(draft, "constraints"))
            return steps + answer + self._rating(draft, at)
        return steps + self._planned(draft, at, path, department)

    def _accept(self, draft: Draft, at: datetime) -> Step:
        """District staff publish a resident's submission with its public title and text."""
        title, description = draft.public
        return Step("accept", at, draft.site.district.staff_id, title=title,
                    description=description)

    def _take_up(self, draft: Draft, steps: list[Step], at: datetime,
                 department: tuple[int, str], due_on: date, *, quick: bool,
                 stall: bool) -> tuple[datetime, tuple[int, str], date]:
        """The department acknowledges (签收) and starts; a few send the problem back first
        and staff assign it again. A stalled problem may never be acknowledged."""
        demo = self.demo
        if demo.chance(RETURN_SHARE):
            at, department, due_on = self._returned(draft, steps, at, department)
        if stall and demo.chance(0.15):
            return at, department, due_on
        contact = self.world.contact(demo, department)
        if not quick and demo.chance(START_AT_ONCE):
            at = demo.after(at, 0.2, 2)
            steps.append(Step("start", at, contact))
            return at, department, due_on
        at = demo.after(at, 0.05, 1.5) if demo.chance(ACK_ON_TIME) else demo.after(at, 2, 6)
        steps.append(Step("acknowledge", at, contact))
        if not quick and demo.chance(START_AFTER_ACK):
            at = demo.after(at, 0.2, 3)
            steps.append(Step("start", at, contact))
        return at, department, due_on

    def _returned(self, draft: Draft, steps: list[Step], at: datetime,
                  department: tuple[int, str]) -> tuple[datetime, tuple[int, str], date]:
        """退回: not this department's; staff assign another one with a fresh due date."""
        demo, site = self.demo, draft.site
        at = demo.after(at, 0.3, 3)
        steps.append(Step("return", at, self.world.contact(demo, department),
                          reason=demo.pick(v.RETURN_REASONS)))
        other = department
        for _ in range(5):
            other = self.world.department(demo, draft.topic.departments, site)
            if other != department:
                break
        if other == department:
            other = (site.street.office if site.street.office != department
                     else self.world.city_departments["housing"])
        at = demo.after(at, 0.1, 2)
        due_on = demo.local(at).date() + timedelta(days=demo.pick(DUE_DAYS))
        steps.append(Step("assign", at, site.district.staff_id, department=other, due_on=due_on))
        return at, other, due_on

    def _extension(self, draft: Draft, steps: list[Step], at: datetime,
                   department: tuple[int, str], due_on: date) -> tuple[datetime, date]:
        """申请延期 now and then; staff mostly approve (the due date moves) or refuse."""
        demo = self.demo
        if not demo.chance(EXTENSION_SHARE):
            return at, due_on
        at = demo.after(at, 0.5, 5)
        wanted = due_on + timedelta(days=demo.rng.randint(10, 30))
        steps.append(Step("request_extension", at, self.world.contact(demo, department),
                          requested_due_on=wanted, reason=demo.pick(v.EXTENSION_REASONS)))
        at = demo.after(at, 0.3, 2)
        staff = draft.site.district.staff_id
        if demo.chance(EXTENSION_APPROVED):
            steps.append(Step("approve_extension", at, staff))
            return at, wanted
        steps.append(Step("refuse_extension", at, staff,
                          reason=demo.pick(v.REFUSE_EXTENSION_REASONS)))
        return at, due_on

    def _answer(self, draft: Draft, at: datetime, department: tuple[int, str],
                proposed: IssueStatus, text: str,
                planned_on: date | None = None) -> tuple[list[Step], datetime]:
        """The department's reply (答复) proposing ``proposed``, now and then returned for
        rework (退回重办) and answered again, then confirmed (办结确认) by district staff.
        Some outcomes staff record themselves. Returns the steps and when it closed."""
        demo, staff = self.demo, draft.site.district.staff_id
        if demo.chance(STAFF_OUTCOME_SHARE):
            return [Step(STAFF_OUTCOME[proposed], at, staff, resolution=text,
                         planned_on=planned_on)], at
        contact = self.world.contact(demo, department)
        steps = [Step("reply", at, contact, reply=text, proposed_status=proposed,
                      planned_on=planned_on)]
        if demo.chance(REWORK_SHARE):
            at = demo.after(at, 0.3, 3)
            steps.append(Step("rework", at, staff, reason=demo.pick(v.REWORK_REASONS)))
            at = demo.after(at, 2, 10)
            steps.append(Step("reply", at, contact, reply=text, proposed_status=proposed,
                              planned_on=planned_on))
        at = demo.after(at, 0.2, 3)
        steps.append(Step("confirm", at, staff))
        return steps, at

    def _resolved(self, draft: Draft, at: datetime, due_on: date, department: tuple[int, str],
                  *, reopen: bool) -> list[Step]:
        """Answered as solved, mostly before the due date; a reopened one is rated badly and
        handled again."""
        demo, staff = self.demo, draft.site.district.staff_id
        days_left = (due_on - demo.local(at).date()).days
        if demo.chance(0.85):
            at = demo.after(at, 1, max(1.5, days_left - 1))
        else:
            at = demo.after(at, days_left + 1, days_left + 30)
        answer = self._text(draft, "resolutions", department)
        steps, at = self._answer(draft, at, department, S.RESOLVED, answer)
        if not reopen:
            return steps + self._rating(draft, at)
        rated = demo.after(at, 1, 10)
        steps.append(Step("rate", rated, satisfaction=Satisfaction.UNSATISFIED))
        at = demo.after(rated, 0.5, 3)
        steps.append(Step("reopen", at, staff, reason=demo.pick(v.REOPEN_REASONS)))
        at = demo.after(at, 0.1, 2)
        due_on = demo.local(at).date() + timedelta(days=demo.pick((15, 20, 30)))
        steps.append(Step("assign", at, staff, department=department, due_on=due_on))
        at, department, due_on = self._take_up(draft, steps, at, department, due_on,
                                               quick=True, stall=False)
        answer_again, at = self._answer(draft, demo.after(at, 3, 14), department, S.RESOLVED,
                                        answer)
        return steps + answer_again + self._rating(draft, at, unhappy=False)

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
        steps, at = self._answer(draft, at, department, S.PLANNED, text, planned_on)
        span = (planned_on - demo.local(at).date()).days
        if path == "plan_resolve":
            at = demo.after(at, span * 0.6, max(span, 1))
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
            is_public = step.is_public
            department_before = row.get("department_id")
            if step.action == "receive":
                assert status is None, "a problem is received once"
                row["status"] = S.PENDING if draft.needs_review else S.RECEIVED
                if not draft.needs_review:  # staff wrote it: public as recorded
                    row["published_at"] = step.at
            else:
                transition = TRANSITIONS[step.action]
                assert transition.allows(row), f"{step.action} is not allowed from {status}"
                row.update(transition.changes(status, values, step.at, row))
                if step.action != "note":
                    is_public = transition.is_public
            before, status = status, row["status"]
            draft.updates.append(dict(
                action=step.action, from_status=before, to_status=status,
                note=timeline_note(values), is_public=is_public,
                actor_id=step.actor_id, created_at=step.at,
                # As lifecycle.apply writes them: the department concerned, the due date after.
                department_id=row.get("department_id") or department_before,
                due_on=row.get("due_on"),
            ))
            row["updated_at"] = step.at
        row["status"] = status
        if (status is S.RESOLVED and self.year_start <= row["resolved_at"] < self.year_end):
            self.resolved_in_year += 1

    # Scripted problems, duplicates, numbering -------------------------------------------------

    def scripted(self) -> None:
        """Problems in every state for the demo coordinator, the demo district's staff (who
        review the waiting submissions) and the demo department's contact."""
        sites = self.world.demo_sites
        scripts = [(script, None) for script in SCRIPTS]
        scripts += [(script, self.world.demo_department) for script in DEPARTMENT_SCRIPTS]
        for number, ((source, script), department) in enumerate(scripts):
            site = sites[number % len(sites)]
            received = self._script_time(script[0][1])
            if self.demo.local(received).date() > site.established_on:
                waiting = len(script) == 1  # for review: the resident's words as they wrote them
                self.add(site, self._topic(site), source, received,
                         steps=lambda draft, s=script, d=department: self._script_steps(
                             draft, s, d),
                         contact=True if waiting else None)

    def _script_time(self, days_ago: int) -> datetime:
        minutes = self.demo.rng.randint(0, 480)
        day = self.demo.today - timedelta(days=days_ago)
        return self.demo.at(day, 9) + timedelta(minutes=minutes)

    def _script_steps(self, draft: Draft, script: tuple[tuple[str, int, int], ...],
                      department: tuple[int, str] | None) -> list[Step]:
        site, demo = draft.site, self.demo
        department = department or site.street.office
        assert department is not None
        contact = self.world.contact(demo, department)
        receiver = None if draft.needs_review else site.coordinator_id
        steps = [Step("receive", draft.received_at, receiver)]
        for action, days_ago, ahead in script[1:]:
            at = self._script_time(days_ago)
            day = demo.local(at).date()
            proposed = REPLIES.get(action)
            action = "reply" if proposed else action
            actor = contact if action in DEPARTMENT_SIDE else site.district.staff_id
            step = Step(action, at, actor)
            if action == "accept":
                step = self._accept(draft, at)
            elif action == "assign":
                step.department, step.due_on = department, day + timedelta(days=ahead)
            elif action == "plan":
                step.planned_on = day + timedelta(days=ahead)
                extra = {"next_year": step.planned_on.year}
                step.resolution = self._text(draft, "plans", extra=extra)
            elif proposed is not None:
                step.proposed_status = proposed
                if proposed is S.PLANNED:
                    step.planned_on = day + timedelta(days=ahead)
                    step.reply = self._text(draft, "plans",
                                            extra={"next_year": step.planned_on.year})
                else:
                    kind = "constraints" if proposed is S.CONSTRAINED else "resolutions"
                    step.reply = self._text(draft, kind, department)
            elif action == "rework":
                step.reason = demo.pick(v.REWORK_REASONS)
            elif action == "request_extension":
                step.requested_due_on = day + timedelta(days=ahead)
                step.reason = demo.pick(v.EXTENSION_REASONS)
            elif action == "note":
                step.note, step.actor_id = demo.pick(v.PUBLIC_NOTES), site.coordinator_id
            elif action == "reject":
                step.reason = demo.pick(v.REJECT_REASONS)
            elif action in ("constrain", "resolve"):
                kind = "constraints" if action == "constrain" else "resolutions"
                step.resolution = self._text(draft, kind, department)
            elif action == "rate":
                step.actor_id, step.satisfaction = None, Satisfaction.SATISFIED
            steps.append(step)
        return steps

    def duplicates(self) -> None:
        """A few residents report what someone already reported: rejected as duplicates at
        review, so never published."""
        demo = self.demo
        older = [d for d in self.drafts if d.received_at < demo.now - timedelta(days=3)]
        wanted = min(len(older), max(1, round(len(self.drafts) * 0.005)))
        for original in demo.rng.sample(older, wanted):
            received = min(original.received_at + timedelta(days=demo.rng.uniform(1, 20)),
                           demo.now - timedelta(hours=2))

            def steps(draft: Draft, original: Draft = original) -> list[Step]:
                rejected = demo.after(draft.received_at, 0.1, 2)
                return [Step("receive", draft.received_at),
                        Step("reject", rejected, original.site.district.staff_id,
                             reason=v.DUPLICATE_REASON)]

            draft = self.add(original.site, original.topic, IssueSource.RESIDENT, received,
                             steps=steps, contact=False)
            draft.duplicate_of = original
            title, description = original.public
            draft.row.update(title=title, description=description, submitted_title=title,
                             submitted_text=description)

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
        counts.actions.update(u["action"] for u in draft.updates)
        counts.rated += row["satisfaction"] is not None
        counts.duplicates += row["duplicate_of_id"] is not None
        counts.unpublished += row["published_at"] is None
        if row["status"] is S.RESOLVED and self.year_start <= row["resolved_at"] < self.year_end:
            counts.resolved_in_year += 1
        if (row["status"] in DUE_STATUSES and row["due_on"] and row["due_on"] < today) or (
                row["status"] is S.PLANNED and row["planned_on"] < today):
            counts.overdue += 1


def build_issues(demo: Demo, world: World, meetings: list[Meeting]) -> IssueCounts:
    return IssueBuilder(demo, world).build(meetings)
