"""The OpenAPI document says what the server answers: a placement's 201, 200 (a repeat) and
202 (``UNKNOWN``, with ``Location``), links from a placed order to its own routes, and the one
error envelope for every error status."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import pytest_asyncio

from order_service.domain.order import MAX_QUANTITY
from tests.unit.answers import body

pytestmark = pytest.mark.asyncio
PLACED = "#/components/schemas/PlacedOrderOut"
ENVELOPE = "#/components/schemas/ErrorBody"


@pytest_asyncio.fixture
async def document(anonymous_api: httpx.AsyncClient) -> dict[str, Any]:
    found: dict[str, Any] = body(await anonymous_api.get("/openapi.json"))
    return found


def operations(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every operation by its id."""
    return {
        operation["operationId"]: operation
        for path in document["paths"].values()
        for operation in path.values()
    }


def schema_of(response: dict[str, Any]) -> str:
    return str(response["content"]["application/json"]["schema"]["$ref"])


async def test_a_placement_declares_its_new_repeated_and_unknown_answers(
    document: dict[str, Any],
) -> None:
    answers = document["paths"]["/api/v1/orders"]["post"]["responses"]

    assert {schema_of(answers[status]) for status in ("200", "201", "202")} == {PLACED}
    assert "repeat" in answers["200"]["description"]
    assert "UNKNOWN" in answers["202"]["description"]
    assert set(answers["202"]["headers"]) == {"Location"}


async def test_a_placed_order_links_to_its_own_routes(document: dict[str, Any]) -> None:
    answers = document["paths"]["/api/v1/orders"]["post"]["responses"]
    by_id = operations(document)

    for status in ("200", "201", "202"):
        links = answers[status]["links"]
        assert {link["operationId"] for link in links.values()} == {
            "get_order",
            "modify_order",
            "cancel_order",
            "order_events",
        }
        for link in links.values():
            target = by_id[link["operationId"]]
            names = {p["name"] for p in target["parameters"] if p["in"] == "path"}
            assert set(link["parameters"]) == names == {"order_id"}
            assert link["parameters"]["order_id"] == "$response.body#/order_id"


async def test_every_link_names_an_operation_of_the_document(document: dict[str, Any]) -> None:
    by_id = operations(document)
    links = [
        link
        for operation in by_id.values()
        for answer in operation["responses"].values()
        for link in answer.get("links", {}).values()
    ]

    assert links
    assert all(link["operationId"] in by_id for link in links)


async def test_every_error_an_operation_declares_is_the_envelope(document: dict[str, Any]) -> None:
    errors = [
        (operation_id, status, answer)
        for operation_id, operation in operations(document).items()
        for status, answer in operation["responses"].items()
        if int(status) >= 400
    ]

    assert errors
    for operation_id, status, answer in errors:
        assert schema_of(answer) == ENVELOPE, (operation_id, status)


async def test_the_login_redirect_is_declared_as_a_redirect(document: dict[str, Any]) -> None:
    answers = document["paths"]["/api/v1/accounts/{account_id}/login"]["get"]["responses"]

    assert set(answers["302"]["headers"]) == {"Location"}
    assert "content" not in answers["302"]


async def test_the_order_examples_are_orders_the_service_places(
    document: dict[str, Any], trader_api: httpx.AsyncClient
) -> None:
    examples = document["components"]["schemas"]["OrderIn"]["examples"]

    placed = [await trader_api.post("/api/v1/orders", json=example) for example in examples]

    assert [answer.status_code for answer in placed] == [201] * len(examples)
    assert {answer.json()["order_type"] for answer in placed} == {"LIMIT", "SL"}


_PYDANTIC_BOUNDS = frozenset({"gt", "ge", "lt", "le"})  # not JSON Schema: a validator ignores them


def _schemas_with_pydantic_bounds(node: Any, path: str = "") -> list[str]:
    """The paths of every schema in ``node`` whose bounds are Pydantic's words, not JSON
    Schema's (a property named ``le`` in ``properties`` is a name, not a bound)."""
    found: list[str] = []
    if isinstance(node, dict):
        if _PYDANTIC_BOUNDS & set(node) and not path.endswith("/properties"):
            found.append(path)
        for key, value in node.items():
            found += _schemas_with_pydantic_bounds(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _schemas_with_pydantic_bounds(value, f"{path}/{index}")
    return found


async def test_every_bound_is_stated_in_json_schema_words(document: dict[str, Any]) -> None:
    assert _schemas_with_pydantic_bounds(document) == []
    quantity = document["components"]["schemas"]["OrderIn"]["properties"]["quantity"]
    assert (quantity["type"], quantity["exclusiveMinimum"], quantity["maximum"]) == (
        "integer",
        0,
        MAX_QUANTITY,
    )
