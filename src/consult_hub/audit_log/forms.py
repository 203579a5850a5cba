"""The audit log's filters, read from the query string."""

from __future__ import annotations

from typing import Any

from wtforms import DateField, IntegerField, SelectField, StringField
from wtforms.validators import Length, Optional, ValidationError

from consult_hub.core.db import Base
from consult_hub.core.forms import MAX_ID, BaseForm, BoundedDateField
from consult_hub.core.i18n import lazy_gettext as _l

# What an audit row is about, by table name; other tables show their name.
ENTITY_LABELS = {
    "platforms": _l("平台"),
    "events": _l("活动"),
    "event_photos": _l("活动照片"),
    "issues": _l("问题"),
    "users": _l("用户"),
    "areas": _l("区域"),
    "departments": _l("承办单位"),
    "members": _l("委员"),
    "notifications": _l("消息"),
    "monthly_tallies": _l("月度统计"),
    "api_tokens": _l("接口令牌"),
    "routing_rules": _l("交办规则"),
}


def entity_choices() -> list[tuple[str, Any]]:
    """Every table with an ``id`` (what audit rows can point at), labelled where known."""
    tables = sorted(name for name, table in Base.metadata.tables.items() if "id" in table.c)
    known = [name for name in ENTITY_LABELS if name in tables]
    return ([("", _l("全部"))] + [(name, ENTITY_LABELS[name]) for name in known]
            + [(name, name) for name in tables if name not in ENTITY_LABELS])


class AuditFilterForm(BaseForm):
    class Meta:
        csrf = False  # a GET search changes nothing

    actor = StringField(_l("操作人用户名"), validators=[Optional(), Length(max=64)])
    action = StringField(_l("操作"), validators=[Optional(), Length(max=64)])
    entity_type = SelectField(_l("对象类型"), default="")
    entity_id = IntegerField(_l("对象编号"), validators=[Optional()])
    date_from = BoundedDateField(_l("开始日期"), validators=[Optional()])
    date_to = BoundedDateField(_l("结束日期"), validators=[Optional()])
    ip = StringField(_l("IP 地址"), validators=[Optional(), Length(max=45)])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.entity_type.choices = entity_choices()

    def validate_entity_id(self, field: IntegerField) -> None:
        if field.data is None:
            return  # empty, or not a number (WTForms has said so)
        if field.data < 1:
            raise ValidationError(_l("请输入正整数"))
        if field.data > MAX_ID:
            raise ValidationError(_l("没有这么大的对象编号"))
        if not self.entity_type.data:
            raise ValidationError(_l("请同时选择对象类型"))

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError(_l("结束日期不能早于开始日期"))
