"""The OpenAPI document matches the behaviour: schemathesis runs every operation against the app."""

from __future__ import annotations

import zlib
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from consult_hub.api import openapi
from tests.support.api import ApiWorld, bearer
from tests.support.openapi import check as openapi_check

# The API world (tests/support/world.py), with rate limits no generated run reaches.
pytestmark = [pytest.mark.world("api", rate_limit="100000 per minute"),
              pytest.mark.slow]  # every operation of the document, fuzzed: ~20 s

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


# The document the app serves (test_api_openapi checks it is this one) holds no per-app data.
schema = schemathesis.openapi.from_dict(openapi.document())


def _pick(options: list[Any], case: Any) -> Any:
    """One of ``options``, chosen by the generated case itself (deterministic per example)."""
    seed = zlib.crc32(repr((case.path_parameters, case.query, case.body)).encode())
    return options[seed % len(options)]


def _aim(case: Any, world: ApiWorld) -> None:
    """Point generated ids at seeded records, so writes and details reach their success paths."""
    params = case.path_parameters or {}
    if "event_id" in params:
        params["event_id"] = _pick([*world.planned_event_ids, *world.past_planned_event_ids,
                                    *world.held_event_ids, *world.event_ids.values(),
                                    params["event_id"]], case)
    if "reference" in params:
        params["reference"] = _pick([*world.all_refs, params["reference"]], case)
    if "proposal_id" in params:  # accepted ones, and a draft (404)
        params["proposal_id"] = _pick([*world.proposal_ids.values(), params["proposal_id"]],
                                      case)
    if "platform_id" in params:
        params["platform_id"] = _pick([world.platform_id, params["platform_id"]], case)
    if "month" in params:
        params["month"] = _pick([world.frozen_month, params["month"]], case)
    if "code" in params:
        params["code"] = _pick([world.district_code, params["code"]], case)
    if isinstance(case.body, dict):
        for name, value in (("platform_id", world.platform_id),
                            ("department_id", world.department_id)):
            if name in case.body:
                case.body[name] = _pick([value, case.body[name]], case)


@schema.parametrize()
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                 HealthCheck.function_scoped_fixture])
def test_api_conforms_to_its_openapi_document(app, world, case):
    _aim(case, world)
    response = case.call_and_validate(app=app, headers=bearer(world.tokens["admin"]),
                                      checks=CHECKS)
    # schemathesis' own checks passed the nulls its enums refused (605 errors in a page of
    # problems): the suite's checker (Draft 2020-12, formats, headers) sees each answer too.
    headers = {name: ", ".join(values) for name, values in response.headers.items()}
    openapi_check(app, response.request.method, unquote(urlsplit(response.request.url).path),
                  response.status_code, headers, response.content)
