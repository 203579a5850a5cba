"""Staff pages for platforms."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from consult_hub.auth.decorators import staff_required
from consult_hub.auth.scopes import require_platform
from consult_hub.core.db import utcnow
from consult_hub.core.timefmt import local_today
from consult_hub.platforms import queries

bp = Blueprint("platforms", __name__, url_prefix="/manage/platforms")


@bp.route("/<int:platform_id>")
@staff_required
def detail(platform_id: int):  # type: ignore[no-untyped-def]
    platform = queries.platform_with_people(platform_id)
    if platform is None:
        abort(404)
    require_platform(platform)
    now = utcnow()
    return render_template(
        "platforms/detail.html",
        platform=platform,
        upcoming=queries.upcoming_events(platform.id, now),
        recent=queries.recent_events(platform.id, now),
        open_issues=queries.open_issues(platform.id),
        today=local_today(now),
    )
