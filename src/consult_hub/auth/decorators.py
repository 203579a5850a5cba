"""Access marks for views: every route is either ``public`` or limited to roles.

A test walks the URL map and fails for any view that carries neither mark, so a
new route cannot ship without a decision about who may use it.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask_login import current_user, login_required

from consult_hub.auth.models import Role
from consult_hub.auth.scopes import require
from consult_hub.core.http import PUBLIC

F = TypeVar("F", bound=Callable[..., Any])
__all__ = ["PUBLIC", "platform_staff_required", "public", "roles_required", "staff_required"]


def public(view: F) -> F:
    """Mark a view as open to anyone, signed in or not."""
    view.access = PUBLIC
    return view


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Require a signed-in, active user with one of ``roles`` (any staff role when none given).

    Anonymous users are sent to the login page; others get 403, which is audited.
    Scope checks on the object itself (whose platform, which district) stay in the view.
    """
    allowed = frozenset(roles or Role)

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            require(current_user.role in allowed,
                    f"role:{'|'.join(sorted(r.value for r in allowed))}")
            return view(*args, **kwargs)

        guarded = login_required(wrapper)
        guarded.access = tuple(sorted(r.value for r in allowed))
        return guarded

    return decorate


# Any signed-in role, a department's contact included (the dashboard, the problems, the inbox,
# one's own account): what each may see there is the scope rules' question.
staff_required = roles_required()
# The roles that work with platforms, their events and the problems raised there; a
# department's contact (承办单位联系人) works only on the problems assigned to it, so pages
# about platforms and events, raising problems and exports are not theirs.
PLATFORM_ROLES = (Role.ADMIN, Role.DISTRICT_ADMIN, Role.COORDINATOR)
platform_staff_required = roles_required(*PLATFORM_ROLES)
