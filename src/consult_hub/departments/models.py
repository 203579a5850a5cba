from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.db import Base


class Department(Base):
    """An office a problem is assigned to (承办单位); city-level when it has no district."""

    __tablename__ = "departments"
    __table_args__ = (
        sa.UniqueConstraint("district_id", "name"),
        # NULLs never collide in a unique constraint, so city-level names need their own index.
        sa.Index("uq_departments_city_name", "name", unique=True,
                 sqlite_where=sa.text("district_id IS NULL"),
                 postgresql_where=sa.text("district_id IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    district_id: Mapped[int | None] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    district = relationship("Area")
