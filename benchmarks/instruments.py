"""Instrument master load: 100,000 instruments from Kite's CSV into the database and memory.

Per database (SQLite in a temporary file, then PostgreSQL in a database of its own): the CSV
of ``--count`` synthetic instruments (stocks, futures and options, as Kite lists them) is
parsed (``instruments_parsing``), given the shipped freeze limits and stored by the real
repository in one transaction (``InstrumentService.refresh`` does exactly this), then read
back whole as a process starting would. Timed: parse, store, read back. Target (issue 13):
loading 100,000 instruments takes under 10 s. Every instrument must come back equal.
Usage: python -m benchmarks.instruments [--count N] [--databases sqlite,postgresql]
    [--postgres-url URL]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from benchmarks.databases import DEFAULT_POSTGRES, scratch_database
from order_service.adapters.broker.instruments_parsing import instrument_list
from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.adapters.freeze_file import load_freeze_limits
from order_service.domain.instrument import InstrumentMaster, with_freeze_limits
from order_service.entrypoints.server import run_process

TARGET_SECONDS = 10.0
HEADER = (
    "instrument_token,exchange_token,tradingsymbol,name,last_price,expiry,strike,"
    "tick_size,lot_size,instrument_type,segment,exchange"
)
AT = datetime(2026, 12, 1, 2, 30, tzinfo=UTC)


@dataclass
class Figures:
    database: str
    count: int
    parse: float
    store: float
    read: float
    ok: bool

    @property
    def total(self) -> float:
        return self.parse + self.store + self.read


def synthetic_csv(count: int) -> str:
    """Kite's CSV of ``count`` instruments: a tenth stocks, the rest futures and options."""
    lines = [HEADER]
    expiry = date(2026, 12, 29)
    for index in range(count):
        token = 100_000 + index
        if index % 10 == 0:
            lines.append(
                f"{token},{token >> 8},STOCK{index},STOCK {index},1500.5,,0,0.05,1,EQ,NSE,NSE"
            )
            continue
        day = expiry + timedelta(days=7 * (index % 8))
        name = ("NIFTY", "BANKNIFTY", "FINNIFTY")[index % 3]
        strike = 20_000 + 50 * (index % 400)
        kind = ("CE", "PE", "FUT")[index % 3]
        symbol = f"{name}{index}{kind}"
        segment = "NFO-FUT" if kind == "FUT" else "NFO-OPT"
        shown = 0 if kind == "FUT" else strike
        lines.append(
            f"{token},{token >> 8},{symbol},{name},12.3,{day},{shown},0.05,75,{kind},{segment},NFO"
        )
    return "\n".join(lines) + "\n"


async def _run(kind: str, count: int, postgres_url: str) -> Figures:
    body = synthetic_csv(count).encode()
    with tempfile.TemporaryDirectory(prefix="order-service-instruments-") as var:
        async with scratch_database(kind, postgres_url, Path(var), "instruments") as url:
            engine = create_engine(url)
            factory = sql_uow_factory(engine, SecretCipher(uuid.uuid4().hex))
            try:
                return await _measure(kind, factory, body)
            finally:
                await factory.close()
                await engine.dispose()


async def _measure(kind: str, factory: object, body: bytes) -> Figures:
    started = time.perf_counter()
    parsed, skipped = instrument_list(body)
    master = InstrumentMaster(with_freeze_limits(parsed, load_freeze_limits()), AT)
    parse = time.perf_counter() - started
    started = time.perf_counter()
    async with factory() as uow:  # type: ignore[operator]
        await uow.instruments.replace_all(list(master), AT)
        await uow.commit()
    store = time.perf_counter() - started
    started = time.perf_counter()
    async with factory() as uow:  # type: ignore[operator]
        again = await uow.instruments.load()
    read = time.perf_counter() - started
    ok = not skipped and again is not None and sorted(again, key=_key) == sorted(master, key=_key)
    return Figures(kind, len(master), parse, store, read, ok)


def _key(instrument: object) -> tuple[str, str]:
    return instrument.key  # type: ignore[attr-defined, no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    results = []
    for kind in (k.strip() for k in args.databases.split(",") if k.strip()):
        if kind not in ("sqlite", "postgresql"):
            raise SystemExit(f"unknown database {kind!r}")
        results.append(run_process(_run(kind, args.count, args.postgres_url)))
    print(f"{'database':<11} {'count':>8} {'parse s':>8} {'store s':>8} {'read s':>8}"
          f" {'total s':>8} {'target':>7} {'met':>8}")  # fmt: skip
    for f in results:
        met = "met" if f.total < TARGET_SECONDS and f.ok else "not met"
        print(
            f"{f.database:<11} {f.count:>8} {f.parse:>8.2f} {f.store:>8.2f} {f.read:>8.2f}"
            f" {f.total:>8.2f} {'< 10 s':>7} {met:>8}"
        )
    if not all(f.ok for f in results):
        raise SystemExit("an instrument did not come back as stored")


if __name__ == "__main__":
    main()
