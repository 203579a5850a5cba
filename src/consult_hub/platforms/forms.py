"""Forms of the staff platform pages: the list filters, the platform itself, status and people."""

from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateField,
    FloatField,
    HiddenField,
    IntegerField,
    SearchField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

from consult_hub.core.forms import REQUIRED, BaseForm, EditForm, select_choices, to_id
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.platforms.models import PlatformKind, PlatformStatus

ANY = ("", _l("全部"))


def _int_or_none(value: Any) -> int | None:
    try:
        return to_id(value)
    except (TypeError, ValueError):
        return None


class PlatformFilterForm(BaseForm):
    """The list's filters, read from the query string (no CSRF: it changes nothing)."""

    class Meta:
        csrf = False

    q = SearchField(_l("名称或地址"), validators=[Optional(), Length(max=100)])
    district_id = SelectField(_l("区"), coerce=_int_or_none, validate_choice=False)
    street_id = SelectField(_l("街道/乡镇"), coerce=_int_or_none, validate_choice=False)
    kind = SelectField(_l("类型"), choices=select_choices([ANY, *PlatformKind.choices()]))
    status = SelectField(_l("状态"), choices=select_choices([ANY, *PlatformStatus.choices()]))
    demonstration = SelectField(_l("示范点"),
                                choices=select_choices([ANY, ("yes", _l("是")), ("no", _l("否"))]))
    demonstration_year = SelectField(_l("示范点年份"), coerce=_int_or_none, validate_choice=False)


class PlatformForm(EditForm):
    """The facts of a platform; the version fields are used only when editing."""

    code = StringField(_l("平台编号"), validators=[DataRequired(REQUIRED), Length(max=32)],
                       description=_l("字母、数字和连字符，全市唯一"))
    name = StringField(_l("平台名称"), validators=[DataRequired(REQUIRED), Length(max=120)])
    kind = SelectField(_l("类型"), choices=select_choices(PlatformKind.choices()),
                       validators=[InputRequired(REQUIRED)])
    district_id = SelectField(_l("所在区"), coerce=_int_or_none, validate_choice=False,
                              validators=[InputRequired(REQUIRED)])
    pick_district = SubmitField(_l("更新街道和社区列表"))
    area_id = SelectField(_l("所在街道或社区"), coerce=_int_or_none, validate_choice=False,
                          validators=[InputRequired(REQUIRED)],
                          description=_l("列表只含所选区的街道和社区"))
    address = StringField(_l("地址"), validators=[DataRequired(REQUIRED), Length(max=200)])
    latitude = FloatField(_l("纬度"), validators=[Optional()],
                          description=_l("可选，如 30.6152"))
    longitude = FloatField(_l("经度"), validators=[Optional()],
                           description=_l("可选，如 114.3051"))
    convener = StringField(_l("召集人"), validators=[Optional(), Length(max=64)])
    established_on = DateField(_l("成立日期"), validators=[InputRequired(REQUIRED)])
    description = TextAreaField(_l("简介"), validators=[Optional(), Length(max=5000)])
    is_demonstration = BooleanField(_l("示范点"))
    demonstration_year = IntegerField(_l("示范点年份"), validators=[Optional()],
                                      description=_l("选为示范点的年份；勾选示范点时必填"))

    def values(self) -> dict[str, Any]:
        """The submitted facts, as keyword arguments of the platform operations."""
        return {name: self[name].data for name in (
            "code", "name", "kind", "district_id", "area_id", "address", "latitude",
            "longitude", "convener", "established_on", "description", "is_demonstration",
            "demonstration_year")}


class StatusForm(BaseForm):
    """Suspend, close or reactivate: a reason always, the code typed again to close."""

    reason = TextAreaField(_l("原因"),
                           validators=[DataRequired(_l("请说明原因")), Length(max=1000)])
    confirm = StringField(_l("确认"), validators=[Optional(), Length(max=32)])
    # The day the change took effect (empty: today); the monthly tallies count from it.
    effective_on = DateField(_l("生效日期"), validators=[Optional()])


class LinkForm(BaseForm):
    """Link one person (coordinator or member) to the platform, by id."""

    person_id = HiddenField(validators=[DataRequired(REQUIRED), Regexp(r"^[0-9]{1,9}$")])


class UnlinkForm(BaseForm):
    """Remove a link; the person comes from the URL, the form only carries the CSRF token."""
