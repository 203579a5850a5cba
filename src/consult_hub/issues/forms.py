"""Forms for the staff pages on problems; the action forms are built from the transition table.

The forms parse and present input. What is required and what is allowed is decided by
``create_issue``/``update_issue`` and by ``lifecycle.apply``, whose messages the views copy onto
these fields; fields only carry the ``required`` mark so the label shows an asterisk.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SearchField,
    SelectField,
    SelectMultipleField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from consult_hub.core.categories import Category
from consult_hub.core.forms import (
    BaseForm,
    CleanFields,
    EditForm,
    Needed,
    TimelineActionForm,
    action_forms,
    any_choice,
    optional_int,
    select_choices,
)
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.events.forms import RecordFields
from consult_hub.issues.lifecycle import FIELD_LABELS, TRANSITIONS
from consult_hub.issues.models import (
    PROPOSABLE_STATUSES,
    IssueKind,
    IssueSource,
    IssueStatus,
    Satisfaction,
)
from consult_hub.issues.operations import ADDRESS_LENGTH, TITLE_LENGTH

# --- The list's filters ---------------------------------------------------------------------


class StatusListField(SelectMultipleField):
    """Statuses as repeated ``status`` values or one comma-separated value; unknown ones dropped."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        values = [part for raw in valuelist for part in str(raw).split(",") if part]
        known = {s.value for s in IssueStatus}
        self.data = [v for v in dict.fromkeys(values) if v in known]

    def pre_validate(self, form: Any) -> None:
        return None


class IssueFilterForm(BaseForm):
    """The list's filters, read from the query string."""

    class Meta:
        csrf = False

    q = SearchField(_l("搜索"), description=_l("标题中的文字或问题编号"))
    status = StatusListField(_l("状态"), choices=select_choices(IssueStatus.choices()))
    kind = SelectField(_l("类型"),
                       choices=any_choice(_l("全部类型"), IssueKind.choices()), default="")
    category = SelectField(_l("类别"), choices=any_choice(_l("全部类别"), Category.choices()),
                           default="")
    source = SelectField(_l("来源"), choices=any_choice(_l("全部来源"), IssueSource.choices()),
                         default="")
    district = SelectField(_l("区"), coerce=optional_int, validate_choice=False)
    platform = SelectField(_l("平台"), coerce=optional_int, validate_choice=False)
    department = SelectField(_l("承办单位"), coerce=optional_int, validate_choice=False)
    overdue = BooleanField(_l("只看逾期"))
    sort = SelectField(_l("排序"), choices=select_choices([("newest", _l("最新受理在前")),
                                                         ("due", _l("期限最近在前"))]),
                       default="newest")

    def valid(self, name: str) -> Any:
        """A field's value, or None when it was not given or not valid."""
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data


# --- Raising and editing a problem ----------------------------------------------------------


class TextFields:
    """The problem's own words and classification, shared by the new and edit forms."""

    title = StringField(_l("标题"), validators=[Needed()],
                        render_kw={"maxlength": TITLE_LENGTH},
                        description=_l("一句话说清楚问题，例如“某小区夜间停车难”"))
    description = TextAreaField(_l("问题描述"), validators=[Needed()],
                                description=_l("时间、地点、涉及多少居民、已经做过哪些努力"))
    kind = SelectField(_l("问题类型"), choices=select_choices(IssueKind.choices()),
                       validate_choice=False)
    category = SelectField(_l("类别"), choices=select_choices(Category.choices()),
                       validate_choice=False)


class NewIssueForm(TextFields, BaseForm):
    platform_id = SelectField(_l("平台"), coerce=optional_int, validate_choice=False,
                              validators=[Needed()])
    event_id = SelectField(_l("提出问题的活动"), coerce=optional_int, validate_choice=False,
                           description=_l("在协商议事活动中提出的，请选择该活动"))
    source = SelectField(_l("来源"), choices=select_choices(IssueSource.choices()),
                       validate_choice=False)
    submitter_name = StringField(_l("居民姓名（不公开）"), render_kw={"maxlength": 64})
    submitter_phone = TelField(_l("联系电话（不公开）"),
                               description=_l("手机号，或带区号的固定电话，如 027-85612345"))


class IssueEditForm(TextFields, EditForm):
    pass


EDIT_FIELDS = ["title", "description", "kind", "category"]


# --- Recording an event held, with the problems raised there ----------------------------------

PROBLEM_ROWS = 3  # blank problem rows on the record page; "more rows" adds as many again


class ProblemRow(CleanFields, Form):
    """One problem raised at the event; a row left wholly blank is ignored."""

    title = StringField(_l("问题标题"), validators=[Optional(), Length(max=TITLE_LENGTH)])
    description = TextAreaField(_l("问题描述"), validators=[Optional(), Length(max=5000)])
    kind = SelectField(_l("问题类型"),
                       choices=any_choice(_l("请选择"), IssueKind.choices()), default="")
    category = SelectField(_l("类别"),
                           choices=any_choice(_l("请选择"), Category.choices()), default="")

    def values(self) -> dict[str, str]:
        return {name: (self[name].data or "").strip() for name in ("title", "description",
                                                                    "kind", "category")}


class RecordForm(RecordFields, BaseForm):
    """Everything learned at a held event, saved together or not at all."""

    problems = FieldList(FormField(ProblemRow), min_entries=PROBLEM_ROWS, max_entries=60)


# --- Lifecycle actions ----------------------------------------------------------------------


class ActionForm(TimelineActionForm):
    """One problem action (``action_form``)."""


# How each field reads in each action's form: the label, and the help when one is useful.
# Texts that reach residents say so: they appear on the public timeline.
FIELD_TEXT: dict[tuple[str, str], tuple[Any, Any]] = {
    ("assign", "department"): (_l("承办单位"), None),
    ("assign", "due_on"): (_l("办理期限"), _l("到期仍未办结的，将提醒区政协工作人员")),
    ("resolve", "resolution"): (_l("办理结果（公开）"),
                                _l("居民在进度查询和办理成果页面看到这段文字")),
    ("plan", "planned_on"): (_l("计划完成日期"), None),
    ("plan", "resolution"): (_l("计划说明（公开，可不填）"), _l("计划怎么解决、分几步")),
    ("constrain", "resolution"): (_l("情况说明（公开）"),
                                  _l("说明一时难以解决的原因，以及后续怎么办")),
    ("reject", "reason"): (_l("不予受理的理由（公开）"), None),
    ("reject", "duplicate_of"): (_l("重复问题的编号（可不填）"),
                                 _l("与已登记的问题重复时，填写原问题的编号，如 WH24-00123")),
    ("reopen", "reason"): (_l("重新办理的理由（公开）"), _l("例如居民回访不满意的原因")),
    ("accept", "title"): (
        _l("公开标题"), _l("居民在办理成果页面看到的标题；不写姓名、电话、门牌号")),
    ("accept", "description"): (
        _l("公开摘要"), _l("用自己的话概括问题；含有电话号码或身份证号时不能公开")),
    ("accept", "platform"): (
        _l("受理平台"), _l("提交时没有指定平台（例如热线只转来了地址），请按地址选择")),
    ("accept", "kind"): (_l("问题类型"), _l("居民不再自己分类：由工作人员在受理时选择")),
    ("accept", "category"): (_l("类别"), None),
    ("accept", "address"): (
        _l("公开地址（可不填）"), _l("问题所在的位置，随问题公开；只写到路名或小区，不写门牌号")),
    ("reply", "reply"): (_l("答复内容"), _l("经区政协确认后作为办理结果向居民公开；"
                                           "一时难以解决的，请说明原因")),
    ("reply", "proposed_status"): (_l("建议办理结果"), None),
    ("reply", "planned_on"): (_l("计划完成日期（列入计划的填写）"), None),
    ("request_extension", "requested_due_on"): (_l("申请延至"), None),
    ("request_extension", "reason"): (_l("延期理由"), None),
    ("return", "reason"): (_l("退回理由"), _l("例如不属于本单位职责，建议交办给哪个单位")),
    ("refuse_extension", "reason"): (_l("不同意延期的理由"), None),
    ("rework", "reason"): (_l("退回重办的理由"), _l("承办单位在工作台上看到这段说明")),
    ("confirm", "resolution"): (_l("公开的办理结果（可修改）"),
                                _l("不填则公开承办单位的答复内容")),
    ("note", "note"): (_l("办理进展"), _l("可以使用 Markdown:**加粗**、- 列表")),
    ("note", "is_public"): (_l("在进度查询页面公开显示"),
                            _l("不勾选则只有工作人员能看到，例如涉及居民个人情况的记录")),
}


def _field(action: str, name: str, required: bool) -> Any:
    label, help_text = FIELD_TEXT.get((action, name), (FIELD_LABELS.get(name, name), None))
    common: dict[str, Any] = {"id": f"{action}-{name}", "description": help_text or ""}
    marks = [Needed()] if required else []
    if name == "department":
        return SelectField(label, coerce=optional_int, validate_choice=False, validators=marks,
                           **common)
    if name == "proposed_status":
        return RadioField(label, choices=select_choices(
            [(status.value, status.label) for status in PROPOSABLE_STATUSES]),
            validate_choice=False, validators=marks, **common)
    if name == "title":
        return StringField(label, validators=marks, render_kw={"maxlength": TITLE_LENGTH},
                           **common)
    if name == "platform":
        return SelectField(label, coerce=optional_int, validate_choice=False, validators=marks,
                           **common)
    if name in ("kind", "category"):
        # Optional in the table (an Open311 request may come classified), but a problem is
        # never published without both: the form marks them required and starts from the
        # problem's own or its everyday subject's (views._prefill).
        enum_cls = IssueKind if name == "kind" else Category
        return SelectField(label, choices=any_choice(_l("请选择"), enum_cls.choices()),
                           validate_choice=False, validators=[Needed()], **common)
    if name == "address":
        return StringField(label, validators=marks,
                           render_kw={"maxlength": ADDRESS_LENGTH}, **common)
    if name in ("due_on", "planned_on", "requested_due_on"):
        return DateField(label, validators=[Optional(), *marks], **common)
    if name == "is_public":
        return BooleanField(label, default=True, **common)
    if name == "duplicate_of":
        return StringField(label, validators=marks, render_kw={"maxlength": 16}, **common)
    return TextAreaField(label, validators=marks, **common)


# The form of one lifecycle action: exactly the fields its transition names.
action_form = action_forms(TRANSITIONS, ActionForm, _field)


class PhotoToggleForm(BaseForm):
    """Show (``yes``) or withhold (``no``) one resident's photo on the public page: CSRF only."""

    show = HiddenField()


class RateForm(ActionForm):
    satisfaction = RadioField(_l("居民的评价"), choices=select_choices(Satisfaction.choices()),
                              validate_choice=False, validators=[Needed()], id="rate-satisfaction")
    note = TextAreaField(_l("回访记录（内部，可不填）"), id="rate-note",
                         description=_l("只有工作人员能看到"))
