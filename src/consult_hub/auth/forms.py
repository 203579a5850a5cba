from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    PasswordField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from consult_hub.auth.models import Role
from consult_hub.auth.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from consult_hub.core.forms import REQUIRED, BaseForm, optional_int, select_choices, to_id
from consult_hub.core.i18n import lazy_gettext as _l


class LoginForm(BaseForm):
    username = StringField(_l("用户名"),
                           validators=[DataRequired(_l("请输入用户名")), Length(max=64)])
    password = PasswordField(_l("密码"),
                             validators=[DataRequired(_l("请输入密码")), Length(max=256)])
    remember = BooleanField(_l("在这台设备上保持登录"))


PASSWORD_RULES = [
    DataRequired(REQUIRED),
    Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH,
           message=_l("密码至少 %(n)s 位", n=MIN_PASSWORD_LENGTH)),
]
# What the policy (passwords.password_problem) asks, said once for every new-password field.
POLICY_HINT = _l("至少 %(n)s 位，不能包含用户名，不能是常见密码", n=MIN_PASSWORD_LENGTH)
CONFIRM_RULES = [DataRequired(REQUIRED), EqualTo("password", message=_l("两次输入的密码不一致"))]


class AccountForm(BaseForm):
    """Who the account belongs to and what it may do."""

    name = StringField(_l("姓名"), validators=[DataRequired(REQUIRED), Length(max=64)])
    email = EmailField(_l("电子邮箱"), validators=[Optional(), Length(max=254)],
                       description=_l("用于接收提醒，可不填"))
    role = SelectField(_l("角色"), choices=select_choices(Role.choices()))
    district = SelectField(_l("所属区"), coerce=optional_int, validate_choice=True,
                           description=_l("区政协工作人员必填"))
    platforms = SelectMultipleField(_l("关联平台"), coerce=to_id, validate_choice=False,
                                    description=_l("平台联络员必填：搜索平台，勾选后保存"))
    platform_q = StringField(_l("按名称、编号或地址搜索平台"), validators=[Length(max=100)])


class NewAccountForm(AccountForm):
    username = StringField(_l("用户名"), validators=[DataRequired(REQUIRED), Length(max=64)],
                           description=_l("登录时使用，创建后不能修改"))
    password = PasswordField(_l("初始密码"), validators=PASSWORD_RULES,
                             description=_l("%(policy)s；请当面或电话告知本人，"
                                            "本人首次登录时须改为自己的密码",
                                            policy=POLICY_HINT))
    confirm = PasswordField(_l("再次输入密码"), validators=CONFIRM_RULES)


class PasswordResetForm(BaseForm):
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULES,
                             description=_l("%(policy)s；保存后该用户在所有设备上退出登录，"
                                            "其 API 令牌全部吊销，下次登录时须改为自己的密码",
                                            policy=POLICY_HINT))
    confirm = PasswordField(_l("再次输入新密码"), validators=CONFIRM_RULES)


class OwnPasswordForm(BaseForm):
    """The owner changes their own password: the current one proves it is them."""

    current = PasswordField(_l("当前密码"), validators=[DataRequired(REQUIRED),
                                                     Length(max=MAX_PASSWORD_LENGTH)])
    password = PasswordField(_l("新密码"), validators=PASSWORD_RULES,
                             description=_l("%(policy)s；保存后其他设备上的登录和您的 API 令牌"
                                            "全部失效", policy=POLICY_HINT))
    confirm = PasswordField(_l("再次输入新密码"), validators=CONFIRM_RULES)
