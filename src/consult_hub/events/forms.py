"""Forms of the staff event pages."""

from __future__ import annotations

from typing import Any

from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    Form,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from consult_hub.core.categories import Category
from consult_hub.core.db import max_length
from consult_hub.core.forms import (
    REQUIRED,
    BaseForm,
    BoundedDateField,
    CleanFields,
    EditForm,
    LocalDateTimeField,
    select_choices,
    to_id,
)
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.events.models import (
    Event,
    EventAttendance,
    EventFormat,
    EventPhoto,
    EventStatus,
)

# The fields an edit form carries and compares on a conflict.
EDIT_FIELDS = ["topic", "category", "starts_at", "ends_at", "location", "format", "attendance",
               "attendance_note", "agenda"]


def _blank(choices: list[tuple[str, str]]) -> list[SelectChoice]:
    return select_choices([("", _l("请选择")), *choices])


class EventFields:
    """What a coordinator enters when planning an event (shared by plan and edit)."""

    topic = StringField(_l("议题"),
                        validators=[DataRequired(REQUIRED), Length(max=max_length(Event.topic))])
    category = SelectField(_l("类别"), choices=_blank(Category.choices()),
                           validators=[DataRequired(_l("请选择类别"))])
    starts_at = LocalDateTimeField(_l("开始时间"), validators=[InputRequired(REQUIRED)])
    ends_at = LocalDateTimeField(_l("结束时间"), validators=[InputRequired(REQUIRED)])
    location = StringField(_l("地点"),
                           validators=[Optional(), Length(max=max_length(Event.location))],
                           description=_l("留空则使用平台地址"))
    format = SelectField(_l("形式"), choices=select_choices(EventFormat.choices()),
                         default=EventFormat.ONSITE.value)
    # Blank means "not stated": the public page then says nothing rather than guess.
    attendance = SelectField(_l("居民能否参加"),
                             choices=select_choices([("", _l("暂不说明")),
                                                     *EventAttendance.choices()]),
                             default="")
    attendance_note = StringField(
        _l("参加方式"),
        validators=[Optional(), Length(max=max_length(Event.attendance_note))],
        description=_l("如“直接到社区居委会会议室”“到社区居委会报名”或平台的公开电话；"
                       "会在公开页面和日历中显示，请勿填写个人手机号"))
    agenda = TextAreaField(_l("议程"), validators=[Optional(), Length(max=20000)],
                           description=_l("可使用 Markdown：空行分段，“- ”开头为列表"))


class PlanForm(EventFields, BaseForm):
    is_past = BooleanField(_l("补录已经举行的活动（开始时间可早于现在，保存后填写纪要）"))


class EditEventForm(EventFields, EditForm):
    pass


class CheckboxListField(SelectMultipleField):
    """Several choices as a list of check boxes; membership is checked by the operation."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()

    def pre_validate(self, form: Any) -> None:
        pass  # an attendee outside the platform gets a clearer message from record_held


class CountField(IntegerField):
    """A head count: a whole number, with a message people understand when it is not one."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        if not valuelist or not str(valuelist[0]).strip():
            self.data = None  # InputRequired says what is missing
            return
        try:
            super().process_formdata([str(valuelist[0]).strip()])
        except ValueError:
            self.data = None
            raise ValueError(_l("请填写 0 或正整数")) from None


class RecordFields:
    """The event's own part of the record page: when it was held, minutes and attendance.

    The page's form, with the problems raised at the event, is ``issues/forms.py``'s
    ``RecordForm``.
    """

    starts_at = LocalDateTimeField(_l("实际开始时间"), validators=[InputRequired(REQUIRED)])
    ends_at = LocalDateTimeField(_l("实际结束时间"), validators=[InputRequired(REQUIRED)])
    minutes = TextAreaField(_l("纪要"), validators=[DataRequired(_l("请填写纪要")),
                                                   Length(max=50000)],
                            description=_l("可使用 Markdown：空行分段，“- ”开头为列表"))
    attendees = CheckboxListField(_l("参加的政协委员"), coerce=to_id)
    resident_count = CountField(
        _l("居民代表人数"), default=0,
        validators=[InputRequired(_l("请填写人数（没有填 0）")),
                    NumberRange(min=0, max=100000, message=_l("请填写 0 或正整数"))])
    department_count = CountField(
        _l("职能部门数"), default=0,
        validators=[InputRequired(_l("请填写数量（没有填 0）")),
                    NumberRange(min=0, max=1000, message=_l("请填写 0 或正整数"))])
    expert_count = CountField(
        _l("专家人数"), default=0,
        validators=[InputRequired(_l("请填写人数（没有填 0）")),
                    NumberRange(min=0, max=1000, message=_l("请填写 0 或正整数"))])
    opinions = TextAreaField(_l("协商意见"), validators=[Optional(), Length(max=50000)])


class ConcludeForm(BaseForm):
    outcome = TextAreaField(_l("成果转化"), validators=[DataRequired(_l("请填写成果转化情况")),
                                                      Length(max=50000)],
                            description=_l("协商成果如何落实、反馈给居民；会在公开页面展示"))


class CancelForm(BaseForm):
    cancel_reason = TextAreaField(_l("取消原因"), validators=[DataRequired(_l("请填写取消原因")),
                                                             Length(max=2000)])


class PhotoForm(BaseForm):
    photo = FileField(_l("照片"), description=_l("JPEG、PNG 或 WebP；位置等拍摄信息会被去除"))
    caption = StringField(_l("说明"),
                          validators=[Optional(), Length(max=max_length(EventPhoto.caption))],
                          description=_l("公开页面显示这段说明，请勿写居民姓名"))


class ActionForm(BaseForm):
    """A confirmation that posts (delete a photo): CSRF only."""


class FilterForm(CleanFields, Form):
    """The list filters, read from the query string."""

    q = StringField(_l("关键词"), validators=[Optional(), Length(max=100)],
                    description=_l("议题或平台名称"))
    status = SelectField(_l("状态"),
                         choices=select_choices([("", _l("全部")), *EventStatus.choices()]),
                         default="")
    platform = SelectField(_l("平台"), choices=select_choices([("", _l("全部"))]), default="",
                           validate_choice=False)
    category = SelectField(_l("类别"),
                           choices=select_choices([("", _l("全部")), *Category.choices()]),
                           default="")
    date_from = BoundedDateField(_l("开始日期"), validators=[Optional()])
    date_to = BoundedDateField(_l("结束日期"), validators=[Optional()])
    missing = BooleanField(_l("只看待补纪要（已结束仍为计划中）"))
