"""Reminder sweepers. Each asks "what is due and not yet done?" at ``now`` and queues it.

Every reminder has a dedupe key naming the fact it is about (an event's start
time, a problem's due date, a month), so a sweep that runs twice, or in two
processes at once, or again after a crash, never reminds anyone twice — and a
rescheduled event or a new due date makes a new key, so it is reminded afresh.

Each sweeper asks once which of its keys are queued already (``delivered``), composes only
the rest, and writes its rows together (``insert_ignoring_duplicates``).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from consult_hub.areas.models import Area
from consult_hub.core.i18n import gettext as _
from consult_hub.core.timefmt import format_date, format_datetime, local_today, to_local
from consult_hub.events.models import Event, EventStatus
from consult_hub.events.queries import inactive_clause
from consult_hub.extensions import db
from consult_hub.issues.models import DUE_STATUSES, Issue, IssueStatus
from consult_hub.notifications import digests
from consult_hub.notifications.operations import (
    Message,
    delivered,
    insert_ignoring_duplicates,
    notification_rows,
)
from consult_hub.notifications.recipients import (
    city_staff,
    coordinators_by_platform,
    department_contacts,
    district_staff,
    link,
)
from consult_hub.platforms.models import Platform, PlatformStatus
from consult_hub.proposals.models import HANDLING_STATUSES, Proposal

# -- events -----------------------------------------------------------------------------------


def sweep_event_upcoming(now: datetime) -> int:
    """72 h and 24 h before a planned event, remind its platform's coordinators (once each)."""
    offsets = current_app.config["EVENT_REMINDER_HOURS"]
    if not offsets:
        return 0
    events = db.session.scalars(
        sa.select(Event).options(selectinload(Event.platform))
        .where(Event.status == EventStatus.PLANNED, Event.starts_at > now,
               Event.starts_at <= now + timedelta(hours=max(offsets)))
    ).all()
    people = coordinators_by_platform(e.platform_id for e in events)

    def window(event: Event) -> int:
        # Only the nearest window: an event planned 10 h ahead gets the 24 h reminder alone.
        return min(h for h in offsets if event.starts_at - now <= timedelta(hours=h))

    keys = {event.id: f"event_upcoming:{event.id}:{event.starts_at.isoformat()}:{window(event)}"
            for event in events}
    sent = delivered(keys.values())
    rows: list[dict] = []
    for event in events:
        rows += notification_rows(
            people[event.platform_id], kind="event_upcoming", now=now, skip=sent,
            dedupe_key=keys[event.id],
            compose=lambda _user, e=event: Message(
                _("活动提醒：%(topic)s（%(start)s）", topic=e.topic,
                  start=format_datetime(e.starts_at)),
                _("%(platform)s将于%(start)s至%(end)s在%(place)s举行协商议事活动“%(topic)s”，"
                  "距开始约%(hours)s小时。", platform=e.platform.name,
                  start=format_datetime(e.starts_at), end=format_datetime(e.ends_at, "%H:%M"),
                  place=e.location, topic=e.topic, hours=_hours_until(e.starts_at, now)),
                link("events.detail", ("platforms.detail", {"platform_id": e.platform_id}),
                     event_id=e.id)),
        )
    return insert_ignoring_duplicates(rows)


def _hours_until(when: datetime, now: datetime) -> int:
    return max(1, round((when - now).total_seconds() / 3600))


def sweep_minutes_missing(now: datetime) -> int:
    """2 and 7 days after a planned event's end, while it is still not recorded as held."""
    offsets = current_app.config["MINUTES_REMINDER_DAYS"]
    if not offsets:
        return 0
    events = db.session.scalars(
        sa.select(Event).options(selectinload(Event.platform))
        .where(Event.status == EventStatus.PLANNED,
               Event.ends_at <= now - timedelta(days=min(offsets)))
    ).all()
    people = coordinators_by_platform(e.platform_id for e in events)
    stage = {event.id: max(d for d in offsets if event.ends_at + timedelta(days=d) <= now)
             for event in events}
    keys = {event.id: f"minutes_missing:{event.id}:{event.ends_at.isoformat()}:{stage[event.id]}"
            for event in events}
    sent = delivered(keys.values())
    rows: list[dict] = []
    for event in events:
        rows += notification_rows(
            people[event.platform_id], kind="minutes_missing", now=now, skip=sent,
            dedupe_key=keys[event.id],
            compose=lambda _user, e=event, d=stage[event.id]: Message(
                _("请补录活动纪要：%(topic)s", topic=e.topic),
                _("%(platform)s的协商议事活动“%(topic)s”已于%(end)s结束%(days)s天，仍未登记为"
                  "已举行。请补录纪要、参加人员和协商意见；如未举行，请取消并说明原因。",
                  platform=e.platform.name, topic=e.topic, end=format_datetime(e.ends_at),
                  days=d),
                link("events.detail", ("platforms.detail", {"platform_id": e.platform_id}),
                     event_id=e.id)),
        )
    return insert_ignoring_duplicates(rows)


# -- problems ---------------------------------------------------------------------------------


def _issue_message(issue: Issue, headline: str, detail: str) -> Message:
    department = issue.department.name if issue.department else _("未交办")
    return Message(
        _("%(headline)s：%(ref)s %(title)s", headline=headline, ref=issue.reference,
          title=issue.title),
        _("%(detail)s 问题 %(ref)s“%(title)s”（%(platform)s），当前状态：%(status)s，承办单位："
          "%(department)s。", detail=detail, ref=issue.reference, title=issue.title,
          platform=issue.platform.name, status=issue.status.label, department=department),
        link("issues.detail", ("platforms.detail", {"platform_id": issue.platform_id}),
             issue_id=issue.id),
    )


# The statuses in which the department a problem is assigned to hears about its deadline: it
# holds the problem (acknowledged counts as much as assigned), or it promised a date (planned).
DEPARTMENT_REMINDED = frozenset({IssueStatus.ASSIGNED, IssueStatus.ACKNOWLEDGED,
                                 IssueStatus.IN_PROGRESS, IssueStatus.PLANNED})


def sweep_issue_deadlines(now: datetime) -> int:
    """Due soon (3 days before), overdue (the day after), escalated to district staff (7 days on).

    The platform's coordinators hear of both, and so do the contacts of the department the
    problem is assigned to (keys of their own, ``department_due_soon:…``/``department_overdue:…``,
    naming the department: a problem assigned elsewhere is news to the new department).

    The candidates are read as plain rows and their keys checked against what is queued in a
    few queries; only problems with something new are loaded and written about. A sweep that
    has nothing new to say (most of them, every five minutes) does no more than that.
    """
    today = local_today(now)
    soon = current_app.config["DUE_SOON_DAYS"]
    escalate = current_app.config["ESCALATE_AFTER_DAYS"]
    rows = db.session.execute(
        sa.select(Issue.id, Issue.status, Issue.due_on, Issue.planned_on, Issue.platform_id,
                  Issue.district_id, Issue.department_id)
        .where(sa.or_(
            sa.and_(Issue.status.in_(DUE_STATUSES), Issue.due_on <= today + timedelta(days=soon)),
            sa.and_(Issue.status == IssueStatus.PLANNED, Issue.planned_on < today),
        ))
    ).all()
    # What each problem calls for: (kind, dedupe key, who, deadline, days late).
    wanted: dict[int, list[tuple[str, str, str, date, int]]] = {}
    for row in rows:
        planned = row.status is IssueStatus.PLANNED
        deadline = row.planned_on if planned else row.due_on
        assert deadline is not None
        tag = f"{'planned' if planned else 'due'}:{deadline.isoformat()}"
        late = (today - deadline).days
        if late <= 0:
            calls = [("issue_due_soon", f"issue_due_soon:{row.id}:{tag}", "coordinators")]
        else:
            # District staff hear of a missed planned date at once, unless the problem is past
            # escalation when first seen (a first sweep over old problems): the escalation says
            # the same to them, and one message per problem is enough.
            calls = [("issue_overdue", f"issue_overdue:{row.id}:{tag}",
                      "both" if planned and late <= escalate else "coordinators")]
            if late > escalate:
                calls.append(("issue_escalated", f"issue_escalated:{row.id}:{tag}", "staff"))
        if row.department_id is not None and row.status in DEPARTMENT_REMINDED:
            stage = "due_soon" if late <= 0 else "overdue"
            calls.append((f"issue_{stage}",
                          f"department_{stage}:{row.id}:{row.department_id}:{tag}", "department"))
        wanted[row.id] = [(kind, key, who, deadline, late) for kind, key, who in calls]
    by_id = {row.id: row for row in rows}
    coordinators = coordinators_by_platform(row.platform_id for row in rows)
    staff = district_staff(row.district_id for row in rows)
    contacts = department_contacts(row.department_id for row in rows
                                   if row.department_id is not None)

    def recipients(row: Any, who: str) -> list[Any]:
        if who == "department":
            return contacts[row.department_id]
        if who == "staff":
            return staff[row.district_id]
        if who == "both":
            return coordinators[row.platform_id] + staff[row.district_id]
        return coordinators[row.platform_id]

    sent = delivered(key for calls in wanted.values() for _k, key, *_rest in calls)
    pending = [issue_id for issue_id, calls in wanted.items()
               if any((key[:200], user.id) not in sent
                      for _kind, key, who, *_rest in calls
                      for user in recipients(by_id[issue_id], who))]
    written = 0
    for start in range(0, len(pending), 500):
        rows: list[dict] = []
        for issue in db.session.scalars(
                sa.select(Issue).options(selectinload(Issue.platform),
                                         selectinload(Issue.department))
                .where(Issue.id.in_(pending[start:start + 500]))):
            row = by_id[issue.id]
            for kind, key, who, deadline, late in wanted[issue.id]:
                if kind == "issue_due_soon":
                    def compose(_u: Any, i: Issue = issue, d: date = deadline) -> Message:
                        return _issue_message(
                            i, _("问题即将到期"), _("办理期限为%(due)s，还剩%(days)s天。",
                                                  due=format_date(d), days=(d - today).days))
                elif kind == "issue_overdue":
                    def compose(_u: Any, i: Issue = issue, d: date = deadline,
                                n: int = late) -> Message:
                        return _issue_message(
                            i, _("问题已逾期"), _("期限%(due)s已过%(days)s天。",
                                              due=format_date(d), days=n))
                else:
                    def compose(_u: Any, i: Issue = issue, d: date = deadline,
                                n: int = late) -> Message:
                        return _issue_message(
                            i, _("逾期超过%(n)s天，请督办", n=escalate),
                            _("期限%(due)s已过%(days)s天。", due=format_date(d), days=n))
                rows += notification_rows(recipients(row, who), kind=kind, now=now,
                                          dedupe_key=key, compose=compose, skip=sent)
        written += insert_ignoring_duplicates(rows)
    return written


# -- proposals (提案) --------------------------------------------------------------------------


def _proposal_message(proposal: Proposal, headline: str, detail: str) -> Message:
    department = proposal.lead_department.name if proposal.lead_department else ""
    return Message(
        _("%(headline)s：%(ref)s %(title)s", headline=headline, ref=proposal.reference,
          title=proposal.title),
        _("%(detail)s 提案 %(ref)s“%(title)s”，主办单位：%(department)s，当前状态：%(status)s。",
          detail=detail, ref=proposal.reference, title=proposal.title, department=department,
          status=proposal.status.label),
        link("proposals.show", None, proposal_id=proposal.id),
    )


def sweep_proposal_deadlines(now: datetime) -> int:
    """Accepted proposals still with their lead department (主办单位): due soon (DUE_SOON_DAYS
    before) and overdue (the day after) to the lead department's contacts; overdue ones, and
    key proposals (重点提案) due soon, to city staff too, who track them. A key proposal's
    lead department also hears once that it is one.

    Keys name the proposal, the department and the due date, as the problems' do: a new lead
    department or a new due date (re-handling after 不满意) is reminded afresh.
    """
    today = local_today(now)
    soon = current_app.config["DUE_SOON_DAYS"]
    rows = db.session.execute(
        sa.select(Proposal.id, Proposal.due_on, Proposal.is_key, Proposal.lead_department_id)
        .where(Proposal.status.in_(HANDLING_STATUSES), Proposal.lead_department_id.is_not(None),
               sa.or_(Proposal.is_key.is_(True),
                      Proposal.due_on <= today + timedelta(days=soon)))).all()
    wanted: dict[int, list[tuple[str, str, str, date, int]]] = {}
    for row in rows:
        due, department = row.due_on, row.lead_department_id
        late = (today - due).days
        calls: list[tuple[str, str, str]] = []
        if row.is_key:
            calls.append(("proposal_key", f"proposal_key:{row.id}:{department}", "department"))
        if due <= today + timedelta(days=soon):
            stage = "due_soon" if late <= 0 else "overdue"
            tag = f"{row.id}:{department}:{due.isoformat()}"
            calls.append((f"proposal_{stage}", f"proposal_{stage}:{tag}", "department"))
            if late > 0 or row.is_key:
                calls.append((f"proposal_{stage}", f"proposal_{stage}_city:{tag}", "city"))
        wanted[row.id] = [(kind, key, who, due, late) for kind, key, who in calls]
    by_id = {row.id: row for row in rows}
    contacts = department_contacts(row.lead_department_id for row in rows)
    city = city_staff() if any(who == "city" for calls in wanted.values()
                               for _k, _key, who, *_rest in calls) else []

    def recipients(row: Any, who: str) -> list[Any]:
        return city if who == "city" else contacts[row.lead_department_id]

    sent = delivered(key for calls in wanted.values() for _k, key, *_rest in calls)
    pending = [proposal_id for proposal_id, calls in wanted.items()
               if any((key[:200], user.id) not in sent for _kind, key, who, *_rest in calls
                      for user in recipients(by_id[proposal_id], who))]
    written = 0
    for start in range(0, len(pending), 500):
        queued: list[dict] = []
        for proposal in db.session.scalars(
                sa.select(Proposal).options(selectinload(Proposal.lead_department))
                .where(Proposal.id.in_(pending[start:start + 500]))):
            row = by_id[proposal.id]
            for kind, key, who, due, late in wanted[proposal.id]:
                if kind == "proposal_key":
                    def compose(_u: Any, p: Proposal = proposal, d: date = due) -> Message:
                        return _proposal_message(p, _("重点提案"), _(
                            "您单位主办的提案已列为重点提案，由市政协跟踪督办，办理期限为%(due)s。",
                            due=format_date(d)))
                elif kind == "proposal_due_soon":
                    def compose(_u: Any, p: Proposal = proposal, d: date = due) -> Message:
                        return _proposal_message(p, _("提案即将到期"), _(
                            "办理期限为%(due)s，还剩%(days)s天。", due=format_date(d),
                            days=(d - today).days))
                else:
                    def compose(_u: Any, p: Proposal = proposal, d: date = due,
                                n: int = late) -> Message:
                        return _proposal_message(p, _("提案逾期未办复"), _(
                            "办理期限%(due)s已过%(days)s天。", due=format_date(d), days=n))
                queued += notification_rows(recipients(row, who), kind=kind, now=now,
                                            dedupe_key=key, compose=compose, skip=sent)
        written += insert_ignoring_duplicates(queued)
    return written


# -- platforms --------------------------------------------------------------------------------


def sweep_inactive_platforms(now: datetime) -> int:
    """Once a month, one digest of the district's inactive platforms to its staff, and one of
    the city's, district by district, to city staff.

    Inactive: running, set up more than INACTIVE_DAYS ago, no held event in that time (the
    dashboards count the same platforms). Each digest lists its platforms, idle longest first,
    with their last held event; its key names the district (or the city) and the month, so a
    district hears once a month however many platforms it has — and the first sweep on a new
    site, which finds every platform idle since before it existed, sends digests, not one
    message per platform. A month with no inactive platform in a district sends it nothing.
    """
    days = current_app.config["INACTIVE_DAYS"]
    today = local_today(now)
    month = today.strftime("%Y-%m")
    last_held = (sa.select(sa.func.max(Event.starts_at))
                 .where(Event.platform_id == Platform.id, Event.happened)
                 .correlate(Platform).scalar_subquery())
    rows = db.session.execute(
        sa.select(Platform.id, Platform.name, Platform.district_id, last_held.label("last"))
        .where(inactive_clause(now))
        .order_by(last_held.nulls_first(), Platform.name, Platform.id)).all()
    if not rows:
        return 0
    by_district: dict[int, list[dict]] = defaultdict(list)
    for row in rows:
        by_district[row.district_id].append(digests.platform_entry(
            row.id, row.name, to_local(row.last).date() if row.last else None))
    keys = {district_id: f"platform_inactive_digest:{district_id}:{month}"
            for district_id in by_district}
    city_key = f"platform_inactive_city:{month}"
    sent = delivered([*keys.values(), city_key])
    staff = district_staff(by_district)
    city = city_staff()
    if all((key, user.id) in sent for district_id, key in keys.items()
           for user in staff[district_id]) and all((city_key, u.id) in sent for u in city):
        return 0  # this month's digests are out: most sweeps stop here
    districts = db.session.execute(
        sa.select(Area.id, Area.name).where(Area.id.in_(list(by_district)))
        .order_by(Area.code, Area.id)).all()
    running = dict(db.session.execute(
        sa.select(Platform.district_id, sa.func.count(Platform.id))
        .where(Platform.district_id.in_(list(by_district)),
               Platform.status == PlatformStatus.ACTIVE)
        .group_by(Platform.district_id)).all())
    queued: list[dict] = []
    for district_id, name in districts:
        data = digests.district_data(district_id=district_id, district=name, days=days,
                                     as_of=today, platforms=by_district[district_id])
        queued += notification_rows(
            staff[district_id], kind=digests.KIND, now=now, skip=sent,
            dedupe_key=keys[district_id], compose=lambda _u, d=data: digests.compose(d))
    city_digest = digests.city_data(days=days, as_of=today, districts=[
        {"id": district_id, "name": name, "running": running.get(district_id, 0),
         "platforms": by_district[district_id]} for district_id, name in districts])
    queued += notification_rows(city, kind=digests.KIND, now=now, skip=sent,
                                dedupe_key=city_key,
                                compose=lambda _u: digests.compose(city_digest))
    return insert_ignoring_duplicates(queued)


SWEEPERS = (sweep_event_upcoming, sweep_minutes_missing, sweep_issue_deadlines,
            sweep_proposal_deadlines, sweep_inactive_platforms)


def sweep_reminders(now: datetime) -> dict[str, int]:
    """Run every reminder sweeper, committing after each; returns new notifications by sweeper."""
    counts = {}
    for sweeper in SWEEPERS:
        counts[sweeper.__name__.removeprefix("sweep_")] = sweeper(now)
        db.session.commit()
    return counts
