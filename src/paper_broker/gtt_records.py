"""GTT (good-till-triggered) triggers as records: what the registry keeps and a state file holds.

A single trigger fires when the price reaches its value from the side the price was on when it
was created; a two-leg (OCO) trigger fires its first order at or below the lower value and its
second at or above the upper one. Working them against the exchange is `gtt.Gtts`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .instruments import Instrument
from .matching import to_ticks
from .prices import NEVER_ABOVE, NEVER_BELOW

ACTIVE, TRIGGERED, DELETED, EXPIRED = "active", "triggered", "deleted", "expired"
LIFETIME = timedelta(days=365)


@dataclass(slots=True)
class GttOrder:
    transaction_type: str
    quantity: int
    order_type: str
    product: str
    price: Decimal
    result: dict[str, Any] | None = None


@dataclass(slots=True)
class Trigger:
    trigger_id: int
    user_id: str
    kind: str
    instrument: Instrument
    trigger_values: list[Decimal]
    last_price: Decimal
    orders: list[GttOrder]
    created_at: datetime
    updated_at: datetime
    status: str = ACTIVE
    # For a single trigger: whether it fires on the way up (it was created below the value).
    rising: bool = False
    app_id: int = 0
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def watch_id(self) -> int:
        return self.trigger_id

    @property
    def expires_at(self) -> datetime:
        return self.created_at + LIFETIME

    def thresholds(self) -> tuple[int, int]:
        ticks = [to_ticks(value, self.instrument.tick_size) for value in self.trigger_values]
        if self.kind == "two-leg":
            return ticks[0], ticks[1]
        return (NEVER_BELOW, ticks[0]) if self.rising else (ticks[0], NEVER_ABOVE)

    def leg(self, ticks: int) -> int:
        """Which order a crossing at `ticks` fires."""
        return 1 if self.kind == "two-leg" and ticks >= self.thresholds()[1] else 0
