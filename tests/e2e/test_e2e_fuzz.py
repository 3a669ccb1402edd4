"""Bad input, generated from our own OpenAPI: never a 5xx, every error in the one envelope."""

from __future__ import annotations

from collections import Counter
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.e2e.harness import ServiceThread

ENVELOPE = {"code", "message", "details", "retryable", "request_id"}


def _operations(service: ServiceThread) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{service.url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.slow
# Up to 100 s alone; `make test` runs it beside another test process on two cores.
@pytest.mark.timeout(300)
def test_no_generated_request_fails_the_service_or_leaves_the_envelope(
    service: ServiceThread, admin: httpx.Client
) -> None:
    operations = _operations(service)
    assert len(operations) >= 10
    headers = {"Authorization": f"Bearer {service.api_key}"}
    seen: set[str] = set()
    statuses: Counter[int] = Counter()

    @settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.one_of(*(operation.as_strategy() for operation in operations)))
    def check(case: Any) -> None:
        if case.method == "DELETE" and "account_id" in (case.path_parameters or {}):
            case.path_parameters["account_id"] = "NOSUCH0"  # keep the demo account in place
        response = case.call(base_url=service.url, headers=headers)
        seen.add(f"{case.method} {case.path}")
        statuses[response.status_code] += 1
        assert response.status_code < 500, (case.method, case.formatted_path, response.text)
        if response.status_code >= 400:
            assert response.headers["content-type"][0].startswith("application/json")
            body = response.json()
            assert set(body) == {"error"}, body
            assert set(body["error"]) == ENVELOPE

    check()
    assert len(seen) >= len(operations) // 2  # the run really spread over the API
    assert sum(n for status, n in statuses.items() if status < 400) > 0, statuses  # got past auth
