"""Form pieces shared by every feature: local date-times, and the fields of an edit form."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.fields import DateTimeLocalField, SelectChoice

from consult_hub.core.timefmt import local_zone, to_local


class LocalDateTimeField(DateTimeLocalField):
    """A ``datetime-local`` input in the people's time zone; ``data`` is aware UTC."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, datetime) and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=local_zone())

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, datetime):
            value = to_local(self.data) if self.data.tzinfo else self.data
            return value.strftime("%Y-%m-%dT%H:%M")
        return ""


class EditForm(FlaskForm):
    """A form that edits an existing record: carries its version and the starting values."""

    version = HiddenField()
    original = HiddenField()

    def start_from(self, obj: Any, fields: list[str]) -> None:
        """Record what the user is starting from (call on GET, and after a conflict)."""
        from consult_hub.core.conflicts import snapshot

        self.version.data = str(obj.version)
        self.original.data = snapshot(obj, fields)

    def field_labels(self) -> dict[str, str]:
        return {name: str(field.label.text) for name, field in self._fields.items()}


REQUIRED = _l("此项必填")


def show_errors(form: FlaskForm, errors: Mapping[str, str],
                aliases: Mapping[str, str] | None = None) -> list[str]:
    """Put each ``ValidationFailed`` message on its form field; return those no field shows."""
    leftover = []
    for key, message in errors.items():
        name = (aliases or {}).get(key, key)
        if name in form:
            form[name].errors = [*form[name].errors, message]
        else:
            leftover.append(message)
    return leftover


def select_choices(pairs: Iterable[tuple[Any, Any]], group: str | None = None) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices (tuples are deprecated there)."""
    return [SelectChoice(value=value, label=label, optgroup=group) for value, label in pairs]


def optional_int(value: Any) -> int | None:
    """Coerce a select's value to an id, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return int(value)
