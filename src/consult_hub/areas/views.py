"""Staff pages for districts, streets and communities."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("areas", __name__, url_prefix="/manage/areas")
