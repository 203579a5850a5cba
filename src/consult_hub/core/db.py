"""Declarative base, naming convention and column types shared by every model."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel.speaklater import LazyString
from sqlalchemy.orm import MANYTOONE, DeclarativeBase, Mapped, mapped_column

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def set_columns(record: Any, changes: Mapping[str, Any]) -> None:
    """Set ``record``'s columns as a lifecycle's transition says, and let a many-to-one
    relationship already loaded over a changed column read the new row: set by its id, the
    relationship still held the old one until a refresh (read before the commit, 交办's and
    立案's confirmation named the department the record had before, or none)."""
    for name, value in changes.items():
        setattr(record, name, value)
    state = sa.inspect(record)
    if not state.persistent:
        return  # nothing loaded yet: relationships read the columns when first asked
    mapper = state.mapper
    stale = [relationship.key for relationship in mapper.relationships
             if relationship.direction is MANYTOONE and relationship.key not in state.unloaded
             and any(mapper.get_property_by_column(column).key in changes
                     for column in relationship.local_columns)]
    if stale:
        state.session.expire(record, stale)


def contains_text(column: Any, text: str) -> sa.ColumnElement[bool]:
    """``column`` contains ``text`` (``%`` and ``_`` taken literally), ignoring case.

    Text without letters that have a case (Chinese, digits) matches the same with or without
    folding, so it is compared as it is: ILIKE folds every row on PostgreSQL, which made a
    search of a nation's 300,000 platforms four to five times slower than LIKE.
    """
    if caseless(text):
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def caseless(text: str) -> bool:
    """Whether ``text`` has no letter with a case (Chinese, digits): it matches as it is."""
    return text.lower() == text.upper()


# PostgreSQL-only search helpers the models do not map (migration 0011: the platforms' text
# with its characters doubled, and its index); tests/test_migrations.py checks they are used.
UNCOMPARED = frozenset({("column", "search_pairs"), ("index", "ix_platforms_search_pairs")})


def schema_filter(dialect_name: str) -> Any:
    """Alembic's ``include_object`` for a database of ``dialect_name``: leaves out of the
    comparison what the models create only on other databases (``Index.ddl_if(dialect=…)``,
    e.g. PostgreSQL's trigram index), which Alembic would otherwise report missing."""

    def include(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
        if (type_, name) in UNCOMPARED:
            return False
        only = getattr(obj, "_ddl_if", None)
        return not (only is not None and only.dialect and only.dialect != dialect_name)

    return include


def max_length(attribute: Any) -> int:
    """The length of a String column (``max_length(Issue.title)``): forms, API schemas,
    importers and operations read their limits here, so the column is the one place."""
    length = attribute.property.columns[0].type.length
    assert length is not None, f"{attribute} has no length"
    return int(length)


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """Store aware datetimes as UTC; always return them aware (UTC).

    PostgreSQL keeps them in ``timestamptz``; SQLite has no time zones, so the
    value is written as naive UTC and given its zone back on the way out.
    Naive values are refused: a naive datetime is a bug waiting to happen.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class LabelledEnum(str, enum.Enum):
    """A string enum whose members carry a label for the UI, written in Chinese.

    Members are defined as ``NAME = "value", _l("中文标签")``: ``label`` is that text
    translated into the current locale (Chinese outside a request), ``source_label`` the
    Chinese text itself, for stored text and files that must not depend on who looked.
    """

    _label: Any

    def __new__(cls, value: str, label: Any) -> LabelledEnum:
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj._label = label
        return obj

    def __str__(self) -> str:
        return self.value

    @property
    def label(self) -> str:
        # A lazy label translates through core.i18n's gettext: the request's catalogue, looked
        # up once (0.7 µs a label; a list of 30 platforms reads 60).
        return str(self._label)

    @property
    def source_label(self) -> str:
        if isinstance(self._label, LazyString):
            return str(self._label._args[0])  # the msgid, untranslated
        return str(self._label)

    @classmethod
    def choices(cls) -> list[tuple[str, Any]]:
        """``(value, label)`` pairs, labels lazy: a form class made at import follows the locale."""
        return [(m.value, m._label) for m in cls]


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable enum: VARCHAR plus a named CHECK constraint on both databases."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_cls),
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, nullable=False
    )
