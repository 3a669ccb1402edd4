"""The repository contract of the instrument master: replaced whole, read back exactly.

Each test runs on the fake, SQLite and PostgreSQL (``contract.py`` says why and how).
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from order_service.domain.instrument import Instrument
from tests.integration.db.contract import AT, UowFactory, read, write

pytestmark = pytest.mark.asyncio

INFY = Instrument("NSE", "INFY", 408065, "INFOSYS", "EQ", "NSE", Decimal("0.05"), 1)
OPTION = Instrument(
    "NFO", "NIFTY26DEC26150CE", 13238786, "NIFTY", "CE", "NFO-OPT", Decimal("0.05"), 75,
    expiry=date(2026, 12, 29), strike=Decimal("26150.50"), freeze_quantity=1800,
)  # fmt: skip


@pytest.fixture
def uow_factory(any_uow_factory: UowFactory) -> UowFactory:
    return any_uow_factory


async def test_nothing_is_stored_until_a_master_is_loaded(uow_factory: UowFactory) -> None:
    assert await read(uow_factory, lambda uow: uow.instruments.load()) is None
    assert await read(uow_factory, lambda uow: uow.instruments.load_time()) is None


async def test_a_master_comes_back_exactly_and_a_new_load_replaces_it(
    uow_factory: UowFactory,
) -> None:
    await write(uow_factory, lambda uow: uow.instruments.replace_all([INFY, OPTION], AT))
    first = await read(uow_factory, lambda uow: uow.instruments.load())
    assert first is not None
    assert first.loaded_at == AT
    assert sorted(first, key=lambda i: i.key) == [OPTION, INFY]
    assert first.require("NFO", OPTION.tradingsymbol).strike == Decimal("26150.50")

    later = AT + timedelta(days=1)
    await write(uow_factory, lambda uow: uow.instruments.replace_all([INFY], later))

    second = await read(uow_factory, lambda uow: uow.instruments.load())
    assert second is not None
    assert (list(second), second.loaded_at) == ([INFY], later)
    assert await read(uow_factory, lambda uow: uow.instruments.load_time()) == later
