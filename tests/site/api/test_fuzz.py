"""schemathesis against the live API (gunicorn, on SQLite and PostgreSQL, a seeded catalogue):
every operation with generated valid and invalid input, then the stateful links (a list to
its items, an event to its talks, a follow to its undo). No answer may be a 500, and every
answer must be what the OpenAPI document says: status, content type, headers, body."""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.site.api.live import live_api

pytestmark = [pytest.mark.slow]
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES = 12  # per operation and mode: bounded, so both databases take a couple of minutes on a loaded machine
SETTINGS = hypothesis.settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
    suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
)


def fuzz_operation(operation, mode: GenerationMode, base: str, headers: dict, statuses: set) -> list[str]:
    failures: list[str] = []

    @SETTINGS
    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    def run(case):
        response = case.call(base_url=base, headers=headers, timeout=60)
        statuses.add((operation.label, response.status_code))
        try:
            case.validate_response(response, checks=CHECKS)
        except Exception as failure:  # schemathesis' failure group: noted, and the next example goes on
            failures.append(f"{operation.label} ({mode.value}) {case.path_parameters} {case.query}: {failure}")

    run()
    return failures


def test_the_live_api_keeps_its_openapi_document(database_url, tmp_path, redis_client):
    with live_api(database_url, tmp_path, LANYARD_API_RATE="1000000", LANYARD_API_TOKEN_RATE="1000000") as (base,
                                                                                                            token):
        schema = schemathesis.openapi.from_url(f"{base}/api/v1/openapi.json")
        headers = {"Authorization": f"Bearer {token}"}
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 14  # every operation, read and write, public and personal
        failures, statuses = [], set()
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                failures += fuzz_operation(operation, mode, base, headers, statuses)
        assert not failures, "\n".join(failures[:20])
        # The fuzzer got past the door: every list answered with data, and bad input was refused.
        lists = {op.label for op in operations if op.method == "get" and "{" not in op.path}
        assert lists <= {label for label, status in statuses if status == 200}
        assert {422, 200} <= {status for _, status in statuses}
        _stateful(schema, base, headers)


def _stateful(schema, base: str, headers: dict) -> None:
    """The links of the document, followed: events → an event → its talk → its event, …"""
    workflow = schema.as_state_machine()

    class Workflow(workflow):
        def get_call_kwargs(self, case):
            return {"base_url": base, "headers": headers, "timeout": 60}

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Workflow.run(settings=hypothesis.settings(
        max_examples=EXAMPLES * 2, stateful_step_count=6, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
    ))
