"""Hostile input on every write route: never a 500, refusals name the field, nothing unsafe kept.

Every route of the access matrix (``tests/access_*.py``) gets hypothesis-drawn input: one field
replaced by something hostile (wrong type, oversize, control characters, mixed scripts,
markup, SQL-looking text, huge or negative numbers, impossible dates, unknown choices,
bytes that are not UTF-8), a field left out, sent twice, or an unknown field added. The JSON
API gets wrong JSON types, nested junk, duplicated keys and bodies of the wrong shape;
Open311 the same form-encoded input as the web forms.

What the product does with characters nobody types (the rule these tests hold it to):

- *Forbidden* are the C0 controls other than tab, line feed and carriage return, DEL, the
  C1 controls, the bidi embedding/override/isolate controls (U+202A–U+202E, U+2066–U+2069,
  used to disguise text) and lone surrogates. None of them is ever stored.
- A single-line form field (``StringField`` and kin) holding one is refused with a message on
  that field; tab and line breaks are refused there too (a one-line input cannot type them).
- A multi-line form field (``TextAreaField``: minutes, descriptions, notes) silently drops
  them, keeping tabs and line breaks: pasted text often carries stray controls.
- The JSON API and Open311 refuse them (422 / 400 naming the field): a machine client
  should learn that it sends junk rather than have it quietly changed.
- Zero-width characters and direction *marks* (U+200B–U+200F, U+2060, U+FEFF) are ordinary
  text: emoji need the joiner, and once escaped they are harmless.

Markup is stored as typed and escaped wherever it is shown; Markdown fields go through the
sanitiser. The check parses each page that shows a changed row (staff and public) and fails
when a payload's marker reaches a script, an event handler, a style or a ``javascript:`` URL.

Examples are derandomised (the same ones every run) and bounded; set ``HOSTILE_EXAMPLES`` to
draw more and ``HOSTILE_RANDOM=1`` to explore beyond them.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from typing import Any

import pytest
from hypothesis import given
from wtforms import Form as WTForm

from tests.support import hostile
from tests.support.access import all_routes
from tests.support.hostile import Harness, Mutation, Outcome, as_pairs

HYPOTHESIS = hostile.hypothesis_settings(12)
pytestmark = pytest.mark.slow  # about 200 routes × 12 examples: tens of seconds in all
REFUSALS = {400, 403, 404, 409, 413, 415, 422}
# Look-ups that answer "no match" as a whole: saying which half was wrong would help guessing.
LOOKUPS = {"public.track"}


MATRIX = all_routes()
FORM_ROUTES = [route for route in MATRIX if not route.endpoint.startswith("api.")]
API_ROUTES = hostile.api_routes()


# --- Forms and Open311 ----------------------------------------------------------------------


def _check_form_refusal(harness: Harness, mutation: Mutation, response: Any) -> None:
    """The refusal names the field: its error sits by the input (or, for a field the page
    does not show as an input, in the page's error alert); Open311 lists it by name."""
    if harness.route.endpoint.startswith("open311."):
        errors = response.json
        assert isinstance(errors, list) and errors, response.text
        named = {e["description"].split(":", 1)[0] for e in errors}
        assert named - {""}, (mutation, errors)
        return
    html = response.text
    errors = hostile.form_field_errors(html)
    if mutation.name in errors:
        return
    if errors:  # a wrong value can make a neighbour wrong instead (ends before starts)
        return
    alert = re.search(r'role="alert"', html)
    if alert and (not hostile.shows_input(html, mutation.name, files=False)
                  or harness.route.endpoint in LOOKUPS):
        return  # hidden fields, files read row by row: the alert above the form says what
    assert response.status_code in (403, 404, 409), (
        f"{response.status_code} names no field for {mutation}: {hostile.main_text(html)}")


@pytest.mark.parametrize("route", FORM_ROUTES, ids=[route.id for route in FORM_ROUTES])
@HYPOTHESIS
@given(plan=hostile.form_plans)
def test_forms_survive_hostile_input(harness, route, plan):
    path, valid = harness.prepare()
    mutation, pairs = plan.apply(as_pairs(valid))
    expected = route.expect[harness.role]

    def check(outcome: Outcome) -> None:
        if outcome.status >= 400 or (isinstance(expected, int) and outcome.status == expected):
            assert outcome.status in REFUSALS | {expected}, outcome.status
            harness.check_refusal_changed_nothing(outcome)
            _check_form_refusal(harness, mutation, outcome.response)
        elif any(hostile.contains_mark(value) for _name, value in pairs):
            harness.check_rendering(outcome)

    harness.run(lambda: harness.send_form(path, pairs), check)


# Values that once reached the database unchecked (a 500 on PostgreSQL), kept as fixed cases.
KNOWN = [
    ("platforms.edit", "area_id", "99999999999"), ("platforms.edit", "district_id", "²"),
    ("platforms.edit", "demonstration_year", "99999999999"), ("platforms.edit", "latitude", "nan"),
    ("users.create", "platforms", "99999999999"), ("users.create", "district", "99999999999"),
    ("issues.new", "platform_id", "99999999999"), ("issues.new", "event_id", "99999999999"),
    ("public.submit", "platform", "99999999999"), ("events.record", "attendees", "99999999999"),
    ("platforms.link_member", "person_id", "99999999999"),
    ("platforms.link_coordinator", "person_id", "²"),
    ("open311.create_request", "attribute[platform]", "99999999999"),
    ("open311.create_request", "attribute[platform]", "²"),
    ("events.edit", "starts_at", "0001-01-01T00:00"), ("events.new", "ends_at", "9999-12-31T23:59"),
    ("events.cancel", "cancel_reason", "原因\x00"), ("issues.edit", "title", "标题\u202e"),
    ("open311.create_request", "description", "描述\x00"),
]
ROUTES_BY_ID = {route.id: route for route in FORM_ROUTES}


@pytest.mark.parametrize(("route", "name", "value"), [
    (ROUTES_BY_ID[route], name, value) for route, name, value in KNOWN],
    ids=[f"{route}-{name}-{value!r}" for route, name, value in KNOWN])
def test_known_hostile_values(harness, route, name, value):
    path, valid = harness.prepare()
    pairs = [(n, v) for n, v in as_pairs(valid) if n != name] + [(name, value)]

    def check(outcome: Outcome) -> None:
        if outcome.status >= 400:
            harness.check_refusal_changed_nothing(outcome)
            _check_form_refusal(harness, Mutation("replace", name, value), outcome.response)

    harness.run(lambda: harness.send_form(path, pairs), check)


# --- The JSON API ---------------------------------------------------------------------------


def _check_api_refusal(mutation: Mutation, response: Any) -> None:
    assert response.mimetype == "application/json", response.text[:500]
    error = response.json["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if response.status_code in (403, 404, 415) or mutation.kind == "body":
        return
    fields = set(error["fields"])
    name = re.sub("[\ud800-\udfff]", "\ufffd", mutation.name)  # as the answer spells it
    named = {f for f in fields if f == name or f.startswith((f"{name}[", f"{name}."))}
    # A wrong but well-formed value can instead make a neighbour wrong (ends before starts).
    assert named or (mutation.kind in ("replace", "duplicate") and fields) or (
        mutation.kind == "drop" and fields), (mutation, response.status_code, error)


@pytest.mark.parametrize("route", API_ROUTES, ids=[route.id for route in API_ROUTES])
@HYPOTHESIS
@given(plan=hostile.api_plans)
def test_api_survives_hostile_input(harness, route, plan):
    path, valid = harness.prepare()
    mutation, raw, content_type = plan.apply(valid)

    def check(outcome: Outcome) -> None:
        if outcome.status >= 400:
            assert outcome.status in REFUSALS, (outcome.status, outcome.response.text[:500])
            harness.check_refusal_changed_nothing(outcome)
            _check_api_refusal(mutation, outcome.response)
        elif hostile.contains_mark(mutation.value):
            harness.check_rendering(outcome)

    harness.run(lambda: harness.send_json(path, raw, content_type), check)


# --- Coverage guards ------------------------------------------------------------------------


def test_every_form_cleans_its_text():
    """Every form class of the app inherits the cleaning rule (core/forms.py CleanFields)."""
    import consult_hub
    from consult_hub.core.forms import CleanFields

    for module in pkgutil.walk_packages(consult_hub.__path__, "consult_hub."):
        importlib.import_module(module.name)
    forms = [cls for cls in _subclasses(WTForm) if cls.__module__.startswith("consult_hub.")]
    assert len(forms) > 20
    assert [cls for cls in forms if not issubclass(cls, CleanFields)] == []


def _subclasses(cls: type) -> list[type]:
    found = []
    for sub in cls.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found


def test_text_fields_drop_or_refuse_forbidden_characters(app):
    from werkzeug.datastructures import MultiDict

    from consult_hub.events.forms import CancelForm, PhotoForm

    with app.test_request_context():
        cancel = CancelForm(MultiDict({"cancel_reason": "a\x00b\u202ec\x1b[31m\td\r\ne"}),
                            meta={"csrf": False})
        assert cancel.validate()
        assert cancel.cancel_reason.data == "abc[31m\td\r\ne"
        photo = PhotoForm(MultiDict({"caption": "会场\u202e"}), meta={"csrf": False})
        assert not photo.validate()
        assert photo.caption.errors == ["含有不允许的控制字符或换行，请删除后再提交"]
        assert not PhotoForm(MultiDict({"caption": "两\n行"}), meta={"csrf": False}).validate()
        assert PhotoForm(MultiDict({"caption": "表情👨\u200d👩\u200d👧"}),
                         meta={"csrf": False}).validate()


def test_every_write_route_gets_hostile_input(app):
    """A new write route (in the URL map, hence in the access matrix) is driven here too."""
    writes = {rule.endpoint for rule in app.url_map.iter_rules()
              if rule.methods & {"POST", "PUT", "PATCH", "DELETE"}}
    covered = {route.endpoint for route in FORM_ROUTES} | {route.endpoint for route in API_ROUTES}
    assert writes - covered == set(), "write routes without hostile-input coverage"
    api_in_matrix = {route.endpoint for route in MATRIX if route.endpoint.startswith("api.")}
    assert api_in_matrix <= {route.endpoint for route in API_ROUTES}, \
        "an API write needs a valid body in tests/hostile.py (api_routes)"


def test_the_markup_check_finds_live_payloads(app):
    """The rendering check can fail: raw payloads are live markup, escaped ones are not;
    the Markdown sanitiser leaves none of them live."""
    from markupsafe import escape

    from consult_hub.core.markdown import render_markdown

    live = [payload for payload in hostile.HTML if hostile.active_markup(payload)]
    assert len(live) >= 10
    for payload in hostile.HTML:
        assert hostile.active_markup(str(escape(payload))) == []
        assert hostile.active_markup(f'<input value="{escape(payload)}">') == []
        with app.app_context():
            assert hostile.active_markup(str(render_markdown(payload))) == [], payload


INERT = "<b onmouseover=xss(1)>粗</b>[a](javascript:xss(2))"
# Fields too short for INERT (a routing rule's keyword: 20 characters), with markup that fits.
SHORT = {"keyword": "<b onclick=xss(1)>"}


def _with_markup(value: Any, name: str = "") -> Any:
    """Free text (Chinese in the valid data) with markup appended; anything else as it was."""
    if isinstance(value, str) and re.search(r"[\u4e00-\u9fff]", value):
        return value + SHORT.get(name, INERT)
    if isinstance(value, list):
        return [_with_markup(item, name) for item in value]
    if isinstance(value, dict):
        return {key: _with_markup(item, key) for key, item in value.items()}
    return value


@pytest.mark.parametrize("route", FORM_ROUTES + API_ROUTES,
                         ids=[route.id for route in FORM_ROUTES + API_ROUTES])
def test_markup_in_every_text_field_stays_inert(harness, route):
    """Markup typed into every free-text field is accepted as text and never becomes live on
    the staff or public pages that show what was written (hypothesis reaches this by chance;
    here every route is made to).

    A route without free text still has its valid data accepted: each hostile case starts from
    a state where the route's action is allowed, or it would only ever test a refusal.
    """
    path, valid = harness.prepare()
    marked = {key: (value if isinstance(value, tuple) else _with_markup(value, key))
              for key, value in valid.items()}
    harness.renders_left = 1

    def check(outcome: Outcome) -> None:
        assert outcome.status < 400, hostile.main_text(outcome.response.text)
        if marked != valid and outcome.changes:
            assert harness.check_rendering(outcome)

    if harness.is_api:
        harness.run(lambda: harness.send_json(path, hostile.encode_pairs(list(marked.items()))),
                    check)
    else:
        harness.run(lambda: harness.send_form(path, as_pairs(marked)), check)
