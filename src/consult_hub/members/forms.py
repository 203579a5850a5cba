"""The member form, and the CPPCC's sectors (界别) offered while typing one."""

from __future__ import annotations

from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from consult_hub.core.forms import REQUIRED, BaseForm, optional_int, select_choices
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.members.models import MemberLevel

# The usual 界别 of a city CPPCC; a member's sector may be any other text too.
COMMON_SECTORS = (
    "中国共产党", "民革", "民盟", "民建", "民进", "农工党", "致公党", "九三学社", "台盟",
    "无党派人士", "共青团", "工会", "妇联", "青联", "工商联", "科协", "侨联", "文化艺术界",
    "科学技术界", "社会科学界", "经济界", "农业界", "教育界", "体育界", "新闻出版界",
    "医药卫生界", "社会福利和社会保障界", "少数民族界", "宗教界", "特邀人士",
)


class MemberForm(BaseForm):
    name = StringField(_l("姓名"), validators=[DataRequired(REQUIRED), Length(max=64)])
    sector = StringField(_l("界别"), validators=[DataRequired(REQUIRED), Length(max=64)],
                         description=_l("可从列表中选择，也可直接填写"))
    level = SelectField(_l("委员级别"), choices=select_choices(MemberLevel.choices()))
    district = SelectField(_l("联系的区"), coerce=optional_int,
                           description=_l("区政协委员必填；市政协委员填其下沉联系的区"))
    code = StringField(_l("委员编号"), validators=[Optional(), Length(max=32)],
                       description=_l("可不填；填写时全市唯一"))
