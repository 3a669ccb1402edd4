"""GTT triggers through the SDK: place, read, modify, delete, and firing on a crossing."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import InputException

if TYPE_CHECKING:
    from conftest import Paper

TRIGGER_FIELDS = {
    "id", "user_id", "parent_trigger", "type", "created_at", "updated_at", "expires_at",
    "status", "condition", "orders", "meta",
}  # fmt: skip
RESULT_FIELDS = {
    "account_id", "exchange", "tradingsymbol", "validity", "product", "order_type",
    "transaction_type", "quantity", "price", "meta", "timestamp", "triggered_at", "order_result",
}  # fmt: skip


def leg(side: str, price: float, quantity: int = 1) -> dict[str, Any]:
    return {
        "transaction_type": side,
        "quantity": quantity,
        "order_type": "LIMIT",
        "product": "CNC",
        "price": price,
    }


def single(kite: KiteConnect, trigger: float, last: float, order: dict[str, Any]) -> int:
    placed = kite.place_gtt(kite.GTT_TYPE_SINGLE, "INFY", "NSE", [trigger], last, [order])
    trigger_id: int = placed["trigger_id"]
    return trigger_id


def test_a_single_trigger_is_stored_as_kite_shows_it(paper: Paper, kite: KiteConnect) -> None:
    last = paper.ltp(kite)
    value = paper.on_tick(last * 0.97)

    trigger_id = single(kite, value, last, leg("BUY", value, 2))

    assert isinstance(trigger_id, int)
    trigger = kite.get_gtt(trigger_id)
    assert set(trigger) == TRIGGER_FIELDS
    assert (trigger["id"], trigger["type"], trigger["status"]) == (trigger_id, "single", "active")
    assert trigger["condition"] == {
        "exchange": "NSE", "last_price": last, "tradingsymbol": "INFY",
        "trigger_values": [value], "instrument_token": 408065,
    }  # fmt: skip
    (order,) = trigger["orders"]
    assert (order["quantity"], order["price"], order["result"]) == (2, value, None)
    assert len(trigger["created_at"]) == len(trigger["expires_at"]) == 19
    assert kite.get_gtts() == [trigger]


def test_a_crossing_places_the_order(paper: Paper, kite: KiteConnect) -> None:
    last = paper.ltp(kite)
    value = paper.on_tick(last * 0.97)
    trigger_id = single(kite, value, last, leg("BUY", value))

    paper.set_prices({"NSE:INFY": str(paper.on_tick(last * 0.96))})

    trigger = kite.get_gtt(trigger_id)
    assert trigger["status"] == "triggered"
    result = trigger["orders"][0]["result"]
    assert set(result) == RESULT_FIELDS
    assert isinstance(result["meta"], str)
    assert result["triggered_at"] == paper.on_tick(last * 0.96)
    outcome = result["order_result"]
    assert (outcome["status"], outcome["rejection_reason"]) == ("success", None)
    (order,) = kite.orders()
    assert order["order_id"] == outcome["order_id"]
    assert (order["order_type"], order["price"], order["status"]) == ("LIMIT", value, "COMPLETE")


def test_a_two_leg_trigger_modified_then_deleted(paper: Paper, kite: KiteConnect) -> None:
    last = paper.ltp(kite)
    low, high = paper.on_tick(last * 0.95), paper.on_tick(last * 1.05)
    placed = kite.place_gtt(
        kite.GTT_TYPE_OCO, "INFY", "NSE", [low, high], last, [leg("SELL", low), leg("SELL", high)]
    )
    trigger_id = placed["trigger_id"]
    lower = paper.on_tick(last * 0.94)

    modified = kite.modify_gtt(
        trigger_id, kite.GTT_TYPE_OCO, "INFY", "NSE", [lower, high], last,
        [leg("SELL", lower), leg("SELL", high)],
    )  # fmt: skip

    assert modified == {"trigger_id": trigger_id}
    assert kite.get_gtt(trigger_id)["condition"]["trigger_values"] == [lower, high]
    assert kite.delete_gtt(trigger_id) == {"trigger_id": trigger_id}
    assert kite.get_gtts() == []
    assert kite.get_gtt(trigger_id)["status"] == "deleted"
    with pytest.raises(InputException, match="Invalid trigger ID"):
        kite.delete_gtt(trigger_id)


def test_bad_triggers_are_input_exceptions(paper: Paper, kite: KiteConnect) -> None:
    last = paper.ltp(kite)
    inside = [paper.on_tick(last * 1.01), paper.on_tick(last * 1.02)]

    with pytest.raises(InputException, match="below and above") as raised:
        kite.place_gtt(
            kite.GTT_TYPE_OCO, "INFY", "NSE", inside, last, [leg("SELL", 1), leg("SELL", 1)]
        )
    assert raised.value.code == 400
    with pytest.raises(InputException, match="Invalid trigger ID"):
        kite.get_gtt(999)
    reply = requests.post(
        f"{paper.url}/gtt/triggers",
        data={"type": "single", "condition": "{", "orders": "[]"},
        headers={"Authorization": f"token paper:{kite.access_token}"},
        timeout=5,
    )
    assert (reply.status_code, reply.json()["message"]) == (400, "Invalid `condition`.")


def test_the_sdk_refuses_bad_trigger_lists_without_calling(paper: Paper, kite: KiteConnect) -> None:
    with pytest.raises(InputException, match="invalid `trigger_values`"):
        kite.place_gtt(kite.GTT_TYPE_SINGLE, "INFY", "NSE", [1, 2], 1, [leg("BUY", 1)])


@pytest.mark.parametrize("exchange", [["NSE"], {"x": 1}, 7, None], ids=str)
def test_an_exchange_that_is_no_text_is_an_input_error(
    paper: Paper, kite: KiteConnect, exchange: object
) -> None:
    condition = {"exchange": exchange, "tradingsymbol": "INFY", "trigger_values": [1.0]}
    reply = requests.post(
        f"{paper.url}/gtt/triggers",
        data={"type": "single", "condition": json.dumps(condition), "orders": "[]"},
        headers={"Authorization": f"token paper:{kite.access_token}"},
        timeout=5,
    )
    assert (reply.status_code, reply.json()["error_type"]) == (400, "InputException")
