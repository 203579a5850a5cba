"""City staff's pages for the API keys of integrating systems: issue (shown once), list,
revoke.

City staff only: a key lifts the residents' submission limit for the whole site and may post
to any platform of any district, so it is not one district's to give; districts ask the city
for a key for their own systems (docs/open311.md). Every issue and revoke is audited.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import StringField

from consult_hub.apikeys.models import ApiKey
from consult_hub.apikeys.operations import (
    LIMIT_LENGTH,
    NAME_LENGTH,
    SYSTEM_LENGTH,
    all_keys,
    issue_key,
    revoke_key,
)
from consult_hub.auth.decorators import roles_required
from consult_hub.auth.models import Role
from consult_hub.core.forms import BaseForm
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.saving import save
from consult_hub.extensions import db

bp = Blueprint("apikeys", __name__, url_prefix="/manage/api-keys")
city_staff_required = roles_required(Role.ADMIN)


class ApiKeyForm(BaseForm):
    name = StringField(_l("名称"), render_kw={"maxlength": NAME_LENGTH},
                       description=_l("便于辨认，例如“12345 热线”"))
    system = StringField(_l("使用的系统"), render_kw={"maxlength": SYSTEM_LENGTH},
                         description=_l("哪个系统用它提交问题，由哪个单位负责，出了问题找谁"))
    rate_limit = StringField(_l("提交频率上限"), render_kw={"maxlength": LIMIT_LENGTH},
                             description=_l("例如 600 per hour；不填则用默认值"))


def _index(form: ApiKeyForm, status: int = 200):
    return render_template("apikeys/index.html", form=form, keys=all_keys(),
                           default_limit=current_app.config["OPEN311_KEY_RATE_LIMIT"]), status


@bp.route("/")
@city_staff_required
def index():
    return _index(ApiKeyForm(formdata=None))


@bp.route("/", methods=["POST"])
@city_staff_required
def create():
    form = ApiKeyForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    saved = save(form, lambda: issue_key(
        name=form.name.data or "", system=form.system.data or "",
        rate_limit=form.rate_limit.data or "", actor_id=current_user.id))
    if not saved:
        return _index(form, saved.status or 422)
    row, key = saved.value
    # The one and only time the key is shown: rendered here, never stored or redirected to.
    return render_template("apikeys/created.html", row=row, key=key), 201


@bp.route("/<int:key_id>/revoke", methods=["POST"])
@city_staff_required
def revoke(key_id: int):
    row = db.session.get(ApiKey, key_id)
    if row is None:
        abort(404)
    if revoke_key(row, actor_id=current_user.id):
        db.session.commit()
    flash(_("API 密钥“%(name)s”已吊销，%(system)s 用它提交将被拒绝。", name=row.name,
            system=row.system), "success")
    return redirect(url_for("apikeys.index"), 303)
