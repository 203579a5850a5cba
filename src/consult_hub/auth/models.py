from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base, LabelledEnum, TimestampMixin, UTCDateTime, enum_column, utcnow
from consult_hub.core.i18n import lazy_gettext as _l


class Role(LabelledEnum):
    ADMIN = "admin", _l("市政协工作人员")
    DISTRICT_ADMIN = "district_admin", _l("区政协工作人员")
    COORDINATOR = "coordinator", _l("平台联络员")
    # A department's contact (承办单位联系人): acts on the problems assigned to that department.
    DEPARTMENT = "department", _l("承办单位联系人")
    # A CPPCC member (政协委员) with an account: their own proposals and opinion reports.
    MEMBER = "member", _l("政协委员")


# City and district staff: the roles that manage records beyond their own platforms.
OFFICE_ROLES = (Role.ADMIN, Role.DISTRICT_ADMIN)


class User(UserMixin, TimestampMixin, Base):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role != 'district_admin' OR district_id IS NOT NULL",
            name="district_admin_has_district",
        ),
        sa.CheckConstraint(
            "role != 'department' OR department_id IS NOT NULL",
            name="department_user_has_department",
        ),
        sa.CheckConstraint(
            "role != 'member' OR member_id IS NOT NULL",
            name="member_user_has_member",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    email: Mapped[str | None] = mapped_column(sa.String(254))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "role"))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    # For the department role: the department (承办单位) whose problems the user handles.
    department_id: Mapped[int | None] = mapped_column(sa.ForeignKey("departments.id"),
                                                      index=True)
    # For the member role: the Member record (政协委员) the account belongs to.
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True,
                                                  unique=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    locale: Mapped[str] = mapped_column(sa.String(10), default="zh", server_default="zh")
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Changing it signs the user out everywhere (password reset, deactivation).
    session_token: Mapped[str] = mapped_column(sa.String(64))
    # Set when someone else chose the password (create, reset): changed at the next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    district = relationship("Area")
    department = relationship("Department")
    member = relationship("Member")
    platforms = relationship(
        "Platform", secondary="platform_coordinators", back_populates="coordinators",
        order_by="Platform.name",
    )
    api_tokens: Mapped[list[ApiToken]] = relationship(back_populates="user")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A bearer token for the JSON API; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    prefix: Mapped[str] = mapped_column(sa.String(12))  # shown in the UI to tell tokens apart
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="api_tokens")
