"""The instrument master in the database: replaced whole by each load, read whole at start."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, delete, insert, select

from order_service.adapters.db.bulk import insert_all
from order_service.adapters.db.repositories import SqlRepository
from order_service.adapters.db.tables import instrument_loads, instruments
from order_service.domain.instrument import Instrument, InstrumentMaster

_COLUMNS = list(instruments.c)
_NAMES = [c.name for c in _COLUMNS]
_LOAD = 1  # the one row of instrument_loads


class SqlInstrumentRepository(SqlRepository):
    async def replace_all(self, items: Sequence[Instrument], loaded_at: datetime) -> None:
        """Replace the stored master by ``items`` (in this transaction: all or nothing)."""
        await self._execute(delete(instruments))
        await self._execute(delete(instrument_loads))
        if items:
            rows = [_values(item) for item in items]
            await insert_all(self._runner, instruments, _COLUMNS, rows)
        load = {"load_id": _LOAD, "loaded_at": loaded_at, "count": len(items)}
        await self._execute(insert(instrument_loads).values(load))

    async def load_time(self) -> datetime | None:
        loads = await self._all(select(instrument_loads.c.loaded_at))
        return loads[0]["loaded_at"] if loads else None

    async def load(self) -> InstrumentMaster | None:
        """The stored master, or None if none was ever loaded."""
        loads = await self._all(select(instrument_loads.c.loaded_at))
        if not loads:
            return None
        rows = await self._all(select(instruments))
        return InstrumentMaster(map(_instrument, rows), loads[0]["loaded_at"])


def _values(item: Instrument) -> dict[str, Any]:
    return {
        "exchange": item.exchange,
        "tradingsymbol": item.tradingsymbol,
        "instrument_token": item.instrument_token,
        "name": item.name,
        "instrument_type": item.instrument_type,
        "segment": item.segment,
        "tick_size": item.tick_size,
        "lot_size": item.lot_size,
        "expiry": item.expiry.isoformat() if item.expiry else None,
        "strike": item.strike,
        "freeze_quantity": item.freeze_quantity,
    }


def _instrument(row: RowMapping) -> Instrument:
    return Instrument(
        exchange=row["exchange"],
        tradingsymbol=row["tradingsymbol"],
        instrument_token=row["instrument_token"],
        name=row["name"],
        instrument_type=row["instrument_type"],
        segment=row["segment"],
        tick_size=row["tick_size"],
        lot_size=row["lot_size"],
        expiry=row["expiry"],
        strike=row["strike"],
        freeze_quantity=row["freeze_quantity"],
    )
