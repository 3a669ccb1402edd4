"""The client's retries: one idempotency key per placement, Retry-After honoured, no duplicate."""

from __future__ import annotations

import httpx
import pytest

from order_service.client import errors
from tests.unit.client_fakes import ORDER, Script, envelope, limit_order


def test_a_placement_is_retried_under_the_same_key_until_answered() -> None:
    script = Script(
        envelope(503, "SERVICE_UNAVAILABLE"),
        httpx.ReadTimeout("lost"),
        envelope(429, "RATE_LIMITED", {"Retry-After": "2"}),
        httpx.Response(201, json=ORDER),
    )
    placed = limit_order(script.client())
    keys = {request.headers["Idempotency-Key"] for request in script.requests}
    assert len(script.requests) == 4
    assert keys == {placed.idempotency_key}
    assert placed.created
    assert placed.order["order_id"] == "01JORDER"
    assert len(script.slept) == 3
    assert script.slept[2] == 2.0  # the service's Retry-After, exactly


def test_every_call_is_a_new_logical_order_with_its_own_key() -> None:
    script = Script(httpx.Response(201, json=ORDER), httpx.Response(201, json=ORDER))
    client = script.client()
    first, second = limit_order(client), limit_order(client)
    assert first.idempotency_key != second.idempotency_key
    assert [r.headers["Idempotency-Key"] for r in script.requests] == [
        first.idempotency_key,
        second.idempotency_key,
    ]


def test_a_given_key_is_sent_and_a_repeat_is_told_apart() -> None:
    script = Script(httpx.Response(200, json=ORDER))
    placed = limit_order(script.client(), idempotency_key="my-order-1")
    assert script.requests[0].headers["Idempotency-Key"] == "my-order-1"
    assert placed.repeat
    assert not placed.created


def test_an_unknown_outcome_is_returned_not_placed_again() -> None:
    script = Script(httpx.Response(202, json={**ORDER, "status": "UNKNOWN"}))
    placed = limit_order(script.client())
    assert placed.unknown
    assert placed.order["status"] == "UNKNOWN"
    assert len(script.requests) == 1
    assert script.slept == []


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (422, "RISK_REJECTED"),
        (409, "IDEMPOTENCY_CONFLICT"),
        (504, "BROKER_OUTCOME_UNKNOWN"),
        (502, "BROKER_ERROR"),
        (403, "TRADING_HALTED"),
    ],
)
def test_a_refusal_that_is_not_retryable_is_raised_at_once(status: int, code: str) -> None:
    script = Script(envelope(status, code))
    with pytest.raises(errors.ClientError) as raised:
        limit_order(script.client())
    assert raised.value.error_code == code
    assert raised.value.idempotency_key == script.requests[0].headers["Idempotency-Key"]
    assert len(script.requests) == 1
    assert script.slept == []


def test_the_retries_run_out_and_the_last_refusal_is_raised_with_the_key() -> None:
    script = Script(*[envelope(503, "BROKER_UNAVAILABLE") for _ in range(3)])
    with pytest.raises(errors.BrokerUnavailable) as raised:
        limit_order(script.client(retries=2))
    assert len(script.requests) == 3
    assert raised.value.idempotency_key == script.requests[0].headers["Idempotency-Key"]


def test_the_backoff_doubles_without_retry_after() -> None:
    script = Script(
        *[envelope(503, "DATABASE_UNAVAILABLE") for _ in range(3)], httpx.Response(200, json=ORDER)
    )
    client = script.client()
    client.get_order("01JORDER")
    assert len(script.slept) == 3
    assert all(b > a for a, b in zip(script.slept, script.slept[1:], strict=False))
    assert all(0.125 <= s <= 1.0 for s in script.slept)


def test_a_retry_after_longer_than_the_caller_waits_is_raised() -> None:
    script = Script(envelope(429, "RATE_LIMITED", {"Retry-After": "3600"}))
    with pytest.raises(errors.RateLimited) as raised:
        script.client().get_order("01JORDER")
    assert raised.value.retry_after == 3600.0
    assert script.slept == []


def test_a_modify_whose_answer_was_lost_is_not_sent_again() -> None:
    script = Script(httpx.ReadTimeout("lost"))
    with pytest.raises(errors.TransportError):
        script.client().modify_order("01JORDER", price="1460.00")
    assert len(script.requests) == 1


def test_a_cancel_that_never_connected_is_sent_again() -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(200, json=ORDER))
    order = script.client().cancel_order("01JORDER")
    assert order["order_id"] == "01JORDER"
    assert [r.method for r in script.requests] == ["DELETE", "DELETE"]


def test_a_read_retries_a_lost_answer_then_gives_up_as_a_transport_error() -> None:
    script = Script(httpx.ReadError("reset"), httpx.ReadError("reset"))
    with pytest.raises(errors.TransportError):
        script.client(retries=1).list_orders()
    assert len(script.requests) == 2


def test_a_basket_keeps_its_id_on_every_retry() -> None:
    script = Script(envelope(503, "SERVICE_UNAVAILABLE"), httpx.Response(200, json={"legs": []}))
    script.client().place_basket(
        {"exchange": "NSE", "tradingsymbol": "INFY"}, [{"account_id": "PAPER1"}]
    )
    bodies = [request.content for request in script.requests]
    assert bodies[0] == bodies[1]
    assert b'"basket_id"' in bodies[0]
