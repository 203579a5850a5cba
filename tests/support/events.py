"""Event helpers shared by the event test modules: a planning form, a platform's coordinator."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from tests.support.access_events import local_input


def plan_data(start: datetime, **changes: Any) -> dict[str, Any]:
    values = {"topic": "社区停车位规划", "category": "society", "starts_at": local_input(start),
              "ends_at": local_input(start + timedelta(hours=2)), "location": "",
              "format": "hybrid", "agenda": "1. 介绍情况\n2. 讨论"}
    values.update(changes)
    return values


def coordinator_of(make, platform_id: int, **kwargs: Any):
    return make("user", role="coordinator", platform_ids=[platform_id], **kwargs)
