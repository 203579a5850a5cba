"""The public open-data archive: platforms, events, outcomes, monthly tallies, proposal reviews
and accepted proposals as CSV, with a README.

``build_open_data(now)`` writes ``consult_hub_open_data.zip`` into ``instance/open_data/``
(replacing the previous one atomically); the scheduler calls it daily at 03:00 and the
download view builds it when it is missing. Every file holds only what the public pages
already show: no resident's name or phone, no private note, no staff account. Each column
is described (in Chinese and English) in the archive's README.md, generated from the same
column lists that write the files, so the two cannot disagree.
"""

from __future__ import annotations

import os
import stat
import uuid
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.core.categories import Category
from consult_hub.core.db import utcnow
from consult_hub.core.sheets import csv_stream
from consult_hub.core.timefmt import format_datetime, to_local
from consult_hub.departments.models import Department
from consult_hub.events.models import Event, EventStatus, event_attendees
from consult_hub.exchange.cells import source_text
from consult_hub.extensions import db
from consult_hub.issues.models import (
    ANSWERED_STATUSES,
    PUBLIC_STATUS,
    Issue,
    IssueKind,
    IssueStatus,
    Satisfaction,
)
from consult_hub.members.models import Member
from consult_hub.opinions.models import OpinionSource
from consult_hub.platforms.models import Platform
from consult_hub.proposals.models import ACCEPTED_STATUSES as PROPOSAL_ACCEPTED
from consult_hub.proposals.models import ANSWERED_STATUSES as PROPOSAL_ANSWERED
from consult_hub.proposals.models import (
    HandlingRole,
    Proposal,
    ProposalDepartment,
    ProposalMember,
    ProposalOutcome,
    ProposerKind,
)
from consult_hub.proposals.review import ProposalReview, proposal_reviews
from consult_hub.tallies import compute
from consult_hub.tallies.models import MonthlyTally, TallyScope
from consult_hub.tallies.tables import CPPCC_METRICS, METRICS

ARCHIVE_NAME = "consult_hub_open_data.zip"
BATCH = 1000


@dataclass(frozen=True)
class Field:
    name: str
    zh: str
    en: str


@dataclass(frozen=True)
class DataFile:
    name: str
    zh: str
    en: str
    fields: tuple[Field, ...]
    rows: Callable[[], Iterator[list[Any]]]


def open_data_folder() -> Path:
    return Path(current_app.config.get("OPEN_DATA_FOLDER")
                or Path(current_app.config["INSTANCE_PATH"]) / "open_data")


def archive_path() -> Path:
    return open_data_folder() / ARCHIVE_NAME


def _iso(value: datetime | None) -> str:
    """ISO 8601 in the people's zone, with its offset: ``2024-03-01T14:30:00+08:00``."""
    return to_local(value).isoformat(timespec="seconds") if value else ""


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def _local_day(value: datetime | None) -> str:
    return to_local(value).date().isoformat() if value else ""


def _areas() -> dict[int, Any]:
    return {a.id: a for a in db.session.execute(
        sa.select(Area.id, Area.code, Area.name, Area.level, Area.parent_id))}


def _batches(stmt: sa.Select[Any]) -> Iterator[list[Any]]:
    result = db.session.execute(stmt.execution_options(yield_per=BATCH))
    for batch in result.partitions(BATCH):
        yield list(batch)


# -- platforms --------------------------------------------------------------------------------

PLATFORM_FIELDS = (
    Field("code", "平台编码（全市唯一）", "platform code, unique in the city"),
    Field("name", "平台名称", "platform name"),
    Field("kind", "类型代码：consult_room / member_studio / liaison_point / consult_home",
          "kind code: consult_room, member_studio, liaison_point, consult_home"),
    Field("kind_label", "类型（中文）", "kind, in Chinese"),
    Field("district_code", "所在区的区划代码", "district code"),
    Field("district", "所在区", "district name"),
    Field("street", "所在街道/乡镇", "street (subdistrict) or township"),
    Field("community", "所在社区/村（设在街道的平台为空）",
          "community or village (empty when the platform sits at street level)"),
    Field("address", "地址", "address"),
    Field("latitude", "纬度（WGS84，可空）", "latitude (WGS84), may be empty"),
    Field("longitude", "经度（WGS84，可空）", "longitude (WGS84), may be empty"),
    Field("convener", "召集人（公开的职务，可空）", "convener (a public role), may be empty"),
    Field("established_on", "成立日期", "date established (YYYY-MM-DD)"),
    Field("is_demonstration", "是否示范点：1 是，0 否", "demonstration site: 1 yes, 0 no"),
    Field("demonstration_year", "评为示范点的年份", "year it became a demonstration site"),
    Field("status", "状态代码：active 运行中 / suspended 暂停 / closed 已撤销",
          "status code: active, suspended, closed"),
    Field("status_label", "状态（中文）", "status, in Chinese"),
)


def _platform_rows() -> Iterator[list[Any]]:
    areas = _areas()
    stmt = sa.select(Platform).order_by(Platform.code)
    for batch in _batches(stmt):
        for (p,) in batch:
            district = areas.get(p.district_id)
            area = areas.get(p.area_id)
            if area is not None and area.level is AreaLevel.COMMUNITY:
                street, community = areas.get(area.parent_id), area
            else:
                street, community = area, None
            yield [p.code, p.name, p.kind.value, p.kind.source_label,
                   district.code if district else "", district.name if district else "",
                   street.name if street else "", community.name if community else "",
                   p.address, "" if p.latitude is None else p.latitude,
                   "" if p.longitude is None else p.longitude, p.convener or "",
                   _day(p.established_on), int(p.is_demonstration), p.demonstration_year or "",
                   p.status.value, p.status.source_label]


# -- events -----------------------------------------------------------------------------------

EVENT_FIELDS = (
    Field("event_id", "活动的系统编号（公开活动页 /events/<编号>）",
          "event number (public page /events/<number>)"),
    Field("platform_code", "举办平台的编码（见 platforms.csv）",
          "platform code (see platforms.csv)"),
    Field("district_code", "平台所在区的区划代码", "district code of the platform"),
    Field("topic", "议题", "topic"),
    Field("category", "类别代码：economy / politics / culture / society / ecology",
          "category code: economy, politics, culture, society, ecology"),
    Field("category_label", "类别（中文：经济建设、政治建设、文化建设、社会建设、生态文明建设）",
          "category, in Chinese"),
    Field("starts_at", "开始时间（ISO 8601，北京时间，带 +08:00）",
          "start (ISO 8601, China Standard Time, with offset)"),
    Field("ends_at", "结束时间（ISO 8601，北京时间）", "end (ISO 8601, China Standard Time)"),
    Field("location", "地点", "location"),
    Field("format", "形式代码：onsite 现场 / online 线上 / hybrid 线上线下结合",
          "format code: onsite, online, hybrid"),
    Field("status", "状态代码：planned 计划中 / held 已举行 / concluded 已反馈成果 / "
          "cancelled 已取消",
          "status code: planned, held, concluded (outcome reported), cancelled"),
    Field("status_label", "状态（中文）", "status, in Chinese"),
    Field("member_attendance", "参加的政协委员人数（已举行的活动）",
          "number of CPPCC members who attended (held events)"),
    Field("resident_count", "参加的居民代表人数", "number of resident representatives"),
    Field("department_count", "参加的部门个数", "number of government departments taking part"),
    Field("expert_count", "参加的专家人数", "number of experts taking part"),
    Field("agenda", "议程（Markdown）", "agenda (Markdown)"),
    Field("minutes", "纪要（Markdown；已举行的活动）", "minutes (Markdown; held events only)"),
    Field("opinions", "协商意见（Markdown；已举行的活动）",
          "consultation opinions (Markdown; held events only)"),
    Field("outcome", "成果转化（Markdown；已反馈成果的活动）",
          "outcome reported back (Markdown; concluded events only)"),
)


def _event_rows() -> Iterator[list[Any]]:
    platforms = dict(db.session.execute(sa.select(Platform.id, Platform.code)).all())
    districts = {a.id: a.code for a in _areas().values() if a.level is AreaLevel.DISTRICT}
    platform_district = dict(db.session.execute(sa.select(Platform.id, Platform.district_id)).all())
    attendance = dict(db.session.execute(
        sa.select(event_attendees.c.event_id, sa.func.count())
        .group_by(event_attendees.c.event_id)).all())
    stmt = sa.select(Event).order_by(Event.starts_at, Event.id)
    for batch in _batches(stmt):
        for (e,) in batch:
            held = e.happened
            yield [e.id, platforms.get(e.platform_id, ""),
                   districts.get(platform_district.get(e.platform_id), ""), e.topic,
                   e.category.value, e.category.source_label, _iso(e.starts_at), _iso(e.ends_at),
                   e.location, e.format.value, e.status.value, e.status.source_label,
                   attendance.get(e.id, 0) if held else "",
                   e.resident_count if held else "", e.department_count if held else "",
                   e.expert_count if held else "", e.agenda or "",
                   (e.minutes or "") if held else "", (e.opinions or "") if held else "",
                   (e.outcome or "") if e.status is EventStatus.CONCLUDED else ""]


# -- outcomes ---------------------------------------------------------------------------------

OUTCOME_FIELDS = (
    Field("reference", "受理编号（公开页面 /issues/<编号>）",
          "receipt code (public page /issues/<code>)"),
    Field("title", "标题（公开）", "title (public)"),
    Field("kind", "类型代码：urgent 群众急难愁盼问题 / doorstep 房前屋后实事 / "
          "governance 基层治理难事",
          "kind code: urgent (pressing needs), doorstep (neighbourhood matters), "
          "governance (local governance problems)"),
    Field("kind_label", "类型（中文）", "kind, in Chinese"),
    Field("category", "类别代码：economy / politics / culture / society / ecology",
          "category code: economy, politics, culture, society, ecology"),
    Field("category_label", "类别（中文）", "category, in Chinese"),
    Field("status", "状态代码：received 已受理 / assigned 已交办 / acknowledged 已签收 / "
          "in_progress 办理中（含承办单位已答复、待确认的） / resolved 已解决或采纳 / "
          "planned 列入计划正在解决 / constrained 因条件所限一时难以解决 / rejected 不予受理",
          "status code: received, assigned, acknowledged (by the department), in_progress "
          "(including a department's reply not yet confirmed), resolved, planned, constrained "
          "(cannot be solved for now), rejected"),
    Field("status_label", "状态（中文）", "status, in Chinese"),
    Field("is_closed", "是否已办结：1 是（resolved / constrained / rejected），0 否",
          "closed: 1 yes (resolved, constrained, rejected), 0 no"),
    Field("platform_code", "受理平台的编码（见 platforms.csv）",
          "platform code (see platforms.csv)"),
    Field("district_code", "所在区的区划代码", "district code"),
    Field("district", "所在区", "district name"),
    Field("department", "承办单位（可空）", "department handling it, may be empty"),
    Field("received_on", "受理日期（北京时间）", "date received (China Standard Time)"),
    Field("planned_on", "计划完成日期（列入计划的问题）",
          "planned completion date (planned problems)"),
    Field("closed_on", "办结日期（已办结的问题）", "date closed (closed problems)"),
    Field("resolution", "公开答复：办理结果、办理计划、情况说明或不予受理的理由",
          "public answer: the result, the plan, the explanation or the reason for rejection"),
    Field("satisfaction", "居民评价代码：satisfied 满意 / basically 基本满意 / "
          "unsatisfied 不满意（可空）",
          "resident's rating: satisfied, basically (fairly satisfied), unsatisfied; may be empty"),
)


def _outcome_rows() -> Iterator[list[Any]]:
    areas = _areas()
    platforms = dict(db.session.execute(sa.select(Platform.id, Platform.code)).all())
    departments = dict(db.session.execute(sa.select(Department.id, Department.name)).all())
    # Only published problems (reviewed by staff) and only public columns: the submitter's
    # name and phone, their own words and a department's unconfirmed reply never leave the
    # database.
    stmt = sa.select(
        Issue.reference, Issue.title, Issue.kind, Issue.category, Issue.status,
        Issue.platform_id, Issue.district_id, Issue.department_id, Issue.created_at,
        Issue.planned_on, Issue.closed_at, Issue.resolution, Issue.satisfaction,
    ).where(Issue.published_at.is_not(None)).order_by(Issue.created_at, Issue.id)
    for batch in _batches(stmt):
        for i in batch:
            district = areas.get(i.district_id)
            status = PUBLIC_STATUS.get(i.status, i.status)
            yield [i.reference, i.title, i.kind.value, i.kind.source_label, i.category.value,
                   i.category.source_label, status.value, status.source_label,
                   int(status.is_closed),
                   platforms.get(i.platform_id, ""), district.code if district else "",
                   district.name if district else "", departments.get(i.department_id, ""),
                   _local_day(i.created_at),
                   _day(i.planned_on) if status is IssueStatus.PLANNED else "",
                   _local_day(i.closed_at) if status.is_closed else "",
                   (i.resolution or "") if status in ANSWERED_STATUSES else "",
                   i.satisfaction.value if i.satisfaction else ""]


# -- monthly tallies ----------------------------------------------------------------------------

METRIC_EN = {
    "platforms_total": "platforms existing at the month's end (not closed)",
    "platforms_new": "platforms established in the month",
    "platforms_active": "platforms with at least one event held in the month",
    "platforms_demonstration": "demonstration sites among the platforms",
    "events_held": "events held (started in the month, status held or concluded)",
    "events_cancelled": "events planned for the month and cancelled",
    "member_attendance": ("CPPCC member attendances at the month's events "
                          "(one per member per event)"),
    "resident_attendance": "resident representatives at the month's events",
    "issues_raised": "problems received in the month",
    "issues_resolved": "problems resolved, counted in the month of their latest resolution",
    "issues_planned": "problems now planned, counted in the month they were planned",
    "issues_constrained": "problems closed as cannot be solved for now in the month",
    "issues_rejected": "problems rejected (incl. duplicates) in the month",
    "issues_backlog_end": "problems still open at the month's end",
    "issues_overdue_end": "open problems past their due or planned date at the month's end",
    "resolution_share": "resolved / (resolved + planned + constrained), 0–1; empty when none",
    "median_days_to_resolve": "median days from receipt to resolution of the month's resolved "
                              "problems; empty when none",
    "satisfaction_rated": "problems rated by residents in the month",
    "satisfaction_satisfied": "ratings: satisfied",
    "satisfaction_basically": "ratings: fairly satisfied",
    "satisfaction_unsatisfied": "ratings: unsatisfied",
    "satisfaction_share": "(satisfied + fairly satisfied) / ratings, 0–1; empty when none",
    # Opinion reports and proposals: city and district rows only (docs/metrics.md).
    "opinions_written": "public-opinion reports written in the month (drafts included)",
    "opinions_submitted": "public-opinion reports submitted in the month",
    "opinions_livelihood": "of those submitted, the ones on livelihood projects (民生实事)",
    "opinions_livelihood_share": "livelihood / submitted, 0–1; empty when none",
    "opinions_adopted": "public-opinion reports adopted (published) in the month",
    "opinions_not_adopted": "public-opinion reports not adopted in the month",
    "opinions_forwarded": "reports forwarded to the province or national CPPCC in the month",
    "opinions_instructed": "reports with a leader's instruction dated in the month",
    "proposals_submitted": "proposals submitted in the month",
    "proposals_accepted": "proposals accepted (立案) in the month",
    "proposals_accepted_member": "of those, by members individually or jointly",
    "proposals_accepted_collective": "of those, by collective bodies",
    "proposals_key": "of those, key proposals (重点提案)",
    "proposals_not_accepted": "proposals not accepted in the month",
    "proposals_replied": "proposals answered in the month (latest answer)",
    "proposals_rated": "proposals rated by their proposer in the month",
}
DIMENSIONS = {"category": ("类别", Category), "kind": ("类型", IssueKind),
              "source": ("来源", OpinionSource), "outcome": ("办复结果", ProposalOutcome),
              "rating": ("评价", Satisfaction)}


def metric_keys() -> list[str]:
    """Every metric of a tally, in the order compute.finish writes them."""
    return list(compute.finish(Counter(), []))


def _metric_field(key: str) -> Field:
    base, _, split = key.partition(".")
    metric = METRICS.get(base) or CPPCC_METRICS.get(base)
    name = source_text(metric.label) if metric else base
    zh = f"{name}:{source_text(metric.help)}" if metric else base
    en = METRIC_EN.get(base, base.replace("_", " "))
    if split:
        dimension, _, value = split.partition(".")
        dimension_zh, enum_cls = DIMENSIONS[dimension]
        label = enum_cls(value).source_label
        zh = f"{name},{dimension_zh}为“{label}”的"
        en = f"{en}, {dimension} = {value}"
    return Field(key, str(zh), en)


def tally_fields() -> tuple[Field, ...]:
    return (
        Field("month", "月份（YYYY-MM，北京时间的自然月）", "month (YYYY-MM, calendar month in "
              "China Standard Time)"),
        Field("scope", "范围：city 全市 / district 区", "scope: city or district"),
        Field("district_code", "区划代码（全市一行为空）",
              "district code (empty for the city row)"),
        Field("district", "区名（全市一行为空）", "district name (empty for the city row)"),
        *(_metric_field(key) for key in metric_keys()),
    )


def _tally_rows() -> Iterator[list[Any]]:
    areas = _areas()
    keys = metric_keys()
    stmt = (sa.select(MonthlyTally.month, MonthlyTally.scope, MonthlyTally.area_id,
                      MonthlyTally.metrics)
            .where(MonthlyTally.scope.in_([TallyScope.CITY, TallyScope.DISTRICT]))
            .order_by(MonthlyTally.month, MonthlyTally.scope, MonthlyTally.area_id))
    for batch in _batches(stmt):
        for row in batch:
            district = areas.get(row.area_id) if row.scope is TallyScope.DISTRICT else None
            metrics = row.metrics or {}
            yield [row.month.strftime("%Y-%m"), row.scope.value,
                   district.code if district else "", district.name if district else "",
                   *("" if metrics.get(key) is None else metrics[key] for key in keys)]


# -- proposal reviews (docs/metrics.md § Proposals: the session year, current state) ------------

REVIEW_FIELDS = (
    Field("year", "提案所属年度", "session year of the proposals"),
    Field("scope", "范围：city 全市 / district 区（按领衔委员所在区）",
          "scope: city, or district (by the lead member's district)"),
    Field("district_code", "区划代码（全市一行为空）", "district code (empty for the city row)"),
    Field("district", "区名（全市一行为空）", "district name (empty for the city row)"),
    Field("submitted", "提出提案（件）", "proposals submitted"),
    Field("accepted", "立案（件）", "proposals accepted (立案)"),
    Field("accepted_member", "委员个人或联名提案（件）",
          "accepted, by members individually or jointly"),
    Field("accepted_collective", "集体提案（件）", "accepted, by collective bodies"),
    Field("not_accepted", "不予立案（件）", "not accepted"),
    Field("replied", "已办复（件）", "accepted and answered"),
    *(Field(f"outcome_{o.value}", f"办复结果为“{o.source_label}”的（件）",
            f"answered with outcome {o.letter} ({o.value})") for o in ProposalOutcome),
    *(Field(f"category_{c.value}", f"立案提案中“{c.source_label}”方面的（件）",
            f"accepted, field {c.value}") for c in Category),
    Field("key", "重点提案（件）", "key proposals (重点提案)"),
)


def _review_rows() -> Iterator[list[Any]]:
    """Each session year with proposals: the city's review, then each district's with any."""
    areas = _areas()
    years = list(db.session.scalars(
        sa.select(Proposal.year).distinct().order_by(Proposal.year)))
    for year in years:
        by_district = proposal_reviews(year)
        city = ProposalReview(year)
        for review in by_district.values():
            city.add(review)
        districts = sorted((areas[i] for i in by_district if i is not None and i in areas),
                           key=lambda area: area.code)
        for district, review in ((None, city),
                                 *((d, by_district[d.id]) for d in districts)):
            yield [year, "district" if district else "city",
                   district.code if district else "", district.name if district else "",
                   review.submitted, review.accepted, review.accepted_member,
                   review.accepted_collective, review.not_accepted, review.replied,
                   *(review.outcomes[o] for o in ProposalOutcome),
                   *(review.categories[c] for c in Category), review.key]


# -- proposals (accepted ones, as their public pages show them) ---------------------------------

PROPOSAL_FIELDS = (
    Field("proposal_id", "提案的系统编号（公开页面 /proposals/<编号>，JSON API 同此编号）",
          "proposal number in the system (public page /proposals/<number>, the same in the "
          "JSON API)"),
    Field("year", "提案所属年度", "session year"),
    Field("number", "案号（立案时编定，如 2024-0001）",
          "case number given on acceptance, e.g. 2024-0001"),
    Field("title", "标题", "title"),
    Field("category", "类别代码：economy / politics / culture / society / ecology",
          "category code: economy, politics, culture, society, ecology"),
    Field("category_label", "类别（中文：经济建设、政治建设、文化建设、社会建设、生态文明建设）",
          "category, in Chinese"),
    Field("proposer_kind", "提案者类型代码：member 委员个人 / joint 委员联名 / collective 集体",
          "proposer kind: member (one member), joint (members jointly), collective (a body)"),
    Field("proposer_kind_label", "提案者类型（中文）", "proposer kind, in Chinese"),
    Field("proposers", "提案委员姓名，领衔委员在前，以“、”分隔（集体提案为空）",
          "the proposing members' names, the lead one first, separated by 、 "
          "(empty for a collective proposal)"),
    Field("collective_kind", "提案单位类别代码：party 民主党派 / federation 工商联 / "
          "organisation 人民团体 / sector 界别 / committee 专门委员会（集体提案）",
          "collective body's kind: party, federation (of industry and commerce), "
          "organisation (people's organisation), sector, committee (special committee); "
          "collective proposals only"),
    Field("collective_kind_label", "提案单位类别（中文）", "collective body's kind, in Chinese"),
    Field("collective_name", "提案单位名称（集体提案）",
          "name of the proposing body (collective proposals)"),
    Field("is_key", "是否重点提案：1 是，0 否", "key proposal (重点提案): 1 yes, 0 no"),
    Field("lead_department_code", "主办单位编码", "lead department's code"),
    Field("lead_department", "主办单位", "lead department (主办)"),
    Field("co_department_codes", "会办单位编码，以英文分号“;”分隔",
          "co-handling departments' codes, separated by ;"),
    Field("co_departments", "会办单位，以“、”分隔", "co-handling departments (会办), "
          "separated by 、"),
    Field("reasons", "案由", "the situation and the problem (案由)"),
    Field("suggestions", "建议", "what should be done (建议)"),
    Field("outcome", "办复结果代码：resolved 已解决或采纳 / planned 列入计划正在解决 / "
          "constrained 因条件所限一时难以解决（办理中的为空）",
          "outcome class: resolved (A), planned (B), constrained (C); empty while being "
          "handled, also when sent back for re-handling"),
    Field("outcome_label", "办复结果（中文）", "outcome class, in Chinese"),
    Field("outcome_letter", "办复结果类别：A / B / C", "outcome class letter: A, B, C"),
    Field("replied_on", "办复日期（北京时间）", "date answered (China Standard Time)"),
    Field("reply_public", "办复内容是否公开：1 是，0 否",
          "whether the reply's text is published: 1 yes, 0 no"),
    Field("reply", "办复内容（公开的；不公开或办理中的为空）",
          "the reply's text (published ones; empty when not published or being handled)"),
)


def _proposal_rows() -> Iterator[list[Any]]:
    accepted = Proposal.status.in_(PROPOSAL_ACCEPTED)
    departments = {d.id: d for d in db.session.execute(
        sa.select(Department.id, Department.code, Department.name))}
    proposers: dict[int, list[str]] = {}
    for row in db.session.execute(
            sa.select(ProposalMember.proposal_id, Member.name)
            .join(Member, Member.id == ProposalMember.member_id)
            .join(Proposal, Proposal.id == ProposalMember.proposal_id).where(accepted)
            .order_by(ProposalMember.proposal_id, ProposalMember.is_lead.desc(),
                      ProposalMember.position)):
        proposers.setdefault(row.proposal_id, []).append(row.name)
    co: dict[int, list[Any]] = {}
    for row in db.session.execute(
            sa.select(ProposalDepartment.proposal_id, ProposalDepartment.department_id)
            .join(Proposal, Proposal.id == ProposalDepartment.proposal_id)
            .where(accepted, ProposalDepartment.role == HandlingRole.CO)
            .order_by(ProposalDepartment.proposal_id, ProposalDepartment.id)):
        co.setdefault(row.proposal_id, []).append(departments[row.department_id])
    # Only public columns: never the internal reference, the review note, the due date, the
    # proposer's rating, a co-handling department's opinion or the linked problems.
    stmt = sa.select(
        Proposal.id, Proposal.year, Proposal.number, Proposal.title, Proposal.category,
        Proposal.proposer_kind, Proposal.collective_kind, Proposal.collective_name,
        Proposal.is_key, Proposal.lead_department_id, Proposal.reasons, Proposal.suggestions,
        Proposal.status, Proposal.outcome, Proposal.replied_at, Proposal.reply_public,
        Proposal.reply,
    ).where(accepted).order_by(Proposal.year, Proposal.number, Proposal.id)
    for batch in _batches(stmt):
        for p in batch:
            collective = p.proposer_kind is ProposerKind.COLLECTIVE
            answered = p.status in PROPOSAL_ANSWERED and p.outcome is not None
            outcome = p.outcome if answered else None
            lead = departments.get(p.lead_department_id)
            handling = co.get(p.id, [])
            yield [p.id, p.year, p.number or "", p.title, p.category.value,
                   p.category.source_label, p.proposer_kind.value,
                   p.proposer_kind.source_label,
                   "" if collective else "、".join(proposers.get(p.id, [])),
                   p.collective_kind.value if collective and p.collective_kind else "",
                   p.collective_kind.source_label if collective and p.collective_kind else "",
                   (p.collective_name or "") if collective else "", int(p.is_key),
                   lead.code if lead else "", lead.name if lead else "",
                   ";".join(d.code for d in handling), "、".join(d.name for d in handling),
                   p.reasons, p.suggestions,
                   outcome.value if outcome else "", outcome.source_label if outcome else "",
                   outcome.letter if outcome else "",
                   _local_day(p.replied_at) if answered else "", int(p.reply_public),
                   (p.reply or "") if answered and p.reply_public else ""]


# -- the archive --------------------------------------------------------------------------------


def data_files() -> list[DataFile]:
    return [
        DataFile("platforms.csv", "协商平台和社情民意联系点", "consultation platforms and "
                 "opinion liaison points", PLATFORM_FIELDS, _platform_rows),
        DataFile("events.csv", "协商议事活动", "consultation events", EVENT_FIELDS, _event_rows),
        DataFile("outcomes.csv", "已受理并公开的问题及其办理结果（不含任何个人信息）",
                 "residents' problems published after review, and their outcomes "
                 "(no personal data)", OUTCOME_FIELDS,
                 _outcome_rows),
        DataFile("monthly_tallies.csv", "月度统计（全市和各区，已冻结的月份）",
                 "monthly figures for the city and each district (frozen months)",
                 tally_fields(), _tally_rows),
        DataFile("proposal_reviews.csv", "提案办理回顾（按提案所属年度，全市和各区）",
                 "proposal reviews by session year, for the city and each district",
                 REVIEW_FIELDS, _review_rows),
        DataFile("proposals.csv", "已立案的提案及其办复（公开的内容）",
                 "accepted proposals and their replies (what their public pages show)",
                 PROPOSAL_FIELDS, _proposal_rows),
    ]


def readme(files: list[DataFile], counts: dict[str, int], now: datetime) -> str:
    """README.md: what the archive holds and every column of every file, in Chinese and English."""
    city = current_app.config["CITY_NAME"]
    lines = [
        f"# {city}一线协商·共同缔造 开放数据 / Open data",
        "",
        f"生成时间 Generated: {format_datetime(now)} (Asia/Shanghai)",
        "",
        "这些文件只包含公开页面上已经公开的信息：不含居民的姓名、电话，不含内部备注和工作人员账号。"
        "每天凌晨 3 点重新生成。",
        "",
        "These files hold only what the public pages already show: no resident's name or phone, "
        "no internal note, no staff account. Regenerated daily at 03:00 China Standard Time.",
        "",
        "格式 Format: CSV, UTF-8 (with a byte-order mark for Excel), comma-separated, one header "
        "row; times are ISO 8601 with the +08:00 offset, dates YYYY-MM-DD; empty = no value. "
        "Text starting with = + - or @ is prefixed with an apostrophe (') so that spreadsheets "
        "do not run it as a formula.",
        "",
        "| 文件 file | 行数 rows | 内容 | contents |",
        "|---|---|---|---|",
        *(f"| {f.name} | {counts.get(f.name, 0)} | {f.zh} | {f.en} |" for f in files),
    ]
    for f in files:
        lines += ["", f"## {f.name}", "", f"{f.zh} / {f.en}", "",
                  "| 列 column | 说明 | description |", "|---|---|---|"]
        lines += [f"| `{field.name}` | {_cell(field.zh)} | {_cell(field.en)} |"
                  for field in f.fields]
    lines += ["", "统计口径详见 docs/metrics.md;Metric definitions: docs/metrics.md in the "
              "Consult Hub source.", ""]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def build_open_data(now: datetime | None = None) -> dict[str, Any]:
    """Write the archive afresh into instance/open_data/ and return how many rows each file has."""
    now = now or utcnow()
    folder = open_data_folder()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / ARCHIVE_NAME
    partial = folder / f".{ARCHIVE_NAME}.{uuid.uuid4().hex}.tmp"  # one per builder
    files = data_files()
    counts: dict[str, int] = {}
    try:
        with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for data_file in files:
                counts[data_file.name] = _write_csv(archive, data_file, now)
            archive.writestr(_info("README.md", now), readme(files, counts, now))
        os.replace(partial, target)  # readers see the old archive or the new one, never half
    finally:
        partial.unlink(missing_ok=True)
        db.session.rollback()  # read-only: end the long read transaction
    return counts


def _info(name: str, now: datetime) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=to_local(now).timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    # A regular file readable by all (rw-r--r--): without it the stored mode is 0000, which
    # Info-ZIP unzip extracts as owner-only (0600) files that a web server cannot serve.
    info.create_system = 3  # Unix, so that the mode below is read
    info.external_attr = (stat.S_IFREG | 0o644) << 16
    return info


def _write_csv(archive: zipfile.ZipFile, data_file: DataFile, now: datetime) -> int:
    count = 0

    def counted() -> Iterator[list[Any]]:
        nonlocal count
        for row in data_file.rows():
            count += 1
            yield row

    with archive.open(_info(data_file.name, now), "w", force_zip64=True) as out:
        for chunk in csv_stream([f.name for f in data_file.fields], counted()):
            out.write(chunk)
    return count


def ensure_archive(now: datetime | None = None) -> Path:
    """The archive's path, building it first if it is not there yet."""
    path = archive_path()
    if not path.exists():
        build_open_data(now)
    return path
