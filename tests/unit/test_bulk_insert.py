"""``insert_all`` on SQLite binds each row's values by position: the columns must come in
the table's order, or a value would land in another column."""

from __future__ import annotations

from typing import Any

import pytest

from order_service.adapters.db.bulk import insert_all
from order_service.adapters.db.tables import order_events
from order_service.errors import ConfigurationError


class _Recording:
    """A SQLite transaction that records the driver SQL it is given."""

    dialect_name = "sqlite"

    def __init__(self) -> None:
        self.sql: list[tuple[str, list[tuple[Any, ...]]]] = []

    async def run_sql(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.sql.append((sql, rows))


@pytest.mark.asyncio
async def test_columns_out_of_table_order_are_refused_before_anything_runs() -> None:
    runner = _Recording()
    columns = [order_events.c.name, order_events.c.order_id]

    with pytest.raises(ConfigurationError, match="table order"):
        await insert_all(runner, order_events, columns, [{"name": "n", "order_id": "o"}])  # type: ignore[arg-type]
    assert runner.sql == []


@pytest.mark.asyncio
async def test_rows_are_bound_in_column_order_with_no_position() -> None:
    runner = _Recording()
    columns = [order_events.c.order_id, order_events.c.name]

    await insert_all(runner, order_events, columns, [{"order_id": "o1", "name": "a"}])  # type: ignore[arg-type]

    assert runner.sql == [
        ("INSERT INTO order_events (order_id, name) VALUES (?, ?)", [("o1", "a")])
    ]
