"""The issue tests' fixture: a district with a platform, its people and departments."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.issues import Place


@pytest.fixture()
def place(make: Any) -> Place:
    district = make("district", name="江岸区")
    other = make("district", name="武昌区")
    platform = make("platform", district_id=district.id, name="百步亭社区协商议事室")
    other_platform = make("platform", district_id=other.id, name="武昌某议事室")
    department = make("department", name="市水务局")
    make("department", name="江岸区城管局", district_id=district.id)
    make("department", name="停用的局", is_active=False)
    other_department = make("department", name="武昌区城管局", district_id=other.id)
    make("user", role="district_admin", district_id=district.id, username="wangli", name="王丽")
    make("user", role="coordinator", platform_ids=[platform.id], username="zhanghui",
         name="张慧")
    make("user", role="coordinator", platform_ids=[other_platform.id], username="lisi",
         name="李四")
    make("user", role="admin", username="liumin", name="刘敏")
    return Place(district.id, platform.id, other_platform.id, department.id, other_department.id)
