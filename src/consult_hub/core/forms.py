"""Form pieces shared by every feature: the base form that cleans text, local date-times,
and the fields of an edit form.

Characters nobody types (``FORBIDDEN_CHARACTERS``: C0 controls but tab and line breaks, DEL,
C1 controls, bidi embedding/override/isolate controls, lone surrogates) never reach the
database: a multi-line field (``TextAreaField``) drops them silently, since pasted text often
carries them; a single-line field refuses them, and line breaks and tabs too, with a message
on the field. Every form inherits this from ``CleanFields`` (``BaseForm`` for Flask-WTF forms).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from wtforms import Field, HiddenField, PasswordField, StringField, TextAreaField
from wtforms import widgets as wtforms_widgets
from wtforms.fields import (
    DateField,
    DateTimeLocalField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
)
from wtforms.validators import ValidationError
from wtforms.widgets import Select
from wtforms.widgets import core as wtforms_widgets_core

from consult_hub.core.i18n import lazy_gettext as _l
from consult_hub.core.timefmt import local_zone, to_local

# What no stored text may hold. PostgreSQL refuses NUL in text outright; the others are
# invisible, garble terminals and exports, or reorder how text displays ("Trojan Source").
FORBIDDEN_CHARACTERS = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_LINE_BREAKS = re.compile("[\t\n\r\u2028\u2029]")
CONTROL_MESSAGE = _l("含有不允许的控制字符或换行，请删除后再提交")
# Years a date or date-time field accepts: beyond them time zone arithmetic overflows, and
# no event, deadline or founding date of this product falls outside them.
MIN_YEAR, MAX_YEAR = 1990, 2100


def strip_forbidden(value: Any) -> Any:
    """A multi-line field's filter: drop forbidden characters, keep tabs and line breaks."""
    return FORBIDDEN_CHARACTERS.sub("", value) if isinstance(value, str) else value


def refuse_forbidden(form: Any, field: Field) -> None:
    """A single-line field's validator: forbidden characters and line breaks are refused."""
    data = field.data
    if isinstance(data, str) and (FORBIDDEN_CHARACTERS.search(data) or _LINE_BREAKS.search(data)):
        raise ValidationError(CONTROL_MESSAGE)


def _clean(field: Field) -> Field:
    if type(field.widget) is Select:  # WTForms' own select: the same HTML, written faster
        field.widget = PLAIN_MULTIPLE_SELECT if field.widget.multiple else PLAIN_SELECT
    if isinstance(field, TextAreaField):
        field.filters = (*field.filters, strip_forbidden)
    elif isinstance(field, HiddenField):
        field.filters = (*field.filters, strip_forbidden)  # not typed, so nothing to show
    elif isinstance(field, StringField) and not isinstance(field, PasswordField):
        # A password is hashed, never stored or shown: any character may be part of it.
        field.validators = [*field.validators, refuse_forbidden]
    return field


class CleanFields:
    """Mixin for every form class: cleans text fields as the module docstring says, and writes
    every select with ``PlainSelect``."""

    class Meta:
        def bind_field(self, form: Any, unbound_field: Any, options: dict[str, Any]) -> Field:
            return _clean(super().bind_field(form, unbound_field, options))


class BaseForm(CleanFields, FlaskForm):
    """The base of every form the site posts (CSRF-protected, text cleaned)."""


class LocalDateTimeField(DateTimeLocalField):
    """A ``datetime-local`` input in the people's time zone; ``data`` is aware UTC."""

    def __init__(self, label: Any = None, validators: Any = None, **kwargs: Any) -> None:
        kwargs.setdefault("format", ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S"])
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, datetime) and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_l("时间应在 %(low)s 年到 %(high)s 年之间", low=MIN_YEAR,
                                high=MAX_YEAR))
        if isinstance(self.data, datetime) and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=local_zone())

    def _value(self) -> str:
        if self.raw_data:
            return " ".join(self.raw_data)
        if isinstance(self.data, datetime):
            value = to_local(self.data) if self.data.tzinfo else self.data
            return value.strftime("%Y-%m-%dT%H:%M")
        return ""


class BoundedDateField(DateField):
    """A date within ``MIN_YEAR``..``MAX_YEAR``: beyond them a day's local midnight overflows
    (a list filtered from 0001-01-01 failed with a 500)."""

    def process_formdata(self, valuelist: list[Any]) -> None:
        super().process_formdata(valuelist)
        if isinstance(self.data, date) and not MIN_YEAR <= self.data.year <= MAX_YEAR:
            self.data = None
            raise ValueError(_l("日期应在 %(low)s 年到 %(high)s 年之间", low=MIN_YEAR,
                                high=MAX_YEAR))


class EditForm(BaseForm):
    """A form that edits an existing record: carries its version and the starting values."""

    version = HiddenField(default="")  # missing from a post: matches no version (409)
    original = HiddenField()

    def start_from(self, obj: Any, fields: list[str]) -> None:
        """Record what the user is starting from (call on GET, and after a conflict)."""
        from consult_hub.core.conflicts import snapshot

        self.version.data = str(obj.version)
        self.original.data = snapshot(obj, fields)

    def field_labels(self) -> dict[str, str]:
        return {name: str(field.label.text) for name, field in self._fields.items()}


REQUIRED = _l("此项必填")


def select_choices(pairs: Iterable[tuple[Any, Any]],
                   group: str | None = None) -> list[SelectChoice]:
    """``(value, label)`` pairs as WTForms choices (tuples are deprecated there)."""
    return [SelectChoice(value=value, label=label, optgroup=group) for value, label in pairs]


def any_choice(label: Any, pairs: Iterable[tuple[Any, Any]]) -> list[SelectChoice]:
    """Choices led by an empty one that means "any" (a list's filter)."""
    return select_choices([("", label), *pairs])


class Needed:
    """Mark a field as required for its label and input; the operation does the checking."""

    field_flags = {"required": True}

    def __call__(self, form: Any, field: Any) -> None:
        return None


class LifecycleActionForm(BaseForm):
    """One lifecycle action: its fields come from the transition table (``action_forms``).

    ``values`` gives the submitted fields by lifecycle name, empty ones left out unless the
    transition requires them (the table decides what is missing); a field this user is not
    offered is not read."""

    version = HiddenField(default="")  # missing from a post: matches no version (409)

    def asked(self, transition: Any) -> Iterable[str]:
        return (*transition.requires, *transition.optional)

    def start_from(self, record: Any) -> None:
        """Carry the version the page shows."""
        self.version.data = str(record.version)

    def values(self, transition: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self.asked(transition):
            if name not in self:
                continue
            data = self[name].data
            if isinstance(data, str):
                data = data.strip() or None
            if data not in (None, []) or name in transition.requires:
                values[name] = data
        return values


class TimelineActionForm(LifecycleActionForm):
    """An action on a record with a timeline: also the newest entry the page showed."""

    seen = HiddenField()

    def start_from(self, record: Any) -> None:
        super().start_from(record)
        self.seen.data = str(record.updates[-1].id if record.updates else 0)


def action_forms(transitions: Mapping[str, Any], base: type,
                 make_field: Callable[[str, str, bool], Any],
                 asked: Callable[[Any], Iterable[str]] | None = None) -> Callable[..., Any]:
    """``action_form(transition, **kwargs)`` for a lifecycle: each action's form is ``base``
    with exactly the fields its transition names (``asked``: which of them the person fills
    in; default all), made by ``make_field(action, name, required)``, built once per action."""

    @cache
    def form_class(action: str) -> type:
        transition = transitions[action]
        names = (asked(transition) if asked is not None
                 else (*transition.requires, *transition.optional))
        fields = {name: make_field(action, name, name in transition.requires) for name in names}
        return type(f"{base.__qualname__}_{action}", (base,), fields)

    def action_form(transition: Any, **kwargs: Any) -> Any:
        """The form for one action, with exactly the fields its transition names."""
        return form_class(transition.action)(**kwargs)

    return action_form


def html_params(**kwargs: Any) -> Markup:
    """WTForms' ``html_params``: the same attributes (sorted, ``class_`` and ``data_``/``aria_``
    names cleaned, True alone, False left out, values escaped), without a ``Markup.format``
    per attribute — a string formatter escaping as it goes, which took a fifth of the
    submission form's time and a quarter of a problem's staff page.

    Installed in WTForms' widgets when this module loads (``_use_plain_params``), so every
    input, text area, select and button of the site's forms writes its attributes here.
    """
    params = []
    for key, value in sorted(kwargs.items()):
        name = escape(wtforms_widgets_core.clean_key(key))
        if value is True:
            params.append(str(name))
        elif value is not False:
            # escape() turns '"' into "&#34;"; markup passed in as a value may still hold one.
            params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))


def _use_plain_params() -> None:
    """Point WTForms' widgets (the module's function, and the two classes that keep their own
    reference to it) at ``html_params`` above; ``tests/ui/test_ui_shell.py`` checks that they
    write what WTForms' own writes."""
    wtforms_widgets_core.html_params = wtforms_widgets.html_params = html_params
    for widget in (wtforms_widgets_core.Input, wtforms_widgets_core.Button):
        widget.html_params = staticmethod(html_params)


WTFORMS_HTML_PARAMS = wtforms_widgets_core.html_params  # WTForms' own, for the tests
_use_plain_params()


class PlainSelect(Select):
    """WTForms' select, with plain options written directly: the same HTML, without building
    an attribute dictionary per option — a city's 360 departments in a filter took a third
    of the staff problem list's time, a district's 140 platforms (in groups by street) two
    thirds of the submission form's, a problem's 60 departments to hand it to a tenth of its
    staff page's, a proposal's 800 members to sign it with (a multiple choice) over half of
    its form's. Option attributes and an empty label (for which WTForms shows the value) go
    the usual way. Every form's selects get it when bound (``CleanFields``); a field needs
    no ``widget=``."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        plain = _plain_options(field)
        if plain is None:
            return super().__call__(field, **kwargs)
        multiple, groups = plain
        coerce, data = field.coerce, field.data
        chosen = (data or ()) if multiple else (data,)
        kwargs.setdefault("id", field.id)
        if self.multiple:
            kwargs["multiple"] = True
        flags = getattr(field, "flags", {})
        for flag in self.validation_attrs:
            if flag not in kwargs and getattr(flags, flag, False):
                kwargs[flag] = getattr(flags, flag)
        parts = [f"<select {html_params(name=field.name, **kwargs)}>"]
        for group, choices in groups:
            if group is not None:
                parts.append(f'<optgroup label="{escape(group)}">')
            # Selected as WTForms' own fields decide it: the coerced value is the data, or in it.
            parts.extend(f'<option {"selected " if coerce(c.value) in chosen else ""}'
                         f'value="{escape(c.value)}">{escape(c.label)}</option>' for c in choices)
            if group is not None:
                parts.append("</optgroup>")
        parts.append("</select>")
        return Markup("".join(parts))


_WTFORMS_SELECTS = {SelectField.iter_choices: False, SelectMultipleField.iter_choices: True}


def _plain_options(field: Any) -> tuple[bool, list[tuple[Any, list[SelectChoice]]]] | None:
    """Whether the field chooses several, and its options in ``(optgroup, options)`` runs, as
    WTForms' own select fields group them (``iter_groups``), read straight from the declared
    choices rather than through a ``Choice`` per option (a proposal form's 2,400 options took a
    quarter of its time so). None — WTForms renders it — unless every option is a
    ``SelectChoice`` with a label and no attributes, declared as a list on a field that does
    not work out its options otherwise."""
    declared = field.choices
    multiple = _WTFORMS_SELECTS.get(getattr(type(field), "iter_choices", None))
    if type(declared) is not list or multiple is None:
        return None
    groups: list[tuple[Any, list[SelectChoice]]] = []
    run: list[SelectChoice] = []
    for choice in declared:
        if type(choice) is not SelectChoice or choice.render_kw or not choice.label:
            return None
        if not groups or groups[-1][0] != choice.optgroup:
            run = []
            groups.append((choice.optgroup, run))
        run.append(choice)
    return multiple, groups


PLAIN_SELECT, PLAIN_MULTIPLE_SELECT = PlainSelect(), PlainSelect(multiple=True)


# The largest id either database stores; a larger number would fail in the query itself.
MAX_ID = 2**31 - 1


def to_id(value: Any) -> int:
    """Coerce a choice to an id; ValueError (the field's "invalid choice") when it cannot be one."""
    if type(value) is int and -MAX_ID <= value <= MAX_ID:
        return value  # a choice's own value: selects coerce each option's when they render
    text = str(value).strip()
    if not text.isascii() or not text.lstrip("-").isdigit() or len(text) > 11:
        raise ValueError(value)
    number = int(text)
    if abs(number) > MAX_ID:
        raise ValueError(value)
    return number


def optional_int(value: Any) -> int | None:
    """Coerce a select's value to an id, or None for the empty choice."""
    if value in (None, "", "None"):
        return None
    return to_id(value)
