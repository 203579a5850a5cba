"""Staff pages for their own API tokens: create (shown once), list, revoke.

A separate blueprint from ``api``: these are cookie-authenticated forms, so CSRF stays on.
Every signed-in role has them, a department's contact (承办单位联系人) included: a
department's own case system may acknowledge and answer its problems through the API. A token
carries its owner's rights and no more, so a department's token is refused everything else.
"""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms import StringField

from consult_hub.auth.decorators import staff_required
from consult_hub.auth.models import ApiToken
from consult_hub.auth.tokens import NAME_LENGTH, issue_token, revoke_token, token_lines
from consult_hub.core.forms import BaseForm
from consult_hub.core.i18n import gettext as _
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.saving import save
from consult_hub.extensions import db

bp = Blueprint("tokens", __name__, url_prefix="/manage/tokens")


class TokenForm(BaseForm):
    name = StringField(_l("名称"), render_kw={"maxlength": NAME_LENGTH},
                       description=_l("写明用在哪里，例如“区网格系统对接”，以后便于辨认和吊销"))


def _index(form: TokenForm, status: int = 200):
    return render_template("tokens/index.html", form=form, tokens=token_lines(current_user),
                           token_days=current_app.config["API_TOKEN_DAYS"]), status


@bp.route("/")
@staff_required
def index():
    return _index(TokenForm(formdata=None))


@bp.route("/", methods=["POST"])
@staff_required
def create():
    form = TokenForm()
    if not form.validate_on_submit():
        return _index(form, 422)
    saved = save(form, lambda: issue_token(current_user, form.name.data or ""), rest=form.name)
    if not saved:
        return _index(form, saved.status)
    row, token = saved.value
    # The one and only time the token is shown: rendered here, never stored or redirected to.
    return render_template("tokens/created.html", row=row, token=token), 201


@bp.route("/<int:token_id>/revoke", methods=["POST"])
@staff_required
def revoke(token_id: int):
    row = db.session.get(ApiToken, token_id)
    if row is None or row.user_id != current_user.id:
        abort(404)  # someone else's token: do not confirm it exists
    revoke_token(row, actor_id=current_user.id)
    db.session.commit()
    flash(_("令牌“%(name)s”已吊销，使用它的系统将无法再写入。", name=row.name), "success")
    return redirect(url_for("tokens.index"), 303)
