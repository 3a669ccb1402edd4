"""Money comes back exact and instants come back aware, on both engines."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import StatementError
from sqlalchemy.ext.asyncio import AsyncEngine

from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.types import ExactDecimal, UtcDateTime

IST = timezone(timedelta(hours=5, minutes=30))
probe_metadata = MetaData()
probes = Table(
    "type_probes",
    probe_metadata,
    Column("id", Integer, primary_key=True),
    Column("amount", ExactDecimal(), nullable=True),
    Column("at", UtcDateTime(), nullable=True),
)


@pytest_asyncio.fixture
async def probe_engine(engine_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(engine_url)
    async with engine.begin() as connection:
        await connection.run_sync(probe_metadata.create_all)
    yield engine
    await engine.dispose()


async def _round_trip(engine: AsyncEngine, **values: Any) -> Any:
    async with engine.begin() as connection:
        await connection.execute(insert(probes).values(id=1, **values))
        return (await connection.execute(select(probes))).one()


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "text", ["1520.05", "0.00000001", "123456789012.12345678", "-42.50", "100", "0"]
)
async def test_decimals_come_back_equal_with_the_same_digits(
    probe_engine: AsyncEngine, text: str
) -> None:
    row = await _round_trip(probe_engine, amount=Decimal(text))

    assert type(row.amount) is Decimal
    assert row.amount == Decimal(text)
    assert row.amount.as_tuple() == Decimal(text).as_tuple()  # same digits, same exponent


@pytest.mark.asyncio
async def test_an_instant_comes_back_aware_in_utc(probe_engine: AsyncEngine) -> None:
    placed_at = datetime(2026, 1, 5, 9, 15, 30, 123456, tzinfo=IST)

    row = await _round_trip(probe_engine, at=placed_at)

    assert row.at == placed_at
    assert row.at.tzinfo == UTC
    assert row.at == datetime(2026, 1, 5, 3, 45, 30, 123456, tzinfo=UTC)


@pytest.mark.asyncio
async def test_nulls_stay_null(probe_engine: AsyncEngine) -> None:
    row = await _round_trip(probe_engine, amount=None, at=None)

    assert (row.amount, row.at) == (None, None)


@pytest.mark.asyncio
async def test_a_naive_datetime_is_refused_before_it_reaches_the_database(
    probe_engine: AsyncEngine,
) -> None:
    naive = datetime(2026, 1, 5, 9, 15)  # noqa: DTZ001 - the mistake under test

    with pytest.raises(StatementError) as caught:
        await _round_trip(probe_engine, at=naive)

    assert isinstance(caught.value.orig, ValueError)


@pytest.mark.parametrize("dialect", [sqlite.dialect(), postgresql.dialect()])
def test_a_float_is_refused_as_money(dialect: Any) -> None:
    with pytest.raises(TypeError):
        ExactDecimal().process_bind_param(0.1, dialect)  # type: ignore[arg-type]


def test_utc_instants_are_stored_naive_on_sqlite_and_aware_on_postgresql() -> None:
    at = datetime(2026, 1, 5, 9, 15, tzinfo=IST)

    on_sqlite = UtcDateTime().process_bind_param(at, sqlite.dialect())
    on_postgresql = UtcDateTime().process_bind_param(at, postgresql.dialect())

    assert on_sqlite == datetime(2026, 1, 5, 3, 45)  # noqa: DTZ001 - SQLite's storage form
    assert on_postgresql == at
    assert on_postgresql is not None
    assert on_postgresql.tzinfo is UTC
