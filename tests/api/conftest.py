"""The API modules' world, built once per module where the module is marked ``rolled_back``.

A module marked ``rolled_back`` gets its ``world`` mark's world built once, in a transaction
never committed (``shared_world``, tests/support/world.py); every test of it runs in a
savepoint rolled back after it (``_rolled_back_case``), so each starts from that world exactly,
as from a world of its own. Module-level extras built on it (``module_world``'s dependants,
e.g. test_api_proposals' proposals) are built once in the same transaction, before any case.
Other modules get a world of their own per test (tests/conftest.py ``world``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.support.world import SharedWorld, shared_world, world_for


def _rolled_back(request: pytest.FixtureRequest) -> bool:
    return request.node.get_closest_marker("rolled_back") is not None


@pytest.fixture(scope="module")
def module_world(request: pytest.FixtureRequest) -> Iterator[SharedWorld]:
    """The module's world and its transaction, built before the module's first test."""
    assert _rolled_back(request), "module_world is for modules marked rolled_back"
    with shared_world(request) as shared:
        yield shared


@pytest.fixture(autouse=True)
def _rolled_back_case(request: pytest.FixtureRequest) -> Iterator[None]:
    """In a ``rolled_back`` module, each test in a savepoint of the module's world, rolled back."""
    if not _rolled_back(request):
        yield
        return
    shared: SharedWorld = request.getfixturevalue("module_world")
    with shared.rolled_back.case():
        yield


@pytest.fixture()
def world(request: pytest.FixtureRequest) -> Any:
    """The module's shared world when it is ``rolled_back``, else one of the test's own."""
    if _rolled_back(request):
        return request.getfixturevalue("module_world").world
    return world_for(request)
