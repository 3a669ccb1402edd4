"""Injected faults produce exactly what KITE.md 3.5 says the unmodified SDK raises."""

from __future__ import annotations

import time

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import (
    DataException,
    GeneralException,
    NetworkException,
    OrderException,
    TokenException,
)

from paper_broker.faults import parse_fault_spec
from tests.integration.paper_broker.conftest import Paper, start_server


def test_timeout_after_accept_times_the_client_out_but_keeps_the_order(paper: Paper) -> None:
    kite = paper.login(timeout=0.5)
    paper.fault(route="place_order", kind="timeout_after_accept", delay_ms=1500, count=1)

    with pytest.raises(requests.exceptions.ReadTimeout):
        paper.place_market(kite, tag="lost1")

    (order,) = kite.orders()
    assert order["tag"] == "lost1"
    assert order["status"] == "COMPLETE"


def test_error_after_accept_is_a_503_network_exception_with_the_order_placed(
    paper: Paper, kite: KiteConnect
) -> None:
    paper.fault(route="place_order", kind="error_after_accept", count=1)

    with pytest.raises(NetworkException, match=r"Request failed \(kitetrade-oms\)") as raised:
        paper.place_market(kite, tag="ghost")

    assert raised.value.code == 503
    assert [order["tag"] for order in kite.orders()] == ["ghost"]


def test_reject_refuses_the_order_without_creating_it(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="place_order", kind="reject", message="Order blocked by RMS.", count=1)

    with pytest.raises(OrderException, match=r"Order blocked by RMS\.") as raised:
        paper.place_market(kite)

    assert raised.value.code == 400
    assert kite.orders() == []


def test_an_insufficient_funds_rejection_is_a_margin_exception(
    paper: Paper, kite: KiteConnect
) -> None:
    message = "Insufficient funds. Required margin is 10.00 but available margin is 1.00."
    paper.fault(route="place_order", kind="reject", message=message, count=1)

    with pytest.raises(GeneralException, match="Insufficient funds") as raised:
        paper.place_market(kite)

    assert type(raised.value) is GeneralException
    assert raised.value.code == 400


def test_http_429_is_a_network_exception(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="orders", kind="http_429", count=1)

    with pytest.raises(NetworkException, match="Too many requests") as raised:
        kite.orders()

    assert raised.value.code == 429
    assert kite.orders() == []


@pytest.mark.parametrize("kind", ["html_429", "html_502", "html_504"])
def test_gateway_html_pages_are_data_exceptions_with_code_502(
    paper: Paper, kite: KiteConnect, kind: str
) -> None:
    paper.fault(route="trades", kind=kind, count=1)

    with pytest.raises(DataException, match=r"Unknown Content-Type \(text/html") as raised:
        kite.trades()

    assert raised.value.code == 502
    assert kite.trades() == []


def test_html_page_keeps_its_real_status_on_the_wire(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="positions", kind="html_504", count=1)

    reply = requests.get(
        f"{paper.url}/portfolio/positions",
        headers={"Authorization": f"token paper:{kite.access_token}"},
        timeout=5,
    )

    assert reply.status_code == 504
    assert reply.headers["content-type"].startswith("text/html")


def test_latency_delays_but_answers(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="*", kind="latency", delay_ms=300, count=1)
    started = time.monotonic()

    assert kite.profile()["user_id"] == "PAPER1"

    assert time.monotonic() - started >= 0.3


def test_token_expired_revokes_the_session_and_calls_the_hook_once(
    paper: Paper, kite: KiteConnect
) -> None:
    calls: list[None] = []
    kite.set_session_expiry_hook(lambda: calls.append(None))
    paper.fault(route="positions", kind="token_expired", count=1)

    with pytest.raises(TokenException) as raised:
        kite.positions()

    assert raised.value.code == 403
    assert len(calls) == 1
    with pytest.raises(TokenException):
        kite.profile()


def test_rms_reject_accepts_then_rejects_the_order(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="place_order", kind="rms_reject", message="Margin exceeds limit", count=1)

    order_id = paper.place_market(kite)

    last = kite.order_history(order_id)[-1]
    assert last["status"] == "REJECTED"
    assert last["status_message"] == "RMS:Margin exceeds limit"
    assert kite.trades() == []


def test_reset_drops_the_connection_after_accepting(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="place_order", kind="reset", count=1)

    with pytest.raises(requests.exceptions.RequestException):
        paper.place_market(kite, tag="cut")

    assert [order["tag"] for order in kite.orders()] == ["cut"]


def test_count_limits_a_fault_to_the_next_calls(paper: Paper, kite: KiteConnect) -> None:
    paper.fault(route="profile", kind="http_429", count=2)

    outcomes = []
    for _ in range(4):
        try:
            kite.profile()
            outcomes.append("ok")
        except NetworkException:
            outcomes.append("429")

    assert outcomes == ["429", "429", "ok", "ok"]


def test_other_routes_are_untouched_and_faults_can_be_cleared(
    paper: Paper, kite: KiteConnect
) -> None:
    paper.fault(route="place_order", kind="http_429")

    assert kite.orders() == []
    with pytest.raises(NetworkException):
        paper.place_market(kite)
    paper.clear_faults()
    assert paper.place_market(kite)


def _pattern(paper: Paper) -> list[bool]:
    paper.post("reset", {})
    kite = paper.login()
    paper.fault(route="*", kind="http_429", probability=0.5)
    hits = []
    for _ in range(30):
        try:
            kite.margins()
            hits.append(False)
        except NetworkException:
            hits.append(True)
    return hits


def test_probabilistic_faults_repeat_under_the_same_seed(paper: Paper) -> None:
    first, second = _pattern(paper), _pattern(paper)

    assert first == second
    assert 5 < sum(first) < 25


def test_bad_fault_specs_are_refused(paper: Paper) -> None:
    for spec in (
        {"route": "place_order", "kind": "explode"},
        {"route": "nowhere", "kind": "latency"},
        {"route": "*", "kind": "latency", "probability": 2},
        {"route": "*", "kind": "latency", "count": 0},
    ):
        reply = requests.post(f"{paper.url}/_admin/faults", json=spec, timeout=5)
        assert reply.status_code == 400
        assert reply.json()["error_type"] == "InputException"


def test_faults_from_the_configuration_are_answered_from_the_start_and_after_a_reset() -> None:
    spec = parse_fault_spec("kind=http_429,route=place_order,count=1")
    server = start_server(faults=(spec,))
    try:
        paper = Paper(server.url)
        kite = paper.login()
        for _ in range(2):
            with pytest.raises(NetworkException, match="Too many requests") as raised:
                paper.place_market(kite)
            assert raised.value.code == 429
            assert paper.place_market(kite)
            paper.post("reset", {})
            kite = paper.login()
    finally:
        server.stop()
