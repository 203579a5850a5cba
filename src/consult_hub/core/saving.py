"""One save path for every form: run the operation, commit once, or say why not.

A view builds its form, hands the write to ``save`` and then either redirects (stored) or
renders the form again with ``saved.status``:

- 422 when the operation refused the input (``ValidationFailed``): each message is on its
  field — a row of a list too (``problems-2-title``) — and the messages no field shows are
  the form's own errors (``saved.leftover``), for the page's summary;
- 409 when someone else saved first: the operation found the version moved on
  (``EditConflict``) or the commit did (``StaleDataError``). For an edit form
  (``edited=(record, fields)``) ``saved.conflict`` says what they changed, in values people
  read, and the form now starts from their version, so saving again on purpose wins.

Operations check the version themselves; this is the only place a form's write is
committed or rolled back, so every page answers a refusal and a conflict the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from wtforms import Field

from consult_hub.core.conflicts import EditConflict, conflict_from_stale, readable
from consult_hub.core.errors import ValidationFailed
from consult_hub.extensions import db

T = TypeVar("T")


def field_named(form: Any, name: str) -> Field | None:
    """The field ``name`` names: a form's own, or a row's in a list (``problems-2-title``)."""
    if name in form._fields:
        return form[name]
    list_name, _sep, rest = name.partition("-")
    index, _sep, field_name = rest.partition("-")
    rows = getattr(form._fields.get(list_name), "entries", None)
    if rows is None or not index.isdigit() or int(index) >= len(rows):
        return None
    row = rows[int(index)].form
    return row[field_name] if field_name in row._fields else None


def put_errors(form: Any, errors: Mapping[str, Any], *, aliases: Mapping[str, str] | None = None,
               rest: Field | None = None) -> list[str]:
    """Put each message on the field it names (``aliases`` renames an operation's names).

    A message no field shows goes on ``rest`` when given, else among the form's own errors;
    those are returned too, for pages that show them elsewhere (a notice, a flash).
    """
    leftover = []
    for key, message in errors.items():
        target = field_named(form, (aliases or {}).get(key, key))
        if target is None:
            target = rest
        if target is None:
            leftover.append(message)
        else:
            target.errors = [*target.errors, message]
    form.form_errors = [*form.form_errors, *leftover]
    return leftover


@dataclass
class Saved(Generic[T]):
    """What a save came to: true when stored (``value`` is the operation's answer)."""

    value: T | None = None
    status: int | None = None  # None: stored; 422: refused; 409: someone else was first
    errors: dict[str, Any] = field(default_factory=dict)  # the refusal, by the operation's names
    leftover: list[str] = field(default_factory=list)  # messages no field of the form shows
    conflict: EditConflict | None = None  # what the other person changed (edit forms)
    raced: bool = False  # the commit lost a race (stale version, unique value taken)

    def __bool__(self) -> bool:
        return self.status is None


def save(form: Any, write: Callable[[], T], *, aliases: Mapping[str, str] | None = None,
         rest: Field | None = None, edited: tuple[Any, list[str]] | None = None,
         moved_on: Collection[str] = (), stale: str | None = None,
         taken: Mapping[str, str] | None = None) -> Saved[T]:
    """Run ``write`` and commit; on a refusal or a conflict roll back and say why.

    ``form`` (or None, for a write without one) receives the messages. ``edited`` is the
    record an edit form changes and the fields it compares on a conflict. A refusal naming
    one of ``moved_on`` means the record moved on meanwhile (its status): 409, not 422.
    ``stale`` is the form's message when the commit lost a race and no conflict can be
    described; ``taken`` the messages when it broke a unique rule (a code taken meanwhile).
    """
    try:
        value = write()
        db.session.commit()
    except ValidationFailed as failed:
        db.session.rollback()
        return _refused(form, failed.errors, aliases, rest,
                        409 if any(name in failed.errors for name in moved_on) else 422)
    except IntegrityError:
        if taken is None:
            raise
        db.session.rollback()
        saved: Saved[T] = _refused(form, dict(taken), aliases, rest, 422)
        saved.raced = True
        return saved
    except EditConflict as found:
        db.session.rollback()
        return _conflict(form, found, edited)
    except StaleDataError:
        if edited is None:
            db.session.rollback()
            if form is not None and stale is not None:
                form.form_errors = [*form.form_errors, stale]
            return Saved(status=409, raced=True)
        record, fields = edited
        return _conflict(form, conflict_from_stale(record, _original(form), fields), edited,
                         raced=True)
    return Saved(value=value)


def _refused(form: Any, errors: dict[str, Any], aliases: Mapping[str, str] | None,
             rest: Field | None, status: int) -> Saved[Any]:
    leftover = (put_errors(form, errors, aliases=aliases, rest=rest) if form is not None
                else list(errors.values()))
    return Saved(status=status, errors=errors, leftover=leftover)


def _original(form: Any) -> str | None:
    return form.original.data if form is not None and "original" in form else None


def _conflict(form: Any, found: EditConflict, edited: tuple[Any, list[str]] | None,
              raced: bool = False) -> Saved[Any]:
    """409: the other person's changes readable; an edit form restarts from their version."""
    if edited is None:
        return Saved(status=409, conflict=found, raced=raced)
    record, fields = edited
    if form is not None and hasattr(form, "start_from"):
        form.start_from(record, fields)  # their input stays; a deliberate second save wins
    return Saved(status=409, conflict=readable(found, type(record)), raced=raced)
