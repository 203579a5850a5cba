"""The account forms of the users page: auth's account fields, the department (承办单位)
a department's contact works for, and the member (政协委员) a member's account belongs to."""

from __future__ import annotations

from wtforms import SelectField

from consult_hub.auth.forms import AccountForm, NewAccountForm
from consult_hub.core.forms import optional_int
from consult_hub.core.i18n import lazy_gettext as _l

DEPARTMENT_FIELD = SelectField(_l("承办单位"), coerce=optional_int, validate_choice=False,
                               description=_l("承办单位联系人必填：只能看到和办理交办给这个单位的问题"))

MEMBER_FIELD = SelectField(_l("委员"), coerce=optional_int, validate_choice=False,
                           description=_l("政协委员账号必填：每位委员一个账号，"
                                          "可以看到自己的提案、社情民意信息和下沉的平台"))


class DepartmentAccountForm(AccountForm):
    department = DEPARTMENT_FIELD
    member = MEMBER_FIELD


class NewDepartmentAccountForm(NewAccountForm):
    department = DEPARTMENT_FIELD
    member = MEMBER_FIELD
