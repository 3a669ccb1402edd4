"""Account events: the append-only record of what was found about an account as a whole.

An order's events belong to the order; what concerns the account's books (a position that
disagrees with the broker's) has no order to hold it, so it is recorded here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from order_service.domain.ids import AccountId

# Our net position of an instrument and product disagrees with the broker's position book.
POSITION_DRIFT_FOUND = "PositionDriftFound"
# An emergency stop began (the account scope TRANSITIONING), and ended (every scope MANUAL):
# a start without its end, once old, is a stop its process left half done.
EMERGENCY_STOP_STARTED = "EmergencyStopStarted"
EMERGENCY_STOP_COMPLETED = "EmergencyStopCompleted"


@dataclass(frozen=True, slots=True)
class AccountEvent:
    """One thing found about an account; ``sequence`` is assigned when it is stored."""

    account_id: AccountId
    name: str
    data: dict[str, Any]
    occurred_at: datetime
    sequence: int | None = None
