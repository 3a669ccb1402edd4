"""The emergency stop's answer: the account's mode, and each working order's cancel."""

from __future__ import annotations

from pydantic import BaseModel

from order_service.services.cancellations import CancelOutcome
from order_service.services.emergency_stops import EmergencyStop


class CancelOutcomeOut(BaseModel):
    order_id: str
    status: str
    cancelled: bool
    error_code: str | None

    @classmethod
    def of(cls, outcome: CancelOutcome) -> CancelOutcomeOut:
        return cls(
            order_id=outcome.order.order_id,
            status=outcome.status.value,
            cancelled=outcome.error_code is None,
            error_code=outcome.error_code,
        )


class EmergencyStopOut(BaseModel):
    account_id: str
    control_mode: str
    orders: list[CancelOutcomeOut]

    @classmethod
    def of(cls, stop: EmergencyStop) -> EmergencyStopOut:
        return cls(
            account_id=stop.account_id,
            control_mode=stop.control_mode.value,
            orders=[CancelOutcomeOut.of(outcome) for outcome in stop.outcomes],
        )
