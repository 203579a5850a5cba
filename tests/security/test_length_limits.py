"""Over-long text in every form field with a length limit is refused, naming the field.

``test_hostile_input.py`` sends oversize text now and then (hypothesis draws it among many
other things), so a field losing its limit can go unnoticed: the form limits of an event's
topic and a photo's caption were removed and 80 examples a route did not notice. Here every
web form route (and Open311) gets, for every text field of its valid data with a limit,
exactly one character too many, and exactly the limit. What is checked is the answer, not
where the limit sits: a field the operation checks (as it does the event topic) passes without
a ``Length`` on the form.

The limit of a field is its database column's: the valid data is sent once and each text
value is looked for in the columns that request set (a ``String(n)`` column now holding
exactly that value; a field left blank or unchanged, in a column of its name in a table the
request changed). A field whose value is not stored as sent (a password, a search, a lookup)
falls back to the ``Length`` validator of the form field of that name. A field with neither
(a ``Text`` column and no ``Length``, a date, a number) has no limit to check here.

- ``limit + 1`` characters (a CJK letter: PostgreSQL counts characters, and a byte limit
  would show) must be refused: a 4xx that names the field and changes nothing. SQLite does
  not enforce ``VARCHAR(n)``, so there an unchecked field is stored whole; PostgreSQL answers
  a 500. Both fail here.
- ``limit`` characters in a free-text field stored in a limited column (Chinese in the valid
  data; a code or a choice that long is no valid value) must be accepted and stored whole: a
  limit set lower than the column, or text cut short, fails.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa
from wtforms.form import BaseForm
from wtforms.validators import Length

from consult_hub.extensions import db
from tests.support import hostile
from tests.support.access import OK, all_routes
from tests.support.hostile import Harness, Outcome, as_pairs

LETTER = "长"
# 101 routes, 66 fields, about 200 requests: 7–9 s on SQLite, 12–13 s on PostgreSQL (pytest's
# figure, on a shared 2-core machine; several times that under load).
pytestmark = pytest.mark.slow
FORM_ROUTES = [route for route in all_routes() if not route.endpoint.startswith("api.")]


UNLIMITED = None  # a text column without a length (``Text``)


def _text_columns(table: str) -> dict[str, int | None]:
    """Column → length (None for ``Text``) of the table's text columns (not enums: their
    choices decide)."""
    found = {}
    for column in db.metadata.tables[table].columns:
        kind = column.type
        kind = getattr(kind, "impl_instance", kind)  # a TypeDecorator: what it stores as
        if isinstance(kind, sa.String) and not isinstance(kind, sa.Enum):
            found[column.name] = int(kind.length) if kind.length else UNLIMITED
    return found


def _columns_holding(outcome: Outcome, value: str) -> dict[tuple[str, str], int | None]:
    """(table, column) → length, of each text column the request set to exactly ``value``
    (as sent, or stripped as forms strip it): in a new row, or changed in an old one (a
    value already there, say the code typed to confirm closing a platform, is no sign)."""
    wanted = {value, value.strip()}
    found = {}
    for table, rows in outcome.after.items():
        before = outcome.before.get(table, {})
        text = _text_columns(table) if rows != before else {}
        for key, row in rows.items():
            old = before.get(key, {})
            for column, length in text.items():
                stored = row.get(column)
                if stored in wanted and old.get(column) != stored:
                    found[(table, column)] = length
    return found


def _columns_named(outcome: Outcome, name: str) -> dict[tuple[str, str], int | None]:
    """(table, column) → length, of the text columns called ``name`` in the tables the request
    changed: where a field goes when its value says nothing (left blank, or as it was)."""
    return {(table, column): length for table in outcome.changes
            for column, length in _text_columns(table).items() if column == _short(name)}


def _short(name: str) -> str:
    return name.rsplit("[", 1)[-1].rstrip("]")  # Open311's attribute[platform]: platform


def _column_limit(holders: dict[tuple[str, str], int | None], name: str) -> int | None:
    """The length of the column the field is stored in, if it is a ``String(n)``.

    The same value may land in several columns: the column named as the field is its home
    (a resident's description is kept whole, and its start becomes the title); else, with
    no column so named, any unlimited one might be (the start of it copied to a shorter
    one), and only a value found in limited columns alone has a column limit: the shortest.
    """
    named = {k: v for k, v in holders.items() if k[1] == _short(name)}
    lengths = list((named or holders).values())
    if not lengths or UNLIMITED in lengths:
        return None
    return min(lengths)


def _form_length(forms: list[BaseForm], name: str) -> int | None:
    """The ``Length`` maximum of the form field posted as ``name``, if any form of the
    request has one."""
    for form in forms:
        for field in form:
            if field.name == name:
                limits = [v.max for v in field.validators
                          if isinstance(v, Length) and v.max is not None and v.max >= 0]
                if limits:
                    return min(limits)
    return None


def _names_field(harness: Harness, name: str, response: Any) -> str | None:
    """Why the refusal does not name ``name`` (None when it does). Stricter than
    ``test_hostile_input``'s check, which takes an error on any field: a value too long for
    one field cannot make a neighbour wrong."""
    if harness.route.endpoint.startswith("open311."):
        errors = response.json
        named = {e["description"].split(":", 1)[0] for e in errors} if isinstance(
            errors, list) else set()
        return None if name in named else f"Open311 errors name {named}, not {name}"
    html = response.text
    errors = hostile.form_field_errors(html)
    if name in errors:
        return None
    if re.search(r'role="alert"', html) and not hostile.shows_input(html, name, files=False):
        return None  # a hidden field: the alert above the form says what
    return (f"{response.status_code}, errors on {sorted(errors)}, not {name}: "
            f"{hostile.main_text(html, 600)}")


def _send(harness: Harness, name: str, value: str) -> Any:
    """The valid data with ``name`` set to ``value``. Prepared afresh each time: files need a
    fresh stream, and a password change needs the session signed in again."""
    path, valid = harness.prepare()
    return harness.send_form(path, as_pairs({**valid, name: value}))


def _is_free_text(value: Any) -> bool:
    return isinstance(value, str) and bool(re.search(r"[\u4e00-\u9fff]", value))


# Fields whose limit this test must find (so a change in how limits are found cannot quietly
# check nothing): the form limits of the event topic and photo caption were once removed
# unnoticed; the rest are the text a resident, a coordinator or a city official types most.
MUST_CHECK = {
    "events.new": {"topic", "location"}, "events.edit": {"topic", "location"},
    "events.upload_photo": {"caption"}, "issues.new": {"title", "submitter_phone"},
    "public.submit": {"title", "description", "phone"}, "opinions.new": {"title"},
    "proposals.new": {"title"}, "platforms.new": {"code", "name", "address"},
    "users.create": {"username", "name", "password"}, "members.create": {"name", "sector"},
    "departments.routing_create": {"keyword"},
}


@dataclass
class Case:
    """One field's limit: from its column (``columns``, the ones holding it) or its form."""

    name: str
    limit: int
    columns: set[tuple[str, str]]
    free_text: bool  # typed words (Chinese in the valid data), not a code, number or choice


def _cases(valid: dict[str, Any], probe: Outcome, forms: list[BaseForm]) -> list[Case]:
    cases = []
    for name, value in valid.items():
        if not isinstance(value, str):
            continue  # files, lists of choices
        holders = (_columns_holding(probe, value) if value.strip() else {}) or \
            _columns_named(probe, name)
        column_limit = _column_limit(holders, name)
        if column_limit is not None:
            columns = {key for key, length in holders.items() if length == column_limit}
            cases.append(Case(name, column_limit, columns, _is_free_text(value)))
        elif (form_limit := _form_length(forms, name)) is not None:
            cases.append(Case(name, form_limit, set(), _is_free_text(value)))
    return cases


@pytest.mark.parametrize("route", FORM_ROUTES, ids=[route.id for route in FORM_ROUTES])
def test_text_beyond_its_limit_is_refused_naming_the_field(harness, route, monkeypatch):
    path, valid = harness.prepare()
    assert route.expect[harness.role] == OK

    # The valid data once, keeping the forms the request made (their fields' validators) and
    # the rows the data landed in.
    forms: list[BaseForm] = []
    process = BaseForm.process

    def recording(self: BaseForm, *args: Any, **kwargs: Any) -> None:
        forms.append(self)
        process(self, *args, **kwargs)

    probes: list[Outcome] = []
    with monkeypatch.context() as patch:
        patch.setattr(BaseForm, "process", recording)
        harness.run(lambda: harness.send_form(path, as_pairs(valid)), probes.append)
    assert probes[0].status < 400, hostile.main_text(probes[0].response.text)
    cases = _cases(valid, probes[0], forms)
    assert MUST_CHECK.get(route.id, set()) <= {case.name for case in cases}, cases

    failures: list[str] = []
    for case in cases:
        too_long = LETTER * (case.limit + 1)

        def refused(outcome: Outcome, case: Case = case, too_long: str = too_long) -> None:
            if not 400 <= outcome.status < 500:
                stored = sorted(_columns_holding(outcome, too_long))
                failures.append(f"{case.name}: {case.limit + 1} characters answered "
                                f"{outcome.status}" + (f", stored in {stored}" if stored else ""))
                return
            harness.check_refusal_changed_nothing(outcome)
            why = _names_field(harness, case.name, outcome.response)
            if why:
                failures.append(f"{case.name} ({case.limit + 1} characters): {why}")

        harness.run(lambda name=case.name, value=too_long: _send(harness, name, value), refused)

        if not (case.columns and case.free_text):
            continue  # a code, number or choice of that length is no valid value
        at_limit = LETTER * case.limit

        def accepted(outcome: Outcome, case: Case = case, at_limit: str = at_limit) -> None:
            if outcome.status >= 400:
                failures.append(f"{case.name}: {case.limit} characters (its limit) refused "
                                f"({outcome.status}): {hostile.main_text(outcome.response.text)}")
            elif not case.columns & set(_columns_holding(outcome, at_limit)):
                failures.append(f"{case.name}: {case.limit} characters not stored whole in "
                                f"{sorted(case.columns)}")

        harness.run(lambda name=case.name, value=at_limit: _send(harness, name, value), accepted)

    assert not failures, "\n".join(failures)
