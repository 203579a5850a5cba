"""Forms of the proposal pages; the action forms are built from the transition table.

The forms parse and present input; what is required is decided by ``operations`` and
``lifecycle.apply``, whose messages the views put on these fields.
"""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    IntegerField,
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
    EditForm,
    Needed,
    TimelineActionForm,
    action_forms,
    any_choice,
    optional_int,
    select_choices,
)
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.models import Satisfaction
from consult_hub.proposals.lifecycle import FIELD_LABELS, TRANSITIONS, Transition
from consult_hub.proposals.models import (
    CollectiveKind,
    ProposalOutcome,
    ProposalStatus,
    ProposalTiming,
    ProposerKind,
)
from consult_hub.proposals.operations import COLLECTIVE_NAME_LENGTH, TITLE_LENGTH


class IdListField(SelectMultipleField):
    """Ids chosen from a list (members, departments, evidence); unknown ones are the
    operation's to refuse, text that is no id is dropped."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        ids = []
        for raw in valuelist:
            try:
                value = optional_int(raw)
            except ValueError:
                continue
            if value is not None:
                ids.append(value)
        self.data = list(dict.fromkeys(ids))

    def pre_validate(self, form: Any) -> None:
        return None


class ProposalFilterForm(BaseForm):
    class Meta:
        csrf = False

    q = SearchField(_l("搜索"), description=_l("标题中的文字、提案编号或案号"))
    year = SelectField(_l("年度"), coerce=optional_int, validate_choice=False)
    status = SelectField(_l("状态"), choices=any_choice(_l("全部状态"), ProposalStatus.choices()),
                         default="")
    category = SelectField(_l("类别"), choices=any_choice(_l("全部类别"), Category.choices()),
                           default="")
    proposer_kind = SelectField(_l("提案者"),
                                choices=any_choice(_l("全部"), ProposerKind.choices()),
                                default="")
    department = SelectField(_l("承办单位"), coerce=optional_int, validate_choice=False)
    key = BooleanField(_l("只看重点提案"))
    overdue = BooleanField(_l("只看逾期未办复"))

    def valid(self, name: str) -> Any:
        field = self[name]
        return None if field.errors or field.data in ("", None) else field.data


class ProposalForm(EditForm):
    """A proposal's own text, its proposers and its evidence (new and edit)."""

    title = StringField(_l("标题"), validators=[Needed()], render_kw={"maxlength": TITLE_LENGTH},
                        description=_l("一句话说清楚建议什么，例如“关于加快老旧小区加装电梯的建议”"))
    reasons = TextAreaField(_l("案由"), validators=[Needed()],
                            description=_l("现状和问题：调研所见、居民反映、数据"))
    suggestions = TextAreaField(_l("建议"), validators=[Needed()],
                                description=_l("具体可行的办法，可分条写"))
    category = SelectField(_l("类别"), choices=select_choices(Category.choices()),
                           validate_choice=False)
    timing = SelectField(_l("提出时间"), choices=select_choices(ProposalTiming.choices()),
                         validate_choice=False)
    year = IntegerField(_l("年度"), validators=[Optional()],
                        description=_l("提案所属的届次年度"))
    proposer_kind = SelectField(_l("提案者类型"), choices=select_choices(ProposerKind.choices()),
                                validate_choice=False)
    lead_member = SelectField(_l("领衔委员"), coerce=optional_int, validate_choice=False)
    co_members = IdListField(_l("联名委员"), coerce=optional_int,
                             description=_l("委员联名提案的其他提案人；可多选"))
    collective_kind = SelectField(_l("提案单位类别"),
                                  choices=any_choice(_l("请选择"), CollectiveKind.choices()),
                                  validate_choice=False)
    collective_name = StringField(_l("提案单位名称"),
                                  render_kw={"maxlength": COLLECTIVE_NAME_LENGTH},
                                  description=_l("例如民建武汉市委员会"))
    issues = IdListField(_l("作为依据的问题"), coerce=optional_int)
    reports = IdListField(_l("作为依据的社情民意信息"), coerce=optional_int)
    submit_now = BooleanField(_l("保存后立即提交"))


class ActionForm(TimelineActionForm):
    """One proposal action (``action_form``): the fields the page asks for (``form_fields``);
    an unticked 重点提案 box is no value."""

    def asked(self, transition: Transition) -> tuple[str, ...]:
        return form_fields(transition)

    def values(self, transition: Transition) -> dict[str, Any]:
        values = super().values(transition)
        if not values.get("is_key", True):
            del values["is_key"]
        return values


# Values the pages never ask for: the operation gives them (references and 案号 in turn).
NOT_ASKED = frozenset({"reference", "number"})

FIELD_TEXT: dict[tuple[str, str], tuple[Any, Any]] = {
    ("accept", "lead_department"): (_l("主办单位"), _l("负责办复的单位")),
    ("accept", "co_departments"): (_l("会办单位（可多选，可不选）"),
                                   _l("协助办理、向主办单位提出会办意见的单位")),
    ("accept", "due_on"): (_l("办理期限"), _l("不填则为立案之日起三个月")),
    ("accept", "category"): (_l("类别"), None),
    ("accept", "is_key"): (_l("列为重点提案"), _l("由市政协领导督办，逾期前重点提醒")),
    ("not_accept", "reason"): (_l("不予立案的理由"), _l("提案转为意见建议，提案者看到这段说明")),
    ("not_accept", "letter_department"): (
        _l("转送单位（可不选）"), _l("意见建议转送该单位参考，无需答复；不选则由政协留存")),
    ("reply", "outcome"): (_l("办复结果"), None),
    ("reply", "reply"): (_l("办复内容"), _l("公开发布，提案者据此评价；请写明采取的措施和时间")),
    ("rate", "rating"): (_l("对办复的评价"), None),
    ("rate", "rating_note"): (_l("意见（不满意的必填）"), _l("不满意的，提案退回主办单位重新办理")),
    ("co_opinion", "opinion"): (_l("会办意见"), _l("送主办单位，办复时一并考虑")),
    ("reassign", "lead_department"): (_l("新的主办单位"), None),
    ("reassign", "reason"): (_l("调整理由"), None),
}


def form_fields(transition: Transition) -> tuple[str, ...]:
    return tuple(name for name in (*transition.requires, *transition.optional)
                 if name not in NOT_ASKED)


def _field(action: str, name: str, required: bool) -> Any:
    label, help_text = FIELD_TEXT.get((action, name), (FIELD_LABELS.get(name, name), None))
    common: dict[str, Any] = {"id": f"{action}-{name}", "description": help_text or ""}
    marks = [Needed()] if required else []
    if name in ("lead_department", "letter_department"):
        return SelectField(label, coerce=optional_int, validate_choice=False, validators=marks,
                           **common)
    if name == "co_departments":
        return IdListField(label, coerce=optional_int, validators=marks, **common)
    if name == "outcome":
        return RadioField(label, choices=select_choices(
            [(o.value, f"{o.letter} {o.label}") for o in ProposalOutcome]),
            validate_choice=False, validators=marks, **common)
    if name == "rating":
        return RadioField(label, choices=select_choices(Satisfaction.choices()),
                          validate_choice=False, validators=marks, **common)
    if name == "category":
        return SelectField(label, choices=any_choice(_l("不变"), Category.choices()),
                           validate_choice=False, validators=marks, **common)
    if name == "due_on":
        return DateField(label, validators=[Optional(), *marks], **common)
    if name == "is_key":
        return BooleanField(label, **common)
    return TextAreaField(label, validators=marks, **common)


# The form of one lifecycle action: exactly the fields its transition names.
action_form = action_forms(TRANSITIONS, ActionForm, _field, form_fields)
