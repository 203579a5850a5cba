"""Staff exports: the platform, event and problem lists a user can see, with the list's filters.

The filters are read from the same query string (and the same filter forms) as the list
pages, and the rows come from the lists' own queries, so an export holds exactly what the
list shows, page after page. The column names are the import columns, so an exported file
can be corrected and imported back. Rows are produced lazily, a few hundred at a time,
so a large list streams out without being held in memory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload
from werkzeug.datastructures import MultiDict

from consult_hub.areas.models import Area
from consult_hub.auth.models import Role, User
from consult_hub.auth.scopes import (
    can_choose_district,
    can_update_issue,
)
from consult_hub.core import params
from consult_hub.core.categories import Category
from consult_hub.core.timefmt import local_today
from consult_hub.departments.models import Department
from consult_hub.events import queries as event_queries
from consult_hub.events.forms import FilterForm as EventFilterForm
from consult_hub.events.models import Event, EventStatus, event_attendees
from consult_hub.extensions import db
from consult_hub.issues import queries as issue_queries
from consult_hub.issues.forms import IssueFilterForm
from consult_hub.issues.models import Issue, IssueStatus
from consult_hub.members.models import Member
from consult_hub.platforms.forms import PlatformFilterForm
from consult_hub.platforms.models import Platform, PlatformKind, PlatformStatus
from consult_hub.platforms.queries import PlatformFilters
from consult_hub.platforms.scopes import platform_filter

BATCH = 500
PRIVATE_MARK = "（不公开）"
KINDS = {"platforms": "平台", "events": "活动", "issues": "问题"}


@dataclass
class Table:
    """An export: its title, header and lazily produced rows."""

    kind: str
    title: str
    header: list[str]
    rows: Iterator[list[Any]]
    private: bool = False  # carries residents' contact details


def _yes(value: bool) -> str:
    return "是" if value else "否"


# Dates and moments stay values: the XLSX writer makes date cells of them (a moment as its
# wall-clock time in the site's zone), the CSV writer the text an import reads back.
def _day(value: date | None) -> date | None:
    return value


def _moment(value: datetime | None) -> datetime | None:
    return value


def _number(value: float | None) -> Any:
    return "" if value is None else value


def _batches(stmt: sa.Select[Any]) -> Iterator[list[Any]]:
    """The statement's entities in batches, fetched as they are written out."""
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.scalars().partitions(BATCH):
        yield list(batch)


def _area_names() -> dict[int, tuple[str, str, int | None]]:
    """Every area as id → (name, level, parent id): small, and saves a join per row."""
    return {a.id: (a.name, a.level.value, a.parent_id) for a in db.session.execute(
        sa.select(Area.id, Area.name, Area.level, Area.parent_id))}


# -- platforms --------------------------------------------------------------------------------


def platform_filters(user: User, args: Mapping[str, Any]) -> PlatformFilters:
    """The staff list's filters from its query string (platforms/views.py ``index``)."""
    if not args:
        return PlatformFilters()
    form = PlatformFilterForm(formdata=MultiDict(args), meta={"csrf": False})
    return PlatformFilters(
        q=(form.q.data or "").strip()[:100] or None,
        district_id=form.district_id.data if can_choose_district(user) else None,
        street_id=form.street_id.data,
        kind=PlatformKind._value2member_map_.get(form.kind.data or ""),
        status=PlatformStatus._value2member_map_.get(form.status.data or ""),
        demonstration={"yes": True, "no": False}.get(form.demonstration.data or ""),
        demonstration_year=form.demonstration_year.data,
    )


PLATFORM_HEADER = ["编码", "名称", "类型", "区", "街道", "社区", "地址", "纬度", "经度", "召集人",
                   "成立日期", "示范点", "示范年份", "状态", "撤销日期", "简介"]


def platforms_table(user: User, args: Mapping[str, Any]) -> Table:
    filters = platform_filters(user, args)
    stmt = (sa.select(Platform).where(platform_filter(user), *filters.clauses())
            .order_by(Platform.code, Platform.id))  # the list's order
    return Table("platforms", "平台", PLATFORM_HEADER, _platform_rows(stmt))


def _platform_rows(stmt: sa.Select[Any]) -> Iterator[list[Any]]:
    areas = _area_names()
    for batch in _batches(stmt):
        for p in batch:
            district = areas.get(p.district_id, ("", "", None))[0]
            name, level, parent = areas.get(p.area_id, ("", "", None))
            street, community = (name, "") if level == "street" else \
                (areas.get(parent, ("", "", None))[0] if parent else "", name)
            yield [p.code, p.name, p.kind.source_label, district, street, community, p.address,
                   _number(p.latitude), _number(p.longitude), p.convener or "",
                   _day(p.established_on), _yes(p.is_demonstration),
                   p.demonstration_year or "", p.status.source_label, _day(p.closed_on),
                   p.description or ""]


# -- events -----------------------------------------------------------------------------------


def _choice(enum_cls: Any, value: str | None) -> Any:
    try:
        return enum_cls(value) if value else None
    except ValueError:
        return None


def event_filters(args: Mapping[str, Any]) -> event_queries.EventFilters:
    """The staff list's filters from its query string (events/views.py ``index``)."""
    if not args:
        return event_queries.EventFilters()
    form = EventFilterForm(MultiDict(args))
    form.validate()
    platform = args.get("platform")
    return event_queries.EventFilters(
        q=(form.q.data or "").strip() if not form.q.errors else "",
        status=_choice(EventStatus, form.status.data),
        platform_id=params.id_or_none(platform),
        category=_choice(Category, form.category.data),
        date_from=form.date_from.data if not form.date_from.errors else None,
        date_to=form.date_to.data if not form.date_to.errors else None,
        missing_minutes=bool(form.missing.data),
    )


EVENT_HEADER = ["系统编号", "编码", "平台编码", "平台名称", "议题", "类别", "开始时间", "结束时间",
                "地点", "形式", "居民能否参加", "参加方式", "状态", "议程", "纪要", "协商意见",
                "成果转化", "居民代表人数", "部门数", "专家人数", "参加委员编码", "取消原因"]


def events_table(user: User, args: Mapping[str, Any], now: datetime) -> Table:
    stmt = event_queries.event_list(user, event_filters(args), now)
    return Table("events", "活动", EVENT_HEADER, _event_rows(stmt))


def _event_rows(stmt: sa.Select[Any]) -> Iterator[list[Any]]:
    for batch in _batches(stmt):
        attendees: dict[int, list[str]] = {}
        for event_id, code, member_id in db.session.execute(
                sa.select(event_attendees.c.event_id, Member.code, Member.id)
                .join(Member, Member.id == event_attendees.c.member_id)
                .where(event_attendees.c.event_id.in_([e.id for e in batch]))
                .order_by(Member.code, Member.id)):
            attendees.setdefault(event_id, []).append(code or f"#{member_id}")
        for e in batch:
            yield [e.id, e.code or "", e.platform.code, e.platform.name, e.topic,
                   e.category.source_label, _moment(e.starts_at), _moment(e.ends_at), e.location,
                   e.format.source_label,
                   e.attendance.source_label if e.attendance is not None else "",
                   e.attendance_note or "", e.status.source_label, e.agenda or "", e.minutes or "",
                   e.opinions or "", e.outcome or "", e.resident_count, e.department_count,
                   e.expert_count, ";".join(attendees.get(e.id, [])), e.cancel_reason or ""]


# -- problems ---------------------------------------------------------------------------------


def issue_filters(user: User, args: Mapping[str, Any]) -> issue_queries.IssueFilters:
    """The staff list's filters from its query string (issues/views.py ``index``)."""
    if not args:
        return issue_queries.IssueFilters()
    form = IssueFilterForm(formdata=MultiDict(args), meta={"csrf": False})
    form.validate()
    return issue_queries.IssueFilters(
        statuses=[IssueStatus(s) for s in form.status.data or []],
        kind=form.valid("kind"), category=form.valid("category"), source=form.valid("source"),
        district_id=form.valid("district") if can_choose_district(user) else None,
        platform_id=form.valid("platform"), department_id=form.valid("department"),
        overdue=bool(form.overdue.data), text=(form.q.data or "")[:100],
        sort=form.valid("sort") or "newest",
    )


# How the problem was published and handled, for staff to read (ignored on import): 公开时间
# is empty while a resident's submission waits for review; the department's reply and its
# proposed outcome are staff's to confirm, so they never reach a public file (open_data.py).
HANDLING_HEADER = ["公开时间", "交办时间", "签收时间", "答复时间", "建议办理结果", "承办单位答复",
                   "申请延至", "延期理由", "退回重办理由", "退回时间"]
ISSUE_HEADER = ["编号", "平台编码", "平台名称", "所属区", "标题", "描述", "类型", "类别", "来源",
                "状态", "承办单位", "办理期限", "计划完成日期", "答复", "活动编码", "受理时间",
                "办结时间", "评价", *HANDLING_HEADER]
CONTACT_HEADER = [f"反映人姓名{PRIVATE_MARK}", f"联系电话{PRIVATE_MARK}"]


def issues_statement(user: User, filters: issue_queries.IssueFilters,
                     today: date) -> sa.Select[Any]:
    """The staff list's rows in the list's order, all pages (issues/queries.py ``issue_page``)."""
    stmt = sa.select(Issue).where(*issue_queries._where(user, filters, today))
    if filters.statuses:
        stmt = stmt.where(Issue.status.in_(filters.statuses))
    if filters.sort == "due":
        due = issue_queries.deadline()
        stmt = stmt.order_by(due.is_(None), due, Issue.id)
    else:
        stmt = stmt.order_by(Issue.created_at.desc(), Issue.id.desc())
    return stmt.options(joinedload(Issue.platform))


def issues_table(user: User, args: Mapping[str, Any], now: datetime, *,
                 contact: bool = False) -> Table:
    """The problems; with ``contact``, the submitter's name and phone where ``user`` may see
    them."""
    stmt = issues_statement(user, issue_filters(user, args), local_today(now))
    if contact:
        # Loaded now, for can_update_issue: a CSV streams after the request's session has
        # closed, and a coordinator's platforms could no longer be loaded then.
        list(user.platforms)
    header = ISSUE_HEADER + (CONTACT_HEADER if contact else [])
    return Table("issues", "问题", header,
                 _issue_rows(stmt, contact, lambda issue: can_update_issue(user, issue)),
                 private=contact)


def _issue_rows(stmt: sa.Select[Any], contact: bool,
                may_see: Callable[[Issue], bool]) -> Iterator[list[Any]]:
    areas = _area_names()
    departments = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    for batch in _batches(stmt):
        events = dict(db.session.execute(
            sa.select(Event.id, sa.func.coalesce(Event.code, sa.cast(Event.id, sa.String)))
            .where(Event.id.in_({i.event_id for i in batch if i.event_id}))).all())
        for i in batch:
            # No platform yet: an Open311 submission waiting for staff to choose one.
            row = [i.reference, i.platform.code if i.platform else "",
                   i.platform.name if i.platform else "",
                   areas.get(i.district_id, ("",))[0], i.title, i.description,
                   i.kind.source_label if i.kind else "",
                   i.category.source_label if i.category else "", i.source.source_label,
                   i.status.source_label,
                   departments.get(i.department_id, ""), _day(i.due_on), _day(i.planned_on),
                   i.resolution or "", events.get(i.event_id, ""), _moment(i.created_at),
                   _moment(i.closed_at), i.satisfaction.source_label if i.satisfaction else "",
                   *_handling(i)]
            if contact:
                shown = may_see(i)
                row += [(i.submitter_name or "") if shown else "",
                        (i.submitter_phone or "") if shown else ""]
            yield row


def _handling(i: Issue) -> list[Any]:
    """The HANDLING_HEADER columns of one problem."""
    return [_moment(i.published_at), _moment(i.assigned_at), _moment(i.acknowledged_at),
            _moment(i.replied_at), i.proposed_status.source_label if i.proposed_status else "",
            i.reply or "", _day(i.requested_due_on), i.extension_reason or "",
            i.rework_reason or "", _moment(i.returned_at)]


def table_for(kind: str, user: User | None, args: Mapping[str, Any], now: datetime, *,
              contact: bool = False) -> Table:
    """The export of one list; ``user`` None (the command line) means every record."""
    if user is None:
        user = User(role=Role.ADMIN, is_active=True)  # an unsaved stand-in whose scope is all
    if kind == "issues":
        return issues_table(user, args, now, contact=contact)
    if kind == "platforms":
        return platforms_table(user, args)
    return events_table(user, args, now)


def filename_stem(kind: str, now: datetime) -> tuple[str, str]:
    """(ASCII name, Chinese name) of an export file, dated in the people's zone."""
    day = local_today(now).isoformat()
    return f"consult-hub-{kind}-{day}", f"{KINDS[kind]}导出_{day}"
