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

# The API world (tests/support/world.py), with rate limits no generated run reaches; built once
# and rolled back after each test (tests/api/conftest.py), so nothing is committed: `rolled_back`.
# Building it for each of the 40 operations was 4.4 s of the module's 29 s of CPU.
pytestmark = [pytest.mark.world("api", rate_limit="100000 per minute"),
              pytest.mark.rolled_back,
              pytest.mark.slow]  # every operation of the document, fuzzed: ~30 s of CPU

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


SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.function_scoped_fixture])


def _conformance_test(operation_schema: Any) -> Any:
    """The test for the one operation ``operation_schema`` holds: every phase schemathesis runs
    (explicit examples, coverage, fuzzing), each case answered and checked."""

    @operation_schema.parametrize()
    @SETTINGS
    def test(app, world, case):
        _aim(case, world)
        response = case.call_and_validate(app=app, headers=bearer(world.tokens["admin"]),
                                          checks=CHECKS)
        # schemathesis' own checks passed the nulls its enums refused (605 errors in a page of
        # problems): the suite's checker (Draft 2020-12, formats, headers) sees each answer too.
        headers = {name: ", ".join(values) for name, values in response.headers.items()}
        openapi_check(app, response.request.method,
                      unquote(urlsplit(response.request.url).path),
                      response.status_code, headers, response.content)

    return test


def _test_name(operation: Any) -> str:
    return f"test_{operation.definition.raw['operationId']}"


# One test function per operation, named by its operationId (unique in the document). One
# `@schema.parametrize()` test would give 40 items sharing one node id on pytest 9.2 (its node
# ids ignore the "[GET /events]" schemathesis puts in the item's name), and pytest-xdist, which
# schedules by node id, then ran one of the 40 in `make test`. With a schema to itself, each
# test probes its path's undeclared methods (405s) itself: an operation sharing its path with
# another (GET and POST /events) repeats that other's probes, 18 cases of 3147.
OPERATIONS = [result.ok() for result in schema.get_all_operations()]
for _operation in OPERATIONS:
    globals()[_test_name(_operation)] = _conformance_test(schema.include(name=_operation.label))


HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def _items(collector: pytest.Collector) -> list[pytest.Item]:
    found: list[pytest.Item] = []
    for node in collector.collect():
        found.extend([node] if isinstance(node, pytest.Item) else _items(node))
    return found


def test_each_operation_is_an_item_of_its_own(request):
    """Every operation of the document is collected once, under a node id of its own.

    pytest-xdist runs one item per node id: items sharing one would silently go unrun (as 39
    of 40 once did). A run that selected only part of this module has it collected again.
    """
    here = [item for item in request.session.items if item.path == request.node.path]
    if len(here) != len(OPERATIONS) + 1:  # a run that selected only part of the module
        here = _items(request.node.getparent(pytest.Module))  # ~2 s: coverage cases built
    ids = [item.nodeid for item in here if item.name != request.node.name]
    in_document = [(method, path) for path, item in openapi.document()["paths"].items()
                   for method in item if method in HTTP_METHODS]
    assert len(ids) == len(OPERATIONS) == len(in_document), ids
    assert len(set(ids)) == len(ids), sorted(ids)
