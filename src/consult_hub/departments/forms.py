"""The department form."""

from __future__ import annotations

from typing import Any

from wtforms import HiddenField, IntegerField, SelectField, SelectMultipleField, StringField
from wtforms.validators import DataRequired, InputRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from consult_hub.core.categories import Category
from consult_hub.core.forms import (
    REQUIRED,
    BaseForm,
    EditForm,
    optional_int,
    select_choices,
    to_id,
)
from consult_hub.core.i18n import lazy_gettext as _l


class DepartmentForm(BaseForm):
    code = StringField(_l("单位编号"), validators=[DataRequired(REQUIRED), Length(max=32)],
                       description=_l("全市唯一"))
    name = StringField(_l("单位名称"), validators=[DataRequired(REQUIRED), Length(max=100)],
                       description=_l("同一个区内（或市直单位之间）不能重名"))
    district = SelectField(_l("所属"), coerce=optional_int)


class StreetChecks(SelectMultipleField):
    """The district's streets as check boxes; that each is the district's the operation checks
    (its message names the field), so a tampered id is refused there, not here."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        pass


class DueDaysField(IntegerField):
    """Whole days; the operation checks the range, this field only that it is a number."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None  # the operation's default applies
            return
        try:
            super().process_formdata([str(valuelist[0]).strip()])
        except ValueError:
            self.data = None
            raise ValueError(_l("请填写 1 到 365 之间的整数")) from None


class RoutingRuleForm(EditForm):
    """A routing rule (交办规则): conditions, then the department and its default due days."""

    category = SelectField(_l("议题类别"),
                           choices=select_choices([("", _l("不限")), *Category.choices()]),
                           validate_choice=False,
                           description=_l("类别和关键词至少填一项；都填时两者都要符合"))
    keyword = StringField(
        _l("关键词"), validators=[Length(max=20, message=_l("关键词不超过 20 个字"))],
        description=_l("在问题标题或描述中出现，如“电梯”“路灯”；不超过 20 个字"))
    streets = StreetChecks(_l("限于街道"), coerce=to_id,
                           description=_l("不选表示全区；选了则只用于这些街道的平台反映的问题"))
    department = SelectField(_l("交办给"), coerce=optional_int, validate_choice=False,
                             validators=[InputRequired(REQUIRED)])
    due_days = DueDaysField(_l("办理期限（天）"), default=15,
                            description=_l("从交办当天起算的自然日，1 到 365 天；默认 15 天"))

    def values(self) -> dict[str, Any]:
        """The submitted rule, as keyword arguments of the routing operations."""
        return {"category": self.category.data or None, "keyword": self.keyword.data,
                "street_ids": self.streets.data or [], "department_id": self.department.data,
                "due_days": self.due_days.data}


class RuleDeleteForm(BaseForm):
    """Delete a rule: the version it was seen at travels along (409 when it moved on)."""

    version = HiddenField(default="")


class RuleDistrictForm(BaseForm):
    """City staff pick the district a new rule belongs to (its streets and departments follow)."""

    district = SelectField(_l("所属区"), coerce=optional_int, validate_choice=False)
