"""Importing CPPCC members (政协委员), matched by their code (编码), with their platforms."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.exchange import cells
from consult_hub.exchange.areas import AreaBook
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
from consult_hub.members.models import Member, MemberLevel
from consult_hub.platforms.models import Platform, platform_members

LEVEL_ALIASES = {"市": "city", "区": "district", "市级": "city", "区级": "district",
                 "市政协": "city", "区政协": "district"}

COLUMNS = (
    Column("code", "编码", _l("委员编码，全市唯一；再次导入时按编码更新已有委员"), cells.code(),
           required=True, aliases=("code", "委员编码", "委员编号", "编号"), example="WY0001"),
    Column("name", "姓名", _l("委员姓名"), cells.text(64), required=True, aliases=("name",),
           example="李明"),
    Column("sector", "界别", _l("所在界别"), cells.text(64), required=True, aliases=("sector",),
           example="社会福利和社会保障界"),
    Column("level", "级别", _l("市政协委员或区政协委员（也可写“市”“区”）"),
           cells.choice(MemberLevel, LEVEL_ALIASES), required=True, aliases=("level",),
           allowed=cells.allowed_values(MemberLevel), example=MemberLevel.DISTRICT.source_label),
    Column("district", "区", _l("所属区的名称或区划代码；区政协委员必填，市政协委员可空"),
           cells.text(64), aliases=("district", "所属区"), example="江岸区"),
    Column("platforms", "所联系平台编码", _l("所联系（下沉）平台的编码，多个用分号隔开；"
           "有这一列时，委员的平台以表中为准（空 = 不联系任何平台）"), cells.code_list,
           aliases=("platforms", "平台编码", "联系平台"), example="420102-0001;420102-0002"),
    Column("is_active", "在任", _l("是 / 否（空 = 是）"), cells.yes_no,
           aliases=("is_active", "是否在任"), allowed="是、否", example="是"),
)
FIELDS = ("code", "name", "sector", "level", "district_id", "is_active")


@dataclass
class Plan:
    new: list[dict[str, Any]] = field(default_factory=list)
    changed: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)
    links: dict[str, set[int]] = field(default_factory=dict)  # member code → platform ids
    current_links: dict[int, set[int]] = field(default_factory=dict)  # member id → platform ids
    ids: dict[str, int] = field(default_factory=dict)  # codes of existing members → ids
    unchanged: int = 0


class MemberImporter(Importer):
    kind = "members"
    label = _l("委员")
    columns = COLUMNS

    def check(self, rows: list[Row], ctx: Context) -> Plan:
        book = AreaBook.load()
        plan = Plan()
        duplicates(rows, "code", ctx)
        existing = {r.code: r for r in fetch_by(
            Member.code, (row.values.get("code") for row in rows),
            Member.id, *(getattr(Member, name) for name in FIELDS))}
        plan.ids = {code: r.id for code, r in existing.items()}
        platforms: dict[str, Any] = {}
        if ctx.has("platforms"):
            wanted = {c for row in rows for c in row.values.get("platforms") or []}
            platforms = {p.code: p for p in fetch_by(
                Platform.code, wanted, Platform.id, Platform.code, Platform.district_id)}
            for part in chunks(list(plan.ids.values())):
                for member_id, platform_id in db.session.execute(
                        sa.select(platform_members.c.member_id, platform_members.c.platform_id)
                        .where(platform_members.c.member_id.in_(part))):
                    plan.current_links.setdefault(member_id, set()).add(platform_id)
        for row in rows:
            self._check_row(row, existing.get(row.values.get("code")), platforms, book, ctx, plan)
        return plan

    def _check_row(self, row: Row, old: Any, platforms: dict[str, Any], book: AreaBook,
                   ctx: Context, plan: Plan) -> None:
        v = row.values
        code = v.get("code")
        if code is None:
            return
        values: dict[str, Any] = {k: v.get(k) for k in ("name", "sector", "level")}
        level = v.get("level")
        district = None
        if ctx.has("district") and v.get("district"):
            district = book.district(v["district"])
            if district is None:
                ctx.error(row, "district", f"找不到区“{v['district']}”：请写区的名称或区划代码")
        if ctx.has("district") or old is None:
            values["district_id"] = district[0] if district else None
        district_id = values.get("district_id", old.district_id if old else None)
        if level is MemberLevel.DISTRICT and district_id is None and not ctx.failed(row):
            ctx.error(row, "district", "区政协委员必须填写所属的区")
        if (not ctx.may_manage(district_id)
                or (old is not None and not ctx.may_manage(old.district_id))):
            ctx.error(row, "district" if ctx.has("district") else "code",
                      "只能导入本区的区政协委员")
        if ctx.has("is_active"):
            values["is_active"] = v.get("is_active") is not False
        elif old is None:
            values["is_active"] = True
        if ctx.has("platforms"):
            linked = set()
            for platform_code in v.get("platforms") or []:
                found = platforms.get(platform_code.upper()) or platforms.get(platform_code)
                if found is None:
                    ctx.error(row, "platforms", f"找不到编码为 {platform_code} 的平台")
                elif not ctx.may_manage(found.district_id):
                    ctx.error(row, "platforms", f"平台 {platform_code} 属于其他区")
                else:
                    linked.add(found.id)
            plan.links[code] = linked
        if ctx.failed(row):
            return
        if old is None:
            plan.new.append({"code": code, **values})
            return
        before = {name: getattr(old, name) for name in FIELDS}
        changes = changed_fields(before, values)
        same_links = plan.links.get(code, plan.current_links.get(old.id, set())) == \
            plan.current_links.get(old.id, set())
        if changes or not same_links:
            plan.changed.append((old, changes))
        else:
            plan.unchanged += 1

    def write(self, plan: Plan, ctx: Context) -> Outcome:
        bulk_insert(Member, [{**values, "created_at": ctx.now, "updated_at": ctx.now}
                             for values in plan.new])
        updates = [{"id": old.id, "updated_at": ctx.now, **changes}
                   for old, changes in plan.changed if changes]
        bulk_update(Member, updates)
        ids = dict(plan.ids)
        if plan.new:
            ids.update({r.code: r.id for r in fetch_by(
                Member.code, [values["code"] for values in plan.new], Member.id, Member.code)})
        link_changes = self._write_links(plan, ids)
        audits = []
        for old, changes in plan.changed:
            before = {name: getattr(old, name) for name in changes}
            after = dict(changes)
            if old.id in link_changes:
                before["platform_ids"], after["platform_ids"] = link_changes[old.id]
            audits.append((old.id, before, after))
        audit_rows("member_import", Member.__tablename__, audits, ctx)
        return Outcome(len(plan.new), len(plan.changed), plan.unchanged)

    def _write_links(self, plan: Plan,
                     ids: dict[str, int]) -> dict[int, tuple[list[int], list[int]]]:
        """Make each listed member's platforms those of the file; returns (before, after) by id."""
        added: list[dict[str, int]] = []
        removed: dict[int, set[int]] = defaultdict(set)
        changes = {}
        for code, wanted in plan.links.items():
            member_id = ids[code]
            current = plan.current_links.get(member_id, set())
            if wanted == current:
                continue
            changes[member_id] = (sorted(current), sorted(wanted))
            added.extend({"member_id": member_id, "platform_id": p} for p in wanted - current)
            removed[member_id] = current - wanted
        for member_id, gone in removed.items():
            if gone:
                db.session.execute(sa.delete(platform_members).where(
                    platform_members.c.member_id == member_id,
                    platform_members.c.platform_id.in_(gone)))
        for part in chunks(added, 1000):
            db.session.execute(sa.insert(platform_members), list(part))
        return changes
