"""Baskets over HTTP: one order on several accounts, each leg idempotent, partial success."""

from __future__ import annotations

import uuid

import httpx

from tests.e2e.harness import MARKET, add_paper_account

ORDER = {key: value for key, value in MARKET.items() if key != "account_id"}


def test_a_basket_places_one_leg_per_account_with_partial_success(
    api: httpx.Client, admin: httpx.Client
) -> None:
    second = add_paper_account(api, admin)
    body = {
        "order": ORDER,
        "legs": [
            {"account_id": "PAPER1", "multiplier": 1},
            {"account_id": second, "multiplier": 3},
            {"account_id": "NOSUCH1", "multiplier": 1},
        ],
    }
    key = {"Idempotency-Key": uuid.uuid4().hex}
    response = api.post("/api/v1/baskets", json=body, headers=key)
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["placed"], result["repeated"], result["unknown"], result["failed"]) == (
        2,
        0,
        0,
        1,
    )
    legs = {leg["account_id"]: leg for leg in result["legs"]}
    assert legs["PAPER1"]["outcome"] == "placed"
    assert legs[second]["order"]["quantity"] == 3
    assert legs["NOSUCH1"]["http_status"] == 404
    assert legs["NOSUCH1"]["error"]["code"] == "NOT_FOUND"

    again = api.post("/api/v1/baskets", json=body, headers=key).json()
    assert (again["placed"], again["repeated"], again["failed"]) == (0, 2, 1)  # nothing new
    repeated = {leg["account_id"]: leg for leg in again["legs"]}
    assert repeated["PAPER1"]["outcome"] == "repeated"
    assert repeated["PAPER1"]["order"]["order_id"] == legs["PAPER1"]["order"]["order_id"]
    assert repeated[second]["order"]["order_id"] == legs[second]["order"]["order_id"]


def test_a_basket_without_legs_is_invalid(api: httpx.Client) -> None:
    response = api.post("/api/v1/baskets", json={"order": ORDER, "legs": []})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "INVALID_INPUT"
    twice = {"order": ORDER, "legs": [{"account_id": "PAPER1"}, {"account_id": "PAPER1"}]}
    assert api.post("/api/v1/baskets", json=twice).json()["error"]["details"]["field"] == "legs"
