"""Staff pages for CPPCC members (政协委员)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("members", __name__, url_prefix="/manage/members")
