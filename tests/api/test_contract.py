"""Schemathesis against the app's own OpenAPI document: every operation, authenticated as
an admin, on a SQLite store with real data; no 5xx, and every response matches its schema."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import World

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_openapi_contract(world: World) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=25, deadline=None, database=None,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: schemathesis.Case) -> None:
            case.headers = {**(case.headers or {}), **world.admin}
            response = case.call()
            case.validate_response(response, checks=[
                not_a_server_error, response_schema_conformance, status_code_conformance])

        check()
        ran += 1
    assert ran >= 20
