"""Forms of the report pages; the action forms are built from the transition table.

The forms parse and present input; what is required and allowed is decided by
``opinions/operations.py`` and ``opinions/lifecycle.py``, whose messages the views put on
these fields (``core/saving.py``). Fields carry the ``required`` mark for the label only.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import Optional

from consult_hub.core.categories import Category
from consult_hub.core.forms import (
    BaseForm,
    BoundedDateField,
    EditForm,
    LifecycleActionForm,
    Needed,
    action_forms,
    any_choice,
    optional_int,
    select_choices,
)
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.params import BadParam, to_id
from consult_hub.opinions.lifecycle import FIELD_LABELS, TRANSITIONS
from consult_hub.opinions.models import ForwardLevel, OpinionSource, OpinionStatus
from consult_hub.opinions.operations import TITLE_LENGTH


class ReportFilterForm(BaseForm):
    """The list's filters, read from the query string."""

    class Meta:
        csrf = False

    q = SearchField(_l("搜索"), description=_l("标题中的文字或编号"))
    # The view offers the years with reports and ignores one outside MIN_YEAR..MAX_YEAR; the
    # month is checked against its choices (out of range, it would overflow the time zone
    # arithmetic).
    year = SelectField(_l("年份"), coerce=optional_int, validate_choice=False)
    month = SelectField(_l("月份"), coerce=optional_int, choices=any_choice(
        _l("全年"), [(str(m), _l("%(month)s月", month=m)) for m in range(1, 13)]))
    status = SelectField(_l("状态"), choices=any_choice(_l("全部状态"), OpinionStatus.choices()),
                         default="")
    category = SelectField(_l("类别"), choices=any_choice(_l("全部类别"), Category.choices()),
                           default="")
    livelihood = SelectField(_l("民生实事"), choices=any_choice(_l("全部"), [
        ("1", _l("涉及民生实事")), ("0", _l("不涉及民生实事"))]), default="")
    source = SelectField(_l("来源"), choices=any_choice(_l("全部来源"), OpinionSource.choices()),
                         default="")
    district = SelectField(_l("区"), coerce=optional_int, validate_choice=False)

    def valid(self, name: str) -> Any:
        """A field's value, or None when it was not given or not valid."""
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data


def _ids(value: Any) -> int:
    if isinstance(value, int):
        return value
    try:
        return to_id(str(value))
    except BadParam:
        raise ValueError(str(value)) from None


class ReportFields:
    """A report's own words and classification, shared by the new and edit forms."""

    title = StringField(_l("标题"), validators=[Needed()],
                        render_kw={"maxlength": TITLE_LENGTH},
                        description=_l("一句话点明反映的问题，例如“关于加快老旧小区加装电梯的建议”"))
    body = TextAreaField(_l("正文"), validators=[Needed()],
                         description=_l("基本情况、存在问题、意见建议；不写居民的姓名和联系方式"))
    category = SelectField(_l("类别"), choices=any_choice(_l("请选择"), Category.choices()),
                           validate_choice=False, validators=[Needed()])
    is_livelihood = BooleanField(_l("涉及民生实事"),
                                 description=_l("反映居民身边民生实事的，请勾选；计入民生实事的统计"))


class NewReportForm(ReportFields, BaseForm):
    platform = SelectField(_l("平台"), coerce=optional_int, validate_choice=False,
                           description=_l("在哪个平台收集的；委员直接撰写的可不选"))
    district = SelectField(_l("区"), coerce=optional_int, validate_choice=False,
                           description=_l("不选平台时，信息归属的区；不选则为市政协的信息"))
    events = SelectMultipleField(_l("依据的活动"), coerce=_ids, validate_choice=False)
    issues = SelectMultipleField(_l("依据的问题"), coerce=_ids, validate_choice=False)


class ReportEditForm(ReportFields, EditForm):
    pass


EDIT_FIELDS = ["title", "body", "category", "is_livelihood"]


# --- Lifecycle actions ----------------------------------------------------------------------


class ActionForm(LifecycleActionForm):
    """One opinion-report action (``action_form``)."""


FIELD_TEXT: dict[tuple[str, str], tuple[Any, Any]] = {
    ("adopt", "bulletin_issue"): (
        _l("编发期号"), _l("刊登这篇信息的《社情民意》期号，例如“2024年第12期”")),
    ("adopt", "note"): (_l("采用说明（可不填）"), None),
    ("not_adopt", "reason"): (_l("不予采用的理由"), _l("撰写人在信息页面看到这段说明")),
    ("return", "reason"): (_l("退回修改的理由"), _l("撰写人修改后再次报送")),
    ("forward", "forwarded_to"): (_l("报送到"), None),
    ("instruct", "instruction_leader"): (_l("批示领导"), _l("例如“市委主要领导”")),
    ("instruct", "instruction_text"): (_l("批示内容"), None),
    ("instruct", "instructed_on"): (_l("批示日期"), None),
    ("follow_up", "follow_up"): (
        _l("落实情况"), _l("有关单位按批示做了什么、进展如何；可随时更新")),
}


def _field(action: str, name: str, required: bool) -> Any:
    label, help_text = FIELD_TEXT.get((action, name), (FIELD_LABELS.get(name, name), None))
    common: dict[str, Any] = {"id": f"{action}-{name}", "description": help_text or ""}
    marks = [Needed()] if required else []
    if name == "forwarded_to":
        return RadioField(label, choices=select_choices(ForwardLevel.choices()),
                          validate_choice=False, validators=marks, **common)
    if name == "instructed_on":
        return BoundedDateField(label, validators=[Optional(), *marks], **common)
    if name in ("bulletin_issue", "instruction_leader"):
        return StringField(label, validators=marks, render_kw={"maxlength": 64}, **common)
    return TextAreaField(label, validators=marks, **common)


# The form of one lifecycle action: exactly the fields its transition names.
action_form = action_forms(TRANSITIONS, ActionForm, _field)
