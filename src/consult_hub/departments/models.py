from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from consult_hub.core.categories import Category
from consult_hub.core.db import Base, TimestampMixin, enum_column


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


routing_rule_streets = sa.Table(
    "routing_rule_streets",
    Base.metadata,
    sa.Column("rule_id", sa.ForeignKey("routing_rules.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("street_id", sa.ForeignKey("areas.id"), primary_key=True),
)


class RoutingRule(TimestampMixin, Base):
    """A district's rule for 交办: problems of a category and/or with a keyword in their words,
    optionally only from some streets, go to a department with a default time to handle them.

    The assign form arrives pre-filled from the most specific matching rule; staff confirm it.
    """

    __tablename__ = "routing_rules"
    __table_args__ = (
        sa.CheckConstraint("category IS NOT NULL OR keyword IS NOT NULL",
                           name="rule_has_category_or_keyword"),
        sa.CheckConstraint("due_days BETWEEN 1 AND 365", name="rule_due_days_in_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("areas.id"), index=True)
    category: Mapped[Category | None] = mapped_column(enum_column(Category, "category"))
    # A topic word looked for in the problem's title and description, e.g. 电梯 or 路灯.
    keyword: Mapped[str | None] = mapped_column(sa.String(20))
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("departments.id"), index=True)
    due_days: Mapped[int] = mapped_column(default=15, server_default="15")
    version: Mapped[int] = mapped_column(default=1, server_default="1")

    __mapper_args__ = {"version_id_col": version}

    district = relationship("Area")
    department = relationship("Department")
    streets = relationship("Area", secondary=routing_rule_streets, order_by="Area.name")
