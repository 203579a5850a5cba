"""The upload form for imports."""

from __future__ import annotations

from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, RadioField
from wtforms.validators import InputRequired

from consult_hub.auth.forms import select_choices
from consult_hub.core.forms import BaseForm
from consult_hub.core.i18n import lazy_gettext as _l

KIND_CHOICES = [("platforms", _l("平台")), ("members", _l("委员")), ("events", _l("活动")),
                ("issues", _l("问题"))]


class ImportForm(BaseForm):
    """A spreadsheet of one kind of record, checked in full before anything is written."""

    kind = RadioField(_l("导入什么"), choices=select_choices(KIND_CHOICES),
                      validators=[InputRequired(_l("请选择要导入的内容"))])
    file = FileField(_l("文件"), validators=[
        FileRequired(_l("请选择一个 .csv 或 .xlsx 文件")),
        FileAllowed(["csv", "xlsx"], _l("只能导入 .csv 或 .xlsx 文件")),
    ], description=_l("第一行是列名（见模板）。CSV 可用 UTF-8 或 GB18030 编码。"))
    dry_run = BooleanField(_l("只检查，不写入"),
                           description=_l("先检查一遍：报告会新增、更新多少条，但不保存任何数据。"))
