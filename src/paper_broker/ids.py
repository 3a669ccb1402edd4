"""Identifiers in Kite's shapes: order ids are a YYMMDD prefix and a counter, all strings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

EXCHANGE_ORDER_BASE = 1_300_000_000_000_000
TRADE_BASE = 10_000_000


@dataclass(slots=True)
class IdFactory:
    """Monotonic counters; saved with the state so ids never repeat across restarts."""

    orders: int = 0
    exchange_orders: int = 0
    trades: int = 0
    triggers: int = 0

    def order_id(self, now: datetime) -> str:
        self.orders += 1
        return f"{now:%y%m%d}{self.orders:09d}"

    def exchange_order_id(self) -> str:
        self.exchange_orders += 1
        return str(EXCHANGE_ORDER_BASE + self.exchange_orders)

    def trade_id(self) -> str:
        self.trades += 1
        return str(TRADE_BASE + self.trades)

    def trigger_id(self) -> int:
        self.triggers += 1
        return 100_000 + self.triggers

    def guid(self, user_id: str) -> str:
        return f"{self.orders:06d}X{user_id}"
