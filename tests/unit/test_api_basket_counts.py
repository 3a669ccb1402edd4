"""A basket's answer counts each leg by its outcome: placed now, repeated, unknown or refused."""

from __future__ import annotations

import httpx
import pytest

from order_service.errors import BrokerOutcomeUnknown
from tests.unit.answers import LIMIT, body
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio
ORDER = {k: v for k, v in LIMIT.items() if k != "account_id"}
LEGS = [{"account_id": "PAPER1", "multiplier": 1}, {"account_id": "NOSUCH1", "multiplier": 1}]


def counts(answer: dict[str, object]) -> tuple[object, ...]:
    return tuple(answer[name] for name in ("placed", "repeated", "unknown", "failed"))


async def test_a_repeated_basket_counts_its_legs_repeated_not_placed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    basket = {"order": ORDER, "legs": LEGS, "basket_id": "b-1"}

    first = body(await trader_api.post("/api/v1/baskets", json=basket))
    again = body(await trader_api.post("/api/v1/baskets", json=basket))

    assert counts(first) == (1, 0, 0, 1)
    assert counts(again) == (0, 1, 0, 1)
    assert world.broker.calls["place_order"] == 1


async def test_a_leg_whose_answer_was_lost_is_counted_unknown_not_placed(
    world: World, trader_api: httpx.AsyncClient
) -> None:
    world.broker.fail_next("place_order", BrokerOutcomeUnknown(), after_accept=True)
    basket = {"order": ORDER, "legs": LEGS[:1], "basket_id": "b-2"}

    answer = body(await trader_api.post("/api/v1/baskets", json=basket))

    assert counts(answer) == (0, 0, 1, 0)
    assert answer["legs"][0]["outcome"] == "unknown"
