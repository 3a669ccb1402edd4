"""An exit placed in the Kite app, attributed: the real service and workers, the paper broker
and the official SDK on both sides.

Two strategies of a paper account buy INFY through our API; the account's own user then
sells part of it straight at the broker (no tag of ours, as the Kite app would). The order
sync records it as external, the trade sync its fills, the attribution worker opens a case;
a person resolves it (a wrong sum first: 422) and applies it, and ``/positions`` by strategy
moves. The same flow runs on PostgreSQL in ``test_e2e_postgres``.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.harness import ServiceThread, add_paper_account, error_body, wait_for
from tests.e2e.test_e2e_books import kite_of, place


def test_an_app_exit_across_two_strategies_is_a_case_resolved_into_the_books(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    attribution_flow(api, admin, service, paper)


def attribution_flow(
    api: httpx.Client, admin: httpx.Client, service: ServiceThread, paper: str
) -> None:
    account = add_paper_account(api, admin)
    alpha, beta = (_strategy(api, account, name) for name in ("alpha", "beta"))
    for strategy_id, quantity in ((alpha, 5), (beta, 3)):
        place(api, account, strategy_id=strategy_id, force=True, quantity=quantity, **_INFY)
    kite = kite_of(service, paper, account)

    kite.place_order(
        variety="regular", exchange="NSE", tradingsymbol="INFY", transaction_type="SELL",
        quantity=6, product="MIS", order_type="MARKET", market_protection=-1,
    )  # fmt: skip

    case = wait_for(lambda: _open_case(api, account), timeout=30)
    assert isinstance(case, dict)
    assert (case["quantity"], case["transaction_type"]) == (6, "SELL")
    assert {h["strategy_id"]: h["quantity"] for h in case["holders"]} == {alpha: 5, beta: 3}
    path = f"/api/v1/attribution-cases/{case['attribution_id']}"
    short = api.post(f"{path}/resolve", json=_shares({alpha: 4, beta: 1}))
    assert error_body(short, 422, "INVALID_INPUT")["details"]["sum"] == 5
    resolved = api.post(f"{path}/resolve", json=_shares({alpha: 4, beta: 2}))
    assert resolved.status_code == 200, resolved.text

    applied = api.post(f"{path}/apply")

    assert applied.status_code == 200, applied.text
    assert applied.json()["status"] == "applied"
    assert _held(api, account) == {alpha: 1, beta: 1}
    events = api.get(f"/api/v1/orders/{case['order_id']}/events").json()
    assert [e["name"] for e in events][-1] == "AttributionCaseApplied"


_INFY = {
    "exchange": "NSE",
    "tradingsymbol": "INFY",
    "transaction_type": "BUY",
    "product": "MIS",
}


def _strategy(api: httpx.Client, account: str, name: str) -> str:
    made = api.post("/api/v1/strategies", json={"account_id": account, "name": name})
    assert made.status_code == 201, made.text
    return str(made.json()["strategy_id"])


def _open_case(api: httpx.Client, account: str) -> dict[str, Any] | None:
    page = api.get("/api/v1/attribution-cases", params={"account_id": account, "status": "open"})
    items: list[dict[str, Any]] = page.json()["items"] if page.status_code == 200 else []
    return items[0] if items else None


def _shares(quantities: dict[str, int]) -> dict[str, Any]:
    return {"allocations": [{"strategy_id": s, "quantity": q} for s, q in quantities.items()]}


def _held(api: httpx.Client, account: str) -> dict[str, int]:
    params = {"account_id": account, "group_by": "strategy"}
    lines = api.get("/api/v1/positions", params=params).json()
    return {
        line["strategy_id"]: line["net"]["quantity"]
        for line in lines
        if line["net"]["tradingsymbol"] == "INFY" and line["net"]["quantity"]
    }
