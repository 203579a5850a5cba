"""Staff pages for departments (承办单位)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("departments", __name__, url_prefix="/manage/departments")
