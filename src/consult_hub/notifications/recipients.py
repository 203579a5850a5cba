"""Who hears about what: a platform's coordinators, a district's staff, a department's
contacts; links for messages."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from werkzeug.routing import BuildError

from consult_hub.auth.models import Role, User
from consult_hub.core.links import external_url
from consult_hub.extensions import db
from consult_hub.platforms.models import platform_coordinators


def link(endpoint: str, fallback: tuple[str, dict] | None = None, **values: object) -> str | None:
    """An absolute link to a page, or to ``fallback`` while that page does not exist yet."""
    for name, args in ((endpoint, values), fallback or (None, {})):
        if name is None:
            continue
        try:
            return external_url(name, **args)
        except BuildError:
            continue
    return None


# Ids per IN list: a nation's sweep asks about 117,000 platforms at once, past PostgreSQL's
# 65,535 parameters per statement.
CHUNK = 5000


def _chunks(values: Iterable[int]) -> Iterator[list[int]]:
    ids = sorted(set(values))
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def coordinators_by_platform(platform_ids: Iterable[int]) -> dict[int, list[User]]:
    found: dict[int, list[User]] = defaultdict(list)
    for ids in _chunks(platform_ids):
        rows = db.session.execute(
            sa.select(platform_coordinators.c.platform_id, User)
            .join(User, User.id == platform_coordinators.c.user_id)
            .where(platform_coordinators.c.platform_id.in_(ids), User.is_active.is_(True))
        )
        for platform_id, user in rows:
            found[platform_id].append(user)
    return found


def _active_by(role: Role, key: sa.orm.InstrumentedAttribute[int | None],
               ids: Iterable[int]) -> dict[int, list[User]]:
    """The active users of ``role`` whose ``key`` column is one of ``ids``, by that value."""
    found: dict[int, list[User]] = defaultdict(list)
    for chunk in _chunks(ids):
        for user in db.session.scalars(sa.select(User).where(
                User.role == role, key.in_(chunk), User.is_active.is_(True))):
            found[getattr(user, key.key)].append(user)
    return found


def district_staff(district_ids: Iterable[int]) -> dict[int, list[User]]:
    return _active_by(Role.DISTRICT_ADMIN, User.district_id, district_ids)


def department_contacts(department_ids: Iterable[int]) -> dict[int, list[User]]:
    """The active contacts (承办单位联系人) of each department."""
    return _active_by(Role.DEPARTMENT, User.department_id, department_ids)


def city_staff() -> list[User]:
    """The active city staff (市政协, the admin role): they oversee the districts."""
    return list(db.session.scalars(sa.select(User).where(
        User.role == Role.ADMIN, User.is_active.is_(True)).order_by(User.id)))
