"""Fuzz every `/api/v1` operation from our own OpenAPI document against a real server: no input may
produce a 5xx, and every response must match the document (status codes, content types, schemas)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from tests.servers import running_server

from loa.settings import Settings

EXAMPLES_PER_OPERATION = 30
# A schema cannot say "a real phone number" or "an existing commune": a well-typed value we refuse with a
# clear 4xx is correct, so the check that every schema-valid request succeeds does not apply.
SEMANTIC_CHECKS = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(scope="module")
def live_server(base_settings: Settings, reference_data: None) -> Iterator[str]:
    with running_server(base_settings) as base_url:
        yield base_url


def test_no_generated_input_makes_the_api_fail(live_server: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_server}/openapi.json")
    failures: list[str] = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case: schemathesis.Case) -> None:
            case.call_and_validate(excluded_checks=SEMANTIC_CHECKS)

        try:
            exercise()
        except Exception as exc:  # collect every operation's failure, then report them together
            failures.append(f"{operation.label}: {exc}")
    assert operations > 20
    assert not failures, "\n\n".join(failures)
