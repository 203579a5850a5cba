"""Staff pages for residents' problems."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("issues", __name__, url_prefix="/manage/issues")
