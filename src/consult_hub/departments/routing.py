"""Routing rules (交办规则): a district's standing answers to "which department handles this?".

A rule names a topic category and/or a keyword, optionally limits itself to some of the
district's streets, and leads to a department (the district's own or a city department) with
a default time to handle the problem. When staff open 交办 on a problem, ``suggestion`` picks
the most specific rule that matches it, and the form arrives pre-filled with that department
and due date; staff confirm or change them. FixMyStreet routes reports by category and area
the same way.

Rules are written here (validated, version-checked and audited) and read here: the rules
page, the department list and the suggestion. A problem reaches this module as a plain object
(departments sit below issues and platforms, docs/architecture.md): ``suggestion`` reads its
district, category, title, description and ``platform.area``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from consult_hub.areas.models import Area, AreaLevel
from consult_hub.audit.operations import diff, record
from consult_hub.auth.models import User
from consult_hub.auth.scopes import district_id_filter
from consult_hub.core.categories import Category
from consult_hub.core.conflicts import check_version
from consult_hub.core.db import utcnow
from consult_hub.core.errors import ValidationFailed
from consult_hub.core.i18n import gettext as _
from consult_hub.departments.models import Department, RoutingRule
from consult_hub.extensions import db

KEYWORD_MAX = 20
DUE_DAYS_DEFAULT, DUE_DAYS_MIN, DUE_DAYS_MAX = 15, 1, 365
# What an edit compares when someone else saved the rule first (core/conflicts.py).
FIELDS = ["category", "keyword", "streets", "department_id", "due_days"]


@dataclass(frozen=True)
class Suggestion:
    """What 交办 is pre-filled with: the rule's department and the due date it implies."""

    department_id: int
    due_on: date
    rule_id: int
    due_days: int


# ---- reading -------------------------------------------------------------------------------


def rule_values(rule: RoutingRule) -> dict[str, Any]:
    """A rule as audited: its conditions and outcome (streets as sorted ids)."""
    return {"district_id": rule.district_id,
            "category": rule.category.value if rule.category else None,
            "keyword": rule.keyword, "streets": sorted(s.id for s in rule.streets),
            "department_id": rule.department_id, "due_days": rule.due_days}


def rule_query(user: User, *, district_id: int | None = None,
               department_id: int | None = None) -> sa.Select[tuple[RoutingRule]]:
    """The rules ``user`` may see (their district's; every district's for city staff), most
    specific first as ``suggestion`` ranks them, optionally of one district or department."""
    query = (sa.select(RoutingRule).where(district_id_filter(user, RoutingRule.district_id))
             .options(selectinload(RoutingRule.streets), selectinload(RoutingRule.department),
                      selectinload(RoutingRule.district)))
    if district_id is not None:
        query = query.where(RoutingRule.district_id == district_id)
    if department_id is not None:
        query = query.where(RoutingRule.department_id == department_id)
    return query.order_by(RoutingRule.district_id, RoutingRule.department_id,
                          RoutingRule.id.desc())


def rules_by_department(department_ids: list[int],
                        user: User | None = None) -> dict[int, list[RoutingRule]]:
    """The rules leading to each of ``department_ids`` (for the department list), limited to
    the districts ``user`` may see when given."""
    if not department_ids:
        return {}
    query = (sa.select(RoutingRule).where(RoutingRule.department_id.in_(department_ids))
             .options(selectinload(RoutingRule.streets), selectinload(RoutingRule.district))
             .order_by(RoutingRule.id.desc()))
    if user is not None:
        query = query.where(district_id_filter(user, RoutingRule.district_id))
    found: dict[int, list[RoutingRule]] = defaultdict(list)
    for rule in db.session.scalars(query):
        found[rule.department_id].append(rule)
    return dict(found)


def eligible_departments(district_id: int) -> list[Department]:
    """Departments a rule of the district may lead to: in use, the district's own or the
    city's (the same ones 交办 offers)."""
    return list(db.session.scalars(
        sa.select(Department)
        .where(Department.is_active,
               sa.or_(Department.district_id == district_id, Department.district_id.is_(None)))
        .order_by(Department.district_id.is_(None), Department.name, Department.id)))


def district_streets(district_id: int) -> list[Area]:
    """The district's streets (街道/乡镇), the places a rule may be limited to."""
    return list(db.session.scalars(
        sa.select(Area).where(Area.parent_id == district_id, Area.level == AreaLevel.STREET)
        .order_by(Area.name, Area.id)))


# ---- writing -------------------------------------------------------------------------------


def _clean(district_id: int, values: dict[str, Any],
           rule: RoutingRule | None) -> dict[str, Any]:
    """The checked values, or ValidationFailed naming every field that is wrong."""
    errors: dict[str, str] = {}
    category: Category | None = None
    raw_category = values.get("category")
    if raw_category not in (None, ""):
        try:
            category = Category(raw_category)
        except ValueError:
            errors["category"] = _("请选择列表中的议题类别")
    keyword = " ".join(str(values.get("keyword") or "").split()) or None
    if keyword is not None and len(keyword) > KEYWORD_MAX:
        errors["keyword"] = _("关键词不超过 %(n)s 个字", n=KEYWORD_MAX)
    if category is None and keyword is None and "category" not in errors:
        errors["keyword"] = _("请填写关键词或选择议题类别，至少一项")

    street_ids = sorted({int(s) for s in values.get("street_ids") or []})
    streets = list(db.session.scalars(sa.select(Area).where(Area.id.in_(street_ids)))) \
        if street_ids else []
    if len(streets) != len(street_ids) or any(
            s.level is not AreaLevel.STREET or s.parent_id != district_id for s in streets):
        errors["streets"] = _("只能选择本区的街道")

    department = db.session.get(Department, values.get("department_id") or 0)
    if department is None or not department.is_active or department.district_id not in (
            None, district_id):
        errors["department"] = _("请选择本区或市直的在用承办单位")

    due_days = values.get("due_days")
    if due_days is None or due_days == "":
        due_days = DUE_DAYS_DEFAULT
    if isinstance(due_days, bool) or not isinstance(due_days, int) or not (
            DUE_DAYS_MIN <= due_days <= DUE_DAYS_MAX):
        errors["due_days"] = _("办理期限为 %(low)s 到 %(high)s 天", low=DUE_DAYS_MIN,
                               high=DUE_DAYS_MAX)

    if not errors and _duplicate(district_id, category, keyword, street_ids, rule):
        errors["keyword" if keyword else "category"] = _(
            "本区已有条件完全相同的规则，请修改那条规则")
    if errors:
        raise ValidationFailed(errors)
    return {"category": category, "keyword": keyword, "streets": streets,
            "department_id": department.id, "due_days": due_days}


def _duplicate(district_id: int, category: Category | None, keyword: str | None,
               street_ids: list[int], rule: RoutingRule | None) -> bool:
    """Whether another rule of the district has exactly these conditions: the two would tie
    and only their age would decide, which nobody reading the list would guess."""
    query = sa.select(RoutingRule).where(
        RoutingRule.district_id == district_id,
        RoutingRule.category.is_(None) if category is None else RoutingRule.category == category,
        RoutingRule.keyword.is_(None) if keyword is None
        else sa.func.lower(RoutingRule.keyword) == keyword.lower(),
    ).options(selectinload(RoutingRule.streets))
    if rule is not None:
        query = query.where(RoutingRule.id != rule.id)
    return any(sorted(s.id for s in other.streets) == street_ids
               for other in db.session.scalars(query))


def _district(district_id: Any) -> int:
    district = db.session.get(Area, district_id) if isinstance(district_id, int) else None
    if district is None or district.level is not AreaLevel.DISTRICT:
        raise ValidationFailed({"district": _("请选择一个区")})
    return district.id


def create_rule(*, district_id: int, category: Any = None, keyword: str | None = None,
                street_ids: list[int] | None = None, department_id: int | None = None,
                due_days: Any = DUE_DAYS_DEFAULT) -> RoutingRule:
    """Validate and add a district's rule; audited. The caller commits."""
    district = _district(district_id)
    clean = _clean(district, {"category": category, "keyword": keyword,
                              "street_ids": street_ids, "department_id": department_id,
                              "due_days": due_days}, None)
    rule = RoutingRule(district_id=district, **clean)
    db.session.add(rule)
    db.session.flush()
    record("routing_rule_create", rule, diff({}, rule_values(rule)))
    return rule


def update_rule(rule: RoutingRule, *, version: Any, original: str | None = None,
                category: Any = None, keyword: str | None = None,
                street_ids: list[int] | None = None, department_id: int | None = None,
                due_days: Any = DUE_DAYS_DEFAULT) -> dict[str, list[Any]]:
    """Change a rule opened at ``version``; returns the audited changes. The district stays.

    Raises EditConflict when someone saved the rule since, ValidationFailed on bad input.
    """
    check_version(rule, version=version, original=original, fields=FIELDS)
    clean = _clean(rule.district_id, {"category": category, "keyword": keyword,
                                      "street_ids": street_ids, "department_id": department_id,
                                      "due_days": due_days}, rule)
    before = rule_values(rule)
    for name, value in clean.items():
        setattr(rule, name, value)
    changes = diff(before, rule_values(rule))
    if changes:
        # Touching the row makes a change of streets alone (another table) move the version too.
        rule.updated_at = utcnow()
        db.session.flush()
        record("routing_rule_update", rule, changes)
    return changes


def delete_rule(rule: RoutingRule, *, version: Any) -> None:
    """Remove a rule opened at ``version``; audited with what it said. EditConflict when someone
    changed it since (deleting what one has not seen would surprise)."""
    check_version(rule, version=version, fields=FIELDS)
    record("routing_rule_delete", rule, diff(rule_values(rule), {}))
    db.session.delete(rule)
    db.session.flush()


# ---- suggesting ----------------------------------------------------------------------------


def _street_id(issue: Any) -> int | None:
    """The street the problem's platform sits in (a platform sits in a street or a community)."""
    platform = getattr(issue, "platform", None)
    area = platform.area if platform is not None else None
    if area is None:
        return None
    if area.level is AreaLevel.STREET:
        return area.id
    if area.level is AreaLevel.COMMUNITY:
        return area.parent_id
    return None


def matches(rule: RoutingRule, *, category: Any, text: str, street_id: int | None) -> bool:
    """Whether ``rule`` applies to a problem of ``category`` whose words are ``text`` (title
    and description, case-folded) raised in ``street_id``."""
    if rule.category is not None and rule.category != category:
        return False
    if rule.keyword and rule.keyword.casefold() not in text:
        return False
    return not rule.streets or street_id in {s.id for s in rule.streets}


def specificity(rule: RoutingRule) -> tuple[bool, bool, Any, int]:
    """How specific a rule is, larger first: limited to streets beats district-wide; keyword
    and category together beat either alone; then the newest."""
    return (bool(rule.streets), rule.category is not None and bool(rule.keyword),
            rule.created_at, rule.id)


def best_rule(issue: Any) -> RoutingRule | None:
    """The most specific rule of the problem's district that matches it, if any."""
    try:
        category = Category(issue.category)
    except ValueError:
        category = None
    text = f"{issue.title or ''}\n{issue.description or ''}".casefold()
    street_id = _street_id(issue)
    candidates = db.session.scalars(
        sa.select(RoutingRule).join(Department, Department.id == RoutingRule.department_id)
        .where(RoutingRule.district_id == issue.district_id, Department.is_active,
               sa.or_(Department.district_id == issue.district_id,
                      Department.district_id.is_(None)),
               sa.or_(RoutingRule.category.is_(None), RoutingRule.category == category))
        .options(selectinload(RoutingRule.streets)))
    found = [rule for rule in candidates
             if matches(rule, category=category, text=text, street_id=street_id)]
    return max(found, key=specificity, default=None)


def suggestion(issue: Any, today: date) -> Suggestion | None:
    """What to pre-fill 交办 with for ``issue``: the best rule's department, and ``today`` plus
    its due days (calendar days) as the due date; None when no rule matches."""
    rule = best_rule(issue)
    if rule is None:
        return None
    return Suggestion(department_id=rule.department_id,
                      due_on=today + timedelta(days=rule.due_days), rule_id=rule.id,
                      due_days=rule.due_days)
