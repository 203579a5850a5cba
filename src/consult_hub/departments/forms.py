"""The department form."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length

from consult_hub.core.forms import REQUIRED, BaseForm, optional_int


class DepartmentForm(BaseForm):
    code = StringField(_l("单位编号"), validators=[DataRequired(REQUIRED), Length(max=32)],
                       description=_l("全市唯一"))
    name = StringField(_l("单位名称"), validators=[DataRequired(REQUIRED), Length(max=100)],
                       description=_l("同一个区内(或市直单位之间)不能重名"))
    district = SelectField(_l("所属"), coerce=optional_int)
