"""Everyday subjects (常见问题) a resident may pick when raising a problem, in their words.

Residents do not classify their own problem in the programme's terms (问题类型, 类别): they may
pick one of these, and each carries the kind and category staff most often give it, offered
as the starting point when staff review the submission (受理). Kept as data: adding a subject
is a line here (its code is stored on the problem, so never change or reuse a code; retire
one by setting ``offered=False``, which keeps old problems readable).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from consult_hub.core.categories import Category
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.models import IssueKind


@dataclass(frozen=True)
class Subject:
    code: str
    label: Any  # a lazy translation
    kind: IssueKind | None
    category: Category | None
    offered: bool = True


SUBJECTS: tuple[Subject, ...] = (
    Subject("streetlight", _l("路灯"), IssueKind.DOORSTEP, Category.SOCIETY),
    Subject("waterlogging", _l("积水"), IssueKind.DOORSTEP, Category.SOCIETY),
    Subject("elevator", _l("加装电梯"), IssueKind.URGENT, Category.SOCIETY),
    Subject("parking", _l("停车"), IssueKind.DOORSTEP, Category.SOCIETY),
    Subject("noise", _l("噪声"), IssueKind.DOORSTEP, Category.ECOLOGY),
    Subject("waste", _l("垃圾分类"), IssueKind.DOORSTEP, Category.ECOLOGY),
    Subject("property", _l("物业"), IssueKind.GOVERNANCE, Category.SOCIETY),
    Subject("roads", _l("道路"), IssueKind.DOORSTEP, Category.ECONOMY),
    Subject("greenery", _l("绿化"), IssueKind.DOORSTEP, Category.ECOLOGY),
    Subject("elderly_care", _l("养老助餐"), IssueKind.URGENT, Category.SOCIETY),
    Subject("safety", _l("安全隐患"), IssueKind.URGENT, Category.SOCIETY),
    Subject("culture", _l("文体活动"), IssueKind.DOORSTEP, Category.CULTURE),
    Subject("other", _l("其他"), None, None),
)
BY_CODE = {subject.code: subject for subject in SUBJECTS}
CODE_LENGTH = 32


def offered() -> list[Subject]:
    """The subjects the submission form lists, in order."""
    return [subject for subject in SUBJECTS if subject.offered]


def subject_of(code: str | None) -> Subject | None:
    return BY_CODE.get(code or "")
