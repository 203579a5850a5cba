"""Importing consultation events (协商议事活动), matched by their code (编码) or system number.

Events entered in the web form have no code; an export carries their system number (系统编号)
so that the exported file can be corrected and imported back. Status moves forward only, as in
the forms: planned → held → concluded, planned → cancelled; a held event needs its minutes, a
concluded one its outcome, a cancelled one its reason.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from consult_hub.core.categories import Category
from consult_hub.core.db import max_length
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.events.models import (
    Event,
    EventAttendance,
    EventFormat,
    EventStatus,
    event_attendees,
)
from consult_hub.events.operations import MOBILE_NUMBER
from consult_hub.exchange import cells
from consult_hub.exchange.importing import (
    Column,
    Context,
    Importer,
    Outcome,
    Row,
    audit_rows,
    bulk_insert,
    bulk_update,
    changed_fields,
    chunks,
    duplicates,
    fetch_by,
)
from consult_hub.extensions import db
from consult_hub.members.models import Member
from consult_hub.platforms.models import Platform, PlatformStatus, platform_members

P, H, C, X = EventStatus.PLANNED, EventStatus.HELD, EventStatus.CONCLUDED, EventStatus.CANCELLED
FORWARD = {P: {H, C, X}, H: {C}, C: set(), X: set()}
TEXT_LIMIT = 20000

COLUMNS = (
    Column("code", "编码", _l("活动编码，全市唯一；再次导入时按编码更新；"
           "空 = 新活动（除非填了系统编号）"),
           cells.code(), aliases=("code", "活动编码", "活动编号"), example="HD-2024-001"),
    Column("id", "系统编号", _l("导出文件中的系统编号：编码为空时按它更新已有活动；新活动留空"),
           cells.integer(1), aliases=("id", "系统id")),
    Column("platform", "平台编码", _l("举办平台的编码，须已存在"), cells.code(upper=True),
           required=True, aliases=("platform", "platform_code"), example="420102-0001"),
    Column("platform_name", "平台名称", _l("仅供阅读，导入时忽略"), ignored=True),
    Column("topic", "议题", _l("协商议题"), cells.text(max_length(Event.topic)), required=True,
           aliases=("topic",), example="老旧小区加装电梯"),
    Column("category", "类别", _l("议题类别"), cells.choice(Category), required=True,
           aliases=("category",), allowed=cells.allowed_values(Category),
           example=Category.SOCIETY.source_label),
    Column("starts_at", "开始时间", _l("本地时间，格式 2024-03-01 14:30"),
           cells.parse_local_datetime, required=True, aliases=("starts_at",),
           example="2024-03-01 14:30"),
    Column("ends_at", "结束时间", _l("本地时间，晚于开始时间"), cells.parse_local_datetime,
           required=True, aliases=("ends_at",), example="2024-03-01 16:30"),
    Column("location", "地点", _l("空 = 平台地址"), cells.text(max_length(Event.location)),
           aliases=("location",), example="社区党群服务中心"),
    Column("format", "形式", _l("空 = 现场"), cells.choice(EventFormat), aliases=("format",),
           allowed=cells.allowed_values(EventFormat), example=EventFormat.ONSITE.source_label),
    Column("attendance", "居民能否参加", _l("空 = 未说明"), cells.choice(EventAttendance),
           aliases=("attendance", "能否参加"), allowed=cells.allowed_values(EventAttendance),
           example=EventAttendance.OPEN.source_label),
    Column("attendance_note", "参加方式",
           _l("如何参加（可空），公开显示：报名地点或平台的公开电话，不写个人手机号"),
           cells.text(max_length(Event.attendance_note)),
           aliases=("attendance_note", "报名方式"), example="到社区居委会报名"),
    Column("status", "状态", _l("空 = 计划中（新活动）；只能向前：计划中 → 已举行 → 已反馈成果，"
           "计划中 → 已取消"), cells.choice(EventStatus), aliases=("status",),
           allowed=cells.allowed_values(EventStatus), example=EventStatus.HELD.source_label),
    Column("agenda", "议程", _l("议程（可空）"), cells.text(TEXT_LIMIT), aliases=("agenda",)),
    Column("minutes", "纪要", _l("已举行、已反馈成果的活动必填"), cells.text(TEXT_LIMIT),
           aliases=("minutes",)),
    Column("opinions", "协商意见", _l("可空"), cells.text(TEXT_LIMIT), aliases=("opinions",)),
    Column("outcome", "成果转化", _l("已反馈成果的活动必填"), cells.text(TEXT_LIMIT),
           aliases=("outcome",)),
    Column("resident_count", "居民代表人数", _l("0 或正整数（空 = 0）"), cells.integer(0),
           aliases=("resident_count", "居民代表"), example="12"),
    Column("department_count", "部门数", _l("参加的部门个数（空 = 0）"), cells.integer(0),
           aliases=("department_count", "部门个数"), example="3"),
    Column("expert_count", "专家人数", _l("空 = 0"), cells.integer(0),
           aliases=("expert_count", "专家"), example="1"),
    Column("attendees", "参加委员编码", _l("参加的政协委员编码，分号隔开"
           "（没有编码的委员写 #系统编号）；"
           "须是该平台的下沉委员"),
           cells.code_list, aliases=("attendees", "参加委员"), example="WY0001;WY0002"),
    Column("cancel_reason", "取消原因", _l("已取消的活动必填"), cells.text(2000),
           aliases=("cancel_reason",)),
)
TEXT = ("topic", "category", "starts_at", "ends_at", "location", "format", "attendance",
        "attendance_note", "agenda", "minutes", "opinions", "outcome", "cancel_reason")
COUNTS = ("resident_count", "department_count", "expert_count")
FIELDS = ("code", "platform_id", "status", *TEXT, *COUNTS, "held_at", "concluded_at",
          "cancelled_at", "sequence")


@dataclass
class Plan:
    new: list[tuple[dict[str, Any], list[int] | None]] = field(default_factory=list)
    changed: list[tuple[Any, dict[str, Any], list[int] | None]] = field(default_factory=list)
    attendees: dict[int, list[int]] = field(default_factory=dict)  # event id → member ids now
    unchanged: int = 0


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _same_minute(a: datetime | None, b: datetime | None) -> bool:
    return a is not None and b is not None and _minute(a) == _minute(b)


class EventImporter(Importer):
    kind = "events"
    label = _l("活动")
    columns = COLUMNS

    def check(self, rows: list[Row], ctx: Context) -> Plan:
        plan = Plan()
        duplicates(rows, "code", ctx)
        duplicates(rows, "id", ctx)
        selected = (Event.id, Event.version, *(getattr(Event, name) for name in FIELDS))
        by_code = {r.code: r for r in fetch_by(Event.code, (r.values.get("code") for r in rows),
                                               *selected)}
        by_id = {r.id: r for r in fetch_by(Event.id, (r.values.get("id") for r in rows),
                                           *selected)}
        platforms = {p.code: p for p in fetch_by(
            Platform.code, (r.values.get("platform") for r in rows),
            Platform.id, Platform.code, Platform.district_id, Platform.status, Platform.address)}
        same = self._same_events(rows, platforms, selected, ctx)
        known = [*by_code.values(), *by_id.values(), *same.values()]
        platform_ids = {r.platform_id for r in known}
        platform_ids |= {p.id for p in platforms.values()}
        districts = {p.id: p.district_id for p in platforms.values()}
        districts.update({p.id: p.district_id for p in fetch_by(
            Platform.id, platform_ids - set(districts), Platform.id, Platform.district_id)})
        members: dict[str, int] = {}
        linked: dict[int, set[int]] = defaultdict(set)
        if ctx.has("attendees"):
            codes = {c for r in rows for c in r.values.get("attendees") or []}
            members = {m.code: m.id for m in fetch_by(Member.code, codes, Member.id, Member.code)}
            # A member without a code is written as "#<system number>" by the export.
            numbers = [int(c[1:]) for c in codes if c.startswith("#") and c[1:].isdigit()]
            members.update({f"#{m.id}": m.id for m in fetch_by(Member.id, numbers, Member.id)})
            for part in chunks(sorted(platform_ids)):
                for platform_id, member_id in db.session.execute(
                        sa.select(platform_members.c.platform_id, platform_members.c.member_id)
                        .where(platform_members.c.platform_id.in_(part))):
                    linked[platform_id].add(member_id)
            for part in chunks(sorted({r.id for r in known})):
                for event_id, member_id in db.session.execute(
                        sa.select(event_attendees.c.event_id, event_attendees.c.member_id)
                        .where(event_attendees.c.event_id.in_(part))):
                    plan.attendees.setdefault(event_id, []).append(member_id)
        matched: dict[int, int] = {}  # event id → the row that changes it
        for row in rows:
            old = self._existing(row, by_code, by_id, ctx) or same.get(row.number)
            if old is not None and matched.setdefault(old.id, row.number) != row.number:
                ctx.error(row, "code", f"与第 {matched[old.id]} 行是同一场活动")
                continue
            self._check_row(row, old, platforms, districts, members, linked, ctx, plan)
        return plan

    @staticmethod
    def _same_events(rows: list[Row], platforms: dict[str, Any], selected: Any,
                     ctx: Context) -> dict[int, Any]:
        """Rows without 编码 or 系统编号 that are an event already recorded: same platform, topic
        and start (to the minute). So a file of new events imported twice adds them once."""
        keyed: dict[int, tuple[int, str, datetime]] = {}
        for row in rows:
            v = row.values
            platform = platforms.get(v.get("platform") or "")
            if not v.get("code") and not v.get("id") and platform and v.get("topic") \
                    and v.get("starts_at"):
                keyed[row.number] = (platform.id, v["topic"], _minute(v["starts_at"]))
        if not keyed:
            return {}
        found: dict[tuple[int, str, datetime], Any] = {}
        for r in sorted(fetch_by(Event.topic, {key[1] for key in keyed.values()}, *selected),
                        key=lambda r: r.id):
            found.setdefault((r.platform_id, r.topic, _minute(r.starts_at)), r)
        first: dict[tuple[int, str, datetime], int] = {}
        for number, key in keyed.items():
            if key in first:
                ctx.error(number, "topic", f"与第 {first[key]} 行是同一平台、同一时间、"
                          "相同议题的活动；"
                          "如确是两场活动，请分别填写编码")
            first.setdefault(key, number)
        return {number: found[key] for number, key in keyed.items() if key in found}

    def _existing(self, row: Row, by_code: dict[str, Any], by_id: dict[int, Any],
                  ctx: Context) -> Any:
        code, ident = row.values.get("code"), row.values.get("id")
        if ident is not None and ident not in by_id:
            ctx.error(row, "id", f"没有系统编号为 {ident} 的活动；新活动请留空")
            return None
        old = by_code.get(code) if code else None
        if ident is not None:
            if old is not None and old.id != ident:
                ctx.error(row, "id", f"编码 {code} 属于另一场活动（系统编号 {old.id}）")
                return None
            old = by_id[ident]
            if code and old.code and old.code != code:
                ctx.error(row, "code", f"这场活动的编码是 {old.code}；编码不能在导入时修改")
                return None
        return old

    def _check_row(self, row: Row, old: Any, platforms: dict[str, Any], districts: dict[int, int],
                   members: dict[str, int], linked: dict[int, set[int]], ctx: Context,
                   plan: Plan) -> None:
        v = row.values
        platform = platforms.get(v.get("platform") or "")
        if v.get("platform") and platform is None:
            ctx.error(row, "platform", f"找不到编码为 {v['platform']} 的平台")
        elif platform is not None and not ctx.may_manage(platform.district_id):
            ctx.error(row, "platform", f"平台 {platform.code} 属于其他区")
        if old is not None and not ctx.may_manage(districts.get(old.platform_id)):
            ctx.error(row, "code" if v.get("code") else "id", "这场活动属于其他区的平台，不能修改")
        elif old is not None and platform is not None and platform.id != old.platform_id:
            ctx.error(row, "platform", "已有活动不能在导入时换平台")
        values: dict[str, Any] = {k: v.get(k) for k in TEXT if ctx.has(k)}
        for name in ("attendance", "attendance_note", "agenda", "minutes", "opinions", "outcome",
                     "cancel_reason"):
            if name in values:
                values[name] = values[name] or None
        if values.get("attendance_note") and MOBILE_NUMBER.search(values["attendance_note"]):
            ctx.error(row, "attendance_note", "参加方式会公开显示，请不要填写个人手机号；"
                      "可以写平台的公开电话或报名地点")
        if platform is not None:
            values["platform_id"] = platform.id
            if not values.get("location"):
                values["location"] = old.location if old is not None and "location" not in \
                    values else platform.address
        if "format" in values or old is None:
            values["format"] = values.get("format") or EventFormat.ONSITE
        for name in COUNTS:
            if ctx.has(name) or old is None:
                values[name] = v.get(name) or 0
        if v.get("starts_at") and v.get("ends_at") and v["ends_at"] <= v["starts_at"]:
            ctx.error(row, "ends_at", "结束时间应晚于开始时间")
        self._check_status(row, old, platform, values, ctx)
        attendees = None
        if ctx.has("attendees") and platform is not None:
            attendees = []
            for member_code in v.get("attendees") or []:
                member_id = members.get(member_code)
                if member_id is None:
                    ctx.error(row, "attendees", f"找不到编码为 {member_code} 的委员")
                elif member_id not in linked[platform.id]:
                    ctx.error(row, "attendees", f"委员 {member_code} 不是本平台的下沉委员")
                else:
                    attendees.append(member_id)
        if ctx.failed(row):
            return
        if old is None:
            values["code"] = v.get("code")
            plan.new.append((values, attendees))
            return
        for name in ("starts_at", "ends_at"):
            # Files hold minutes; a time within the stored minute is the stored time.
            if name in values and _same_minute(values[name], getattr(old, name)):
                values[name] = getattr(old, name)
        before = {name: getattr(old, name) for name in FIELDS}
        if (values.get("starts_at", old.starts_at), values.get("ends_at", old.ends_at)) != \
                (old.starts_at, old.ends_at):
            values["sequence"] = old.sequence + 1  # calendar clients must notice
        if v.get("code") and not old.code:
            values["code"] = v["code"]
        changes = changed_fields(before, values)
        same = attendees is None or sorted(attendees) == sorted(plan.attendees.get(old.id, []))
        if changes or not same:
            plan.changed.append((old, changes, attendees if not same else None))
        else:
            plan.unchanged += 1

    def _check_status(self, row: Row, old: Any, platform: Any, values: dict[str, Any],
                      ctx: Context) -> None:
        v = row.values
        status = v.get("status") or (old.status if old is not None else P)
        values["status"] = status
        if old is not None and status is not old.status and status not in FORWARD[old.status]:
            ctx.error(row, "status",
                      f"不能从“{old.status.source_label}”改为“{status.source_label}”")
            return
        if old is None and status is P and platform is not None \
                and platform.status is not PlatformStatus.ACTIVE:
            ctx.error(row, "status", f"平台当前为“{platform.status.source_label}”，不能安排新活动")
        starts_at = v.get("starts_at")
        if status in (H, C):
            if starts_at is not None and starts_at > ctx.now:
                ctx.error(row, "starts_at", "活动还没有开始（开始时间在将来），不能记为已举行")
            if not self._given(values, old, "minutes"):
                ctx.error(row, "minutes", "已举行的活动请填写纪要")
            if old is None or old.held_at is None:
                values["held_at"] = ctx.now
        if status is C:
            if not self._given(values, old, "outcome"):
                ctx.error(row, "outcome", "已反馈成果的活动请填写成果转化")
            if old is None or old.concluded_at is None:
                values["concluded_at"] = ctx.now
        if status is X:
            if not self._given(values, old, "cancel_reason"):
                ctx.error(row, "cancel_reason", "已取消的活动请填写取消原因")
            if old is None or old.cancelled_at is None:
                values["cancelled_at"] = ctx.now
                if old is not None:
                    values["sequence"] = old.sequence + 1

    @staticmethod
    def _given(values: dict[str, Any], old: Any, name: str) -> bool:
        if name in values:
            return bool(values[name])
        return bool(old is not None and getattr(old, name))

    def write(self, plan: Plan, ctx: Context) -> Outcome:
        links: list[dict[str, int]] = []
        if plan.new:
            rows = [{"created_at": ctx.now, "updated_at": ctx.now, "created_by_id": ctx.actor_id,
                     "version": 1, "sequence": 0, "held_at": None, "concluded_at": None,
                     "cancelled_at": None, **values} for values, _a in plan.new]
            # Events without a code get a provisional one, unique to this import, so that every
            # new row's id can be read back by code after one bulk INSERT; it is cleared again.
            marker = f"~{uuid.uuid4().hex[:12]}-"
            provisional = [f"{marker}{n}" for n, row in enumerate(rows) if not row.get("code")]
            for name, row in zip(provisional, (r for r in rows if not r.get("code")), strict=True):
                row["code"] = name
            bulk_insert(Event, rows)
            ids = {r.code: r.id for r in fetch_by(Event.code, [row["code"] for row in rows],
                                                   Event.id, Event.code)}
            if provisional:
                db.session.execute(sa.update(Event.__table__)
                                   .where(Event.code.startswith(marker, autoescape=True))
                                   .values(code=None))
            for row, (_values, attendees) in zip(rows, plan.new, strict=True):
                links.extend({"event_id": ids[row["code"]], "member_id": m}
                             for m in attendees or [])
        updates, audits = [], []
        for old, changes, attendees in plan.changed:
            if changes:
                updates.append({"id": old.id, "version": old.version, "updated_at": ctx.now,
                                **changes})
            before = {name: getattr(old, name) for name in changes}
            after = dict(changes)
            if attendees is not None:
                db.session.execute(sa.delete(event_attendees).where(
                    event_attendees.c.event_id == old.id))
                links.extend({"event_id": old.id, "member_id": m} for m in attendees)
                before["attendees"] = sorted(plan.attendees.get(old.id, []))
                after["attendees"] = sorted(attendees)
            audits.append((old.id, before, after))
        bulk_update(Event, updates)
        for part in chunks(links, 1000):
            db.session.execute(sa.insert(event_attendees), list(part))
        audit_rows("event_import", Event.__tablename__, audits, ctx)
        return Outcome(len(plan.new), len(plan.changed), plan.unchanged)
