"""Flask-Login wiring: load the user from the session cookie."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Flask

from consult_hub.auth.models import User
from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.extensions import db, login_manager


def init_login(app: Flask) -> None:
    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("请先登录")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def load_user(user_id: str) -> User | None:
        raw_id, _sep, token = user_id.partition(":")
        if not raw_id.isdigit() or not token:
            return None
        return db.session.scalar(
            sa.select(User).where(
                User.id == int(raw_id), User.session_token == token, User.is_active.is_(True)
            )
        )
