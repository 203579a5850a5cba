"""Importing platforms (协商平台), matched by their code (编码)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa

from consult_hub.areas.models import Area
from consult_hub.core.db import max_length
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.exchange import cells
from consult_hub.exchange.areas import AreaBook, AreaRef
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
from consult_hub.platforms.models import (
    Platform,
    PlatformKind,
    PlatformStatus,
    PlatformStatusChange,
)
from consult_hub.platforms.operations import (
    CODE_PATTERN,
    EARLIEST_YEAR,
    TRANSITIONS,
    record_status_changes,
    status_change,
)

COLUMNS = (
    Column("code", "编码",
           _l("平台编码，全市唯一（字母、数字和连字符）；再次导入时按编码更新已有平台"),
           cells.code(pattern=CODE_PATTERN, upper=True,
                      hint="编码只能包含字母、数字和连字符，2 到 32 个字符"),
           required=True, aliases=("code", "平台编码", "平台编号", "编号"), example="420102-0001"),
    Column("name", "名称", _l("平台名称"), cells.text(120), required=True,
           aliases=("name", "平台名称"), example="二七街道协商议事室"),
    Column("kind", "类型", _l("平台类型，写中文名称或英文值"), cells.choice(PlatformKind),
           required=True, aliases=("kind", "平台类型"),
           allowed=cells.allowed_values(PlatformKind),
           example=PlatformKind.CONSULT_ROOM.source_label),
    Column("district", "区", _l("所在区的名称或区划代码，须已存在"), cells.text(64), required=True,
           aliases=("district", "所在区", "区县"), example="江岸区"),
    Column("street", "街道", _l("所在街道/乡镇的名称；本区没有的会新建在该区下"), cells.text(64),
           required=True, aliases=("street", "街道/乡镇", "乡镇"), example="二七街道"),
    Column("community", "社区", _l("所在社区/村的名称（可空：平台设在街道）；该街道没有的会新建"),
           cells.text(64), aliases=("community", "社区/村", "村"), example="二七社区"),
    Column("address", "地址", _l("详细地址"), cells.text(max_length(Platform.address)),
           required=True, aliases=("address",), example="二七路 100 号"),
    Column("latitude", "纬度", _l("WGS84 纬度，与经度同时填写或都不填"), cells.number(-90, 90),
           aliases=("latitude", "lat"), example="30.6160"),
    Column("longitude", "经度", _l("WGS84 经度"), cells.number(-180, 180),
           aliases=("longitude", "long", "lng"), example="114.3055"),
    Column("convener", "召集人", _l("召集人姓名（公开显示的职务）"), cells.text(64),
           aliases=("convener",), example="张建国"),
    Column("established_on", "成立日期", _l("格式 2024-03-01，不晚于今天"), cells.parse_date,
           required=True, aliases=("established_on", "成立时间"), example="2023-05-01"),
    Column("is_demonstration", "示范点", _l("是否示范点：是 / 否（空 = 否）"), cells.yes_no,
           aliases=("is_demonstration", "是否示范点"), allowed="是、否", example="否"),
    Column("demonstration_year", "示范年份", _l("评为示范点的年份；示范点必填"),
           cells.integer(EARLIEST_YEAR, 2100), aliases=("demonstration_year", "示范点年份"),
           example=""),
    Column("status", "状态", _l("空 = 运行中（新平台）；"
           "已有平台改变状态须符合规则（已撤销的不能改为暂停）"),
           cells.choice(PlatformStatus), aliases=("status", "平台状态"),
           allowed=cells.allowed_values(PlatformStatus),
           example=PlatformStatus.ACTIVE.source_label),
    Column("status_on", "状态日期", _l("状态变更的生效日期，格式 2024-03-01；空 = 导入当天。"
           "只在状态改变（或新平台不是运行中）时使用，不早于成立日期和上一次状态变更，不晚于今天；"
           "月度统计按各月末的状态计算"),
           cells.parse_date, aliases=("status_on", "状态生效日期", "撤销日期", "closed_on"),
           example=""),
    Column("description", "简介", _l("平台简介（可空）"), cells.text(2000),
           aliases=("description",)),
)

FIELDS = ("code", "name", "kind", "area_id", "district_id", "address", "latitude", "longitude",
          "convener", "description", "established_on", "is_demonstration", "demonstration_year",
          "status")
# Columns stored as they are (the others need looking up or checking together).
DIRECT = ("name", "kind", "address", "convener", "description", "established_on")


@dataclass
class Plan:
    book: AreaBook
    new: list[tuple[dict[str, Any], AreaRef | None]] = field(default_factory=list)
    changed: list[tuple[Any, dict[str, Any], AreaRef | None]] = field(default_factory=list)
    unchanged: int = 0
    # The day each status change of the file takes effect, by code; the day each existing
    # platform's latest recorded change took effect, by id (a new change cannot precede it).
    status_on: dict[str, date] = field(default_factory=dict)
    last_change: dict[int, date] = field(default_factory=dict)


class PlatformImporter(Importer):
    kind = "platforms"
    label = _l("平台")
    columns = COLUMNS

    def check(self, rows: list[Row], ctx: Context) -> Plan:
        book = AreaBook.load()
        plan = Plan(book)
        duplicates(rows, "code", ctx)
        existing = {r.code: r for r in fetch_by(
            Platform.code, (row.values.get("code") for row in rows),
            Platform.id, Platform.version, *(getattr(Platform, name) for name in FIELDS))}
        ids = [platform.id for platform in existing.values()]
        for part in chunks(ids, 1000):
            plan.last_change.update(db.session.execute(
                sa.select(PlatformStatusChange.platform_id,
                          sa.func.max(PlatformStatusChange.effective_on))
                .where(PlatformStatusChange.platform_id.in_(part),
                       PlatformStatusChange.from_status.is_not(None))
                .group_by(PlatformStatusChange.platform_id)).all())
        for row in rows:
            self._check_row(row, existing.get(row.values.get("code")), ctx, plan)
        return plan

    def _check_row(self, row: Row, old: Any, ctx: Context, plan: Plan) -> None:
        v = row.values
        if v.get("code") is None:
            return
        values: dict[str, Any] = {name: v.get(name) or None for name in DIRECT if ctx.has(name)}
        area: AreaRef | None = None
        if v.get("district"):
            district = plan.book.district(v["district"])
            if district is None:
                ctx.error(row, "district", f"找不到区“{v['district']}”：请写区的名称或区划代码")
            elif not ctx.may_manage(district[0]):
                ctx.error(row, "district", f"只能导入本区的平台，不能导入{district[1]}的")
            elif v.get("street"):
                values["district_id"] = district[0]
                area = plan.book.street(district[0], v["street"])
                if v.get("community"):
                    area = plan.book.community(area, v["community"])
        if old is not None and not ctx.may_manage(old.district_id):
            ctx.error(row, "code", f"平台 {old.code} 属于其他区，不能修改")
        if "latitude" in v or "longitude" in v:
            latitude, longitude = v.get("latitude"), v.get("longitude")
            if (latitude is None) != (longitude is None):
                missing = "longitude" if longitude is None else "latitude"
                ctx.error(row, missing, "经纬度须同时填写，或都不填")
            values["latitude"], values["longitude"] = latitude, longitude
        established = v.get("established_on") or (old.established_on if old else None)
        if v.get("established_on") and v["established_on"] > ctx.today:
            ctx.error(row, "established_on", "成立日期不能晚于今天")
        self._check_demonstration(row, old, established, values, ctx)
        self._check_status(row, old, values, ctx, plan)
        if ctx.failed(row):
            return
        if old is None:
            values.setdefault("status", PlatformStatus.ACTIVE)
            values.setdefault("is_demonstration", False)
            values.setdefault("demonstration_year", None)
            values["code"] = v["code"]
            plan.new.append((values, area))
            return
        before = {name: getattr(old, name) for name in FIELDS}
        if isinstance(area, int):
            values["area_id"] = area
        changes = changed_fields(before, values)
        if changes or (area is not None and not isinstance(area, int)):
            plan.changed.append((old, changes, area if not isinstance(area, int) else None))
        else:
            plan.unchanged += 1

    def _check_demonstration(self, row: Row, old: Any, established: Any,
                             values: dict[str, Any], ctx: Context) -> None:
        v = row.values
        if not ctx.has("is_demonstration") and not ctx.has("demonstration_year"):
            return
        flagged = v.get("is_demonstration") if ctx.has("is_demonstration") else \
            bool(old and old.is_demonstration)
        year = v.get("demonstration_year") if ctx.has("demonstration_year") else \
            (old.demonstration_year if old else None)
        if not flagged:
            year = None  # the year belongs to the flag
        elif year is None:
            ctx.error(row, "demonstration_year", "示范点须填写年份")
        elif year > ctx.today.year:
            ctx.error(row, "demonstration_year", f"年份不能晚于 {ctx.today.year}")
        elif established is not None and year < established.year:
            ctx.error(row, "demonstration_year", f"示范点年份不能早于成立年份 {established.year}")
        values["is_demonstration"], values["demonstration_year"] = bool(flagged), year

    def _check_status(self, row: Row, old: Any, values: dict[str, Any], ctx: Context,
                      plan: Plan) -> None:
        status = row.values.get("status")
        if status is None:
            return
        values["status"] = status
        if old is None:
            if status is not PlatformStatus.ACTIVE:
                self._check_status_on(row, old, values, ctx, plan)
            return
        if old.status is status:
            return
        allowed = [target for sources, target in TRANSITIONS.values() if old.status in sources]
        if status not in allowed:
            ctx.error(row, "status",
                      f"不能从“{old.status.source_label}”改为“{status.source_label}”")
        self._check_status_on(row, old, values, ctx, plan)

    @staticmethod
    def _check_status_on(row: Row, old: Any, values: dict[str, Any], ctx: Context,
                         plan: Plan) -> None:
        """The day a status change takes effect: the file's 状态日期, or the day of the import;
        not after today, not before the founding or the platform's previous change."""
        day = row.values.get("status_on") or ctx.today
        established = values.get("established_on") or (old.established_on if old else None)
        earliest = max(filter(None, (established, plan.last_change.get(old.id) if old else None)),
                       default=None)
        if day > ctx.today:
            ctx.error(row, "status_on", "状态日期不能晚于今天")
        elif earliest is not None and day < earliest:
            ctx.error(row, "status_on",
                      f"状态日期不能早于 {earliest.isoformat()}（成立或上一次状态变更的日期）")
        plan.status_on[row.values["code"]] = day

    def write(self, plan: Plan, ctx: Context) -> Outcome:
        made = plan.book.create_missing(
            lambda added: audit_rows("area_create", Area.__tablename__,
                                     [(ident, {}, values) for ident, values in added], ctx))
        new_rows = []
        for values, area in plan.new:
            values["area_id"] = plan.book.resolve(area, made)
            new_rows.append({**values, "created_at": ctx.now, "updated_at": ctx.now,
                             "version": 1})
        # A new platform opens active on its founding day; one imported suspended or closed
        # changed to that status on its 状态日期 (default: the day of the import).
        history = []
        for row in new_rows:
            status = row["status"]
            opening = status_change(None, None, PlatformStatus.ACTIVE,
                                    effective_on=row["established_on"], actor_id=ctx.actor_id,
                                    now=ctx.now)
            changes = [opening]
            if status is not PlatformStatus.ACTIVE:
                changes.append(status_change(None, PlatformStatus.ACTIVE, status,
                                             effective_on=plan.status_on[row["code"]],
                                             actor_id=ctx.actor_id, now=ctx.now))
            row.update(changes[-1].platform_values)
            history.append((row["code"], [change.history for change in changes]))
        bulk_insert(Platform, new_rows)
        if history:
            ids = dict(fetch_by(Platform.code, (code for code, _rows in history),
                                Platform.code, Platform.id))
            record_status_changes([{**change, "platform_id": ids[code]}
                                   for code, changes in history for change in changes])
        updates, audits, moves = [], [], []
        for old, changes, new_area in plan.changed:
            if new_area is not None:
                changes["area_id"] = made[new_area]
            extra: dict[str, Any] = {}
            if "status" in changes:
                move = status_change(old.id, old.status, changes["status"],
                                     effective_on=plan.status_on.get(old.code, ctx.today),
                                     actor_id=ctx.actor_id, now=ctx.now)
                extra = move.platform_values
                moves.append(move.history)
            updates.append({"id": old.id, "version": old.version, "updated_at": ctx.now,
                            **extra, **changes})
            audits.append((old.id, {name: getattr(old, name) for name in changes}, changes))
        bulk_update(Platform, updates)
        record_status_changes(moves)
        audit_rows("platform_import", Platform.__tablename__, audits, ctx)
        return Outcome(len(new_rows), len(updates), plan.unchanged, len(made))
