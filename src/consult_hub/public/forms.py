"""Forms residents fill in: a problem, a tracking look-up, a rating."""

from __future__ import annotations

import re
import unicodedata

from wtforms import (
    BooleanField,
    MultipleFileField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, InputRequired, Length, Optional, ValidationError

from consult_hub.core.forms import BaseForm, optional_int, select_choices
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.models import Satisfaction
from consult_hub.issues.operations import TITLE_LENGTH, normalise_phone


class SubmitForm(BaseForm):
    """A resident's problem in their own words, for one platform; name and phone stay private.

    No programme terms: the resident says what and where (and may pick an everyday subject);
    staff give the kind and category when they review it.
    """

    platform = SelectField(_l("在哪里"), coerce=optional_int, validate_choice=False,
                           validators=[InputRequired(_l("请选择问题所在的地方"))],
                           description=_l("选择离问题最近的社区或平台，问题会交给它受理。"))
    subject = RadioField(_l("是哪方面的问题？（选填）"), validate_choice=False,
                         validators=[Optional()])
    title = StringField(_l("标题"), validators=[DataRequired(_l("请填写标题")),
                                               Length(max=TITLE_LENGTH,
                                                      message=_l("标题不超过 200 个字"))],
                        description=_l("一句话说清楚问题，例如“小区东门路灯坏了”。"))
    description = TextAreaField(
        _l("问题描述"),
        validators=[DataRequired(_l("请填写问题描述")),
                    Length(max=5000, message=_l("问题描述不超过 5000 个字"))],
        description=_l("在哪里、什么情况、持续多久。工作人员受理后，问题以整理后的标题和摘要公开，"
                      "请尽量不写姓名、电话等个人信息。"))
    photos = MultipleFileField(
        _l("照片（选填，最多 3 张）"),
        description=_l("JPEG、PNG 或 WebP，每张不超过 8 MB。拍摄位置等信息会被去除；"
                      "照片在问题受理并公开后才会公开。"))
    name = StringField(_l("姓名（选填）"), validators=[Optional(), Length(max=64)])
    phone = StringField(_l("联系电话（选填）"), validators=[Optional(), Length(max=32)],
                        description=_l("留下电话，可以用受理编号加电话后四位查询进度。"))
    sms = BooleanField(_l("每有新进展，给我发短信（需要手机号）"),
                       description=_l("短信只发给这个手机号，内容是进展和查询链接。"))
    # Consent to the privacy notice (个人信息保护说明, /privacy); the version agreed to is stored.
    consent = BooleanField(_l("我已阅读并同意《个人信息保护说明》"),
                           validators=[DataRequired(_l("请阅读并同意个人信息保护说明后再提交"))])
    # A trap for robots: people never see it (hidden by CSS), so anything typed here is not theirs.
    website = StringField(_l("网址（请留空）"))

    def validate_phone(self, field: StringField) -> None:
        if field.data and normalise_phone(field.data) is None:
            raise ValidationError(_l("请填写有效的手机号（11 位）或带区号的固定电话"))

    def validate_sms(self, field: BooleanField) -> None:
        if field.data:
            phone = normalise_phone(self.phone.data) if self.phone.data else None
            if phone is None or "-" in phone:
                raise ValidationError(_l("要接收短信通知，请在上面填写手机号"))


class TrackForm(BaseForm):
    """Find one's problem by its receipt code and the last four digits of the phone left with it."""

    reference = StringField(_l("受理编号"), validators=[DataRequired(_l("请填写受理编号")),
                                                     Length(max=32)],
                            description=_l("提交后页面上显示的编号，例如 WH24-00123"))
    digits = StringField(_l("联系电话后四位"), validators=[DataRequired(_l("请填写电话后四位")),
                                                      Length(max=8)])

    def validate_digits(self, field: StringField) -> None:
        if not re.fullmatch(r"\d{4}", unicodedata.normalize("NFKC", field.data or "").strip()):
            raise ValidationError(_l("请填写 4 位数字"))


class RateForm(BaseForm):
    """The resident's one rating of the outcome; the comment is for staff only."""

    satisfaction = RadioField(_l("您对办理结果是否满意？"),
                              choices=select_choices(Satisfaction.choices()),
                              validators=[InputRequired(_l("请选择一项"))])
    comment = TextAreaField(_l("意见或建议（选填）"),
                            validators=[Optional(),
                                        Length(max=1000, message=_l("不超过 1000 个字"))],
                            description=_l("只有工作人员能看到，不会公开。"))
