"""The audit log, for admins."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request, url_for

from consult_hub.audit.models import AuditLog
from consult_hub.audit_log import queries
from consult_hub.audit_log.forms import ENTITY_LABELS, AuditFilterForm
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import Role
from consult_hub.core import params
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.issues.lifecycle import TRANSITIONS

bp = Blueprint("audit", __name__, url_prefix="/manage/audit")

# Readable names for the actions operations record; an unknown action shows its code alone.
ACTION_LABELS = {
    "access_denied": _l("拒绝访问"),
    "login": _l("登录"),
    "login_failed": _l("登录失败"),
    "login_locked": _l("登录锁定"),
    "logout": _l("退出登录"),
    "user_create": _l("新建用户"),
    "user_update": _l("修改用户"),
    "user_deactivate": _l("停用用户"),
    "user_reactivate": _l("恢复用户"),
    "user_password_reset": _l("重置密码"),
    "user_password_change": _l("本人修改密码"),
    "platform_create": _l("新建平台"),
    "platform_update": _l("修改平台"),
    "platform_suspend": _l("暂停平台"),
    "platform_close": _l("撤销平台"),
    "platform_reactivate": _l("恢复平台"),
    "platform_link_coordinator": _l("添加联络员"),
    "platform_unlink_coordinator": _l("移除联络员"),
    "platform_link_member": _l("添加下沉委员"),
    "platform_unlink_member": _l("移除下沉委员"),
    "event_create": _l("计划活动"),
    "event_update": _l("修改活动"),
    "event_record": _l("记录纪要"),
    "event_conclude": _l("反馈成果"),
    "event_cancel": _l("取消活动"),
    "event_photo_add": _l("上传照片"),
    "event_photo_delete": _l("删除照片"),
    "issue_create": _l("登记问题"),
    "issue_edit": _l("修改问题"),
    "issue_rate": _l("评价"),
    "issue_contact_erased": _l("删除居民联系方式"),
    "routing_rule_create": _l("新建交办规则"),
    "routing_rule_update": _l("修改交办规则"),
    "routing_rule_delete": _l("删除交办规则"),
    "department_create": _l("新建承办单位"),
    "department_update": _l("修改承办单位"),
    "department_deactivate": _l("停用承办单位"),
    "department_reactivate": _l("恢复承办单位"),
    "area_create": _l("新建区域"),
    "area_update": _l("修改区域"),
    "demo_load": _l("载入演示数据"),
    **{f"issue_{t.action}": t.label for t in TRANSITIONS.values()},
}
# Entity pages by table name: (endpoint, its id argument). Linked once the endpoint exists.
ENTITY_PAGES = {
    "platforms": ("platforms.detail", "platform_id"),
    "events": ("events.detail", "event_id"),
    "issues": ("issues.detail", "issue_id"),
}


def entity_url(row: AuditLog) -> str | None:
    """The page of the row's entity, when it has one."""
    page = ENTITY_PAGES.get(row.entity_type or "")
    if page is None or row.entity_id is None or page[0] not in current_app.view_functions:
        return None
    endpoint, argument = page
    return url_for(endpoint, **{argument: row.entity_id})


@bp.route("/")
@roles_required(Role.ADMIN)
def index():
    form = AuditFilterForm(formdata=request.args)
    if request.args and not form.validate():
        return render_template("audit/index.html", form=form, page=None, filtered=True), 422
    filters = queries.AuditFilters(
        actor=(form.actor.data or "").strip(), action=(form.action.data or "").strip(),
        entity_type=form.entity_type.data or "", entity_id=form.entity_id.data,
        date_from=form.date_from.data, date_to=form.date_to.data, ip=(form.ip.data or "").strip(),
    )
    page = queries.audit_page(filters, params.arg_page())
    return render_template(
        "audit/index.html", form=form, page=page, filtered=any(
            value not in ("", None) for value in vars(filters).values()),
        action_labels=ACTION_LABELS, entity_labels=ENTITY_LABELS, entity_url=entity_url,
        changes_of=queries.changes_of,
    )
