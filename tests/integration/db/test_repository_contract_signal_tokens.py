"""The repository contract of signal tokens: found by the hash of the secret, live ones only.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from order_service.domain.account import Principal, Role
from order_service.domain.ids import SignalTokenId, UserId
from order_service.domain.signal import OrderTemplate, SignalToken
from order_service.domain.values import Exchange, OrderType, Product, TransactionType
from tests.integration.db.conftest import Seed
from tests.integration.db.contract import AT, UowFactory, read, write

pytestmark = [pytest.mark.asyncio]
OWNER = Principal(UserId("01JOWNER000000000000000000"), "owner", frozenset({Role.TRADER}))
TEMPLATE = OrderTemplate.create(
    exchange=Exchange.NSE,
    product=Product.MIS,
    order_type=OrderType.LIMIT,
    tradingsymbol="INFY",
    transaction_type=TransactionType.BUY,
    max_quantity=25,
)


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


def _token(seed: Seed, number: int) -> SignalToken:
    return SignalToken(
        SignalTokenId(f"01JSIGNAL{number:017d}"),
        seed.momentum_a,
        seed.account_a,
        OWNER.user_id,
        TEMPLATE,
        AT + timedelta(seconds=number),
    )


async def test_a_token_is_found_by_its_hash_until_revoked(
    uow_factory: UowFactory, seed: Seed
) -> None:
    first, second = _token(seed, 1), _token(seed, 2)
    await write(uow_factory, lambda uow: uow.users.add(OWNER, AT))
    await write(uow_factory, lambda uow: uow.signal_tokens.add(first, "a" * 64))
    await write(uow_factory, lambda uow: uow.signal_tokens.add(second, "b" * 64))

    assert await read(uow_factory, lambda uow: uow.signal_tokens.by_hash("a" * 64)) == first
    assert await read(uow_factory, lambda uow: uow.signal_tokens.by_hash("c" * 64)) is None
    await write(uow_factory, lambda uow: uow.signal_tokens.revoke(
        seed.momentum_a, first.token_id, AT))  # fmt: skip

    assert await read(uow_factory, lambda uow: uow.signal_tokens.by_hash("a" * 64)) is None
    listed = await read(uow_factory, lambda uow: uow.signal_tokens.list(seed.momentum_a))
    assert [(t.token_id, t.is_revoked) for t in listed] == [
        (first.token_id, True),
        (second.token_id, False),
    ]
    assert listed[1].template == TEMPLATE


async def test_only_a_live_token_of_the_named_strategy_is_revoked(
    uow_factory: UowFactory, seed: Seed
) -> None:
    token = _token(seed, 1)
    await write(uow_factory, lambda uow: uow.users.add(OWNER, AT))
    await write(uow_factory, lambda uow: uow.signal_tokens.add(token, "a" * 64))

    other = await read(uow_factory, lambda uow: uow.signal_tokens.revoke(
        seed.default_a, token.token_id, AT))  # fmt: skip
    missing = await read(uow_factory, lambda uow: uow.signal_tokens.revoke(
        seed.momentum_a, SignalTokenId("01JNOSUCH0000000000000000"), AT))  # fmt: skip

    assert (other, missing) == (False, False)
    assert await read(uow_factory, lambda uow: uow.signal_tokens.by_hash("a" * 64)) == token
