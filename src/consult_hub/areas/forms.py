"""The area form."""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from consult_hub.areas.models import AreaLevel
from consult_hub.core.forms import REQUIRED, BaseForm, optional_int, select_choices
from consult_hub.core.i18n import lazy_gettext as _l


class AreaForm(BaseForm):
    code = StringField(_l("区划代码"), validators=[DataRequired(REQUIRED), Length(max=32)],
                       description=_l("全市唯一，例如 420102 或 420102001"))
    name = StringField(_l("名称"), validators=[DataRequired(REQUIRED), Length(max=64)])
    level = SelectField(_l("级别"), choices=select_choices(AreaLevel.choices()))
    parent = SelectField(_l("上级区域"), coerce=optional_int,
                         description=_l("区没有上级；街道/乡镇的上级是区；社区/村的上级是街道/乡镇"))
