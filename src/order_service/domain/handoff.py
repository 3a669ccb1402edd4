"""A handoff: control of a scope moving between people and algorithms (DESIGN.md section 7).

A handoff is accepted PENDING with its scope TRANSITIONING; the finisher cancels the scope's
working orders at the broker (CANCELLING), waits until each is settled in our books, then
hands the scope to its target (COMPLETED), or gives it back the mode it left (FAILED, with
why: the failure is the rollback). A stale one settled by a forced new request, or one an
emergency stop overrides, is FAILED too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NewType

from order_service.domain.control import ControlMode, ControlTrigger
from order_service.domain.ids import AccountId, StrategyId, UserId

HandoffId = NewType("HandoffId", str)

# Account events, one per step.
HANDOFF_REQUESTED = "HandoffRequested"
ORDER_CANCEL_REQUESTED = "OrderCancelRequested"
HANDOFF_COMPLETED = "HandoffCompleted"
HANDOFF_FAILED = "HandoffFailed"

# The triggers a handoff may be asked for (an emergency stop has its own call).
HANDOFF_TRIGGERS = frozenset({ControlTrigger.TO_SCRIPT, ControlTrigger.TO_MANUAL})


class HandoffStatus(StrEnum):
    PENDING = "PENDING"
    CANCELLING = "CANCELLING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


UNFINISHED = frozenset({HandoffStatus.PENDING, HandoffStatus.CANCELLING})


@dataclass(frozen=True, slots=True)
class HandoffStep:
    """One thing a handoff did: ``name`` is the event it wrote."""

    name: str
    at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "at": self.at.isoformat(), "data": self.data}

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> HandoffStep:
        return cls(stored["name"], datetime.fromisoformat(stored["at"]), dict(stored["data"]))


@dataclass(slots=True)
class Handoff:
    """One handoff of a scope; ``version`` guards its updates against a concurrent finisher."""

    handoff_id: HandoffId
    account_id: AccountId
    strategy_id: StrategyId | None
    trigger: ControlTrigger
    from_mode: ControlMode
    target_mode: ControlMode
    status: HandoffStatus
    force: bool
    requested_by: UserId
    created_at: datetime
    updated_at: datetime
    deadline: datetime
    failure: str | None = None
    steps: list[HandoffStep] = field(default_factory=list)
    version: int = 1

    @property
    def scope_key(self) -> str:
        """The scope within the account: the strategy's id, or empty for the account itself."""
        return scope_key(self.strategy_id)

    @property
    def is_finished(self) -> bool:
        return self.status not in UNFINISHED

    def overlaps(self, strategy_id: StrategyId | None) -> bool:
        """Whether a handoff of ``strategy_id``'s scope (None: the account's) covers this one's."""
        return strategy_id is None or self.strategy_id is None or strategy_id == self.strategy_id

    def is_stale(self, now: datetime) -> bool:
        return now >= self.deadline

    def step(self, name: str, at: datetime, **data: Any) -> None:
        self.steps.append(HandoffStep(name, at, data))
        self.updated_at = at

    def cancel_requested(self) -> frozenset[str]:
        """The orders whose cancel this handoff has sent."""
        return frozenset(s.data["order_id"] for s in self.steps if s.name == ORDER_CANCEL_REQUESTED)

    def settle(self, status: HandoffStatus, at: datetime, failure: str | None = None) -> None:
        """Finish the handoff (COMPLETED, or FAILED with why)."""
        self.status = status
        self.failure = failure
        name = HANDOFF_COMPLETED if status is HandoffStatus.COMPLETED else HANDOFF_FAILED
        self.step(name, at, status=status.value, **({"reason": failure} if failure else {}))

    def settled_mode(self) -> ControlMode:
        """The mode its scope is left in: the target when completed, else the one it left."""
        return self.target_mode if self.status is HandoffStatus.COMPLETED else self.from_mode


def scope_key(strategy_id: StrategyId | None) -> str:
    return strategy_id or ""
