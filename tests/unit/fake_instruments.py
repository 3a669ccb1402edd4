"""The fake instrument master store: replaced whole, read whole, as the SQL repository is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from order_service.domain.instrument import Instrument, InstrumentMaster
from tests.unit.fake_store import FakeRepository, FakeStore


class FakeInstrumentRepository(FakeRepository):
    async def replace_all(self, instruments: Sequence[Instrument], loaded_at: datetime) -> None:
        stored = list(instruments)

        def replacing(state: FakeStore) -> None:
            state.instruments = (stored, loaded_at)

        self._stage(replacing)

    async def load_time(self) -> datetime | None:
        stored = self._view().instruments
        return stored[1] if stored is not None else None

    async def load(self) -> InstrumentMaster | None:
        stored = self._view().instruments
        return InstrumentMaster(stored[0], stored[1]) if stored is not None else None
