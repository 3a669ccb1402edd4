"""Control of an account's scopes: the emergency stop."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from order_service.domain.ids import AccountId
from order_service.entrypoints.api.control_schemas import EmergencyStopOut
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.observability.metrics import EMERGENCY_STOPS

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422, 503)
}


@router.post("/{account_id}/emergency-stop", response_model=EmergencyStopOut, responses=ERRORS)
async def emergency_stop(
    account_id: str, services: ServicesDep, principal: PrincipalDep
) -> EmergencyStopOut:
    """Cancel every working order of the account at the broker; hand every scope to people.

    It completes even when some cancels fail: each order is listed with its outcome.
    """
    stop = await services.emergency_stops.stop(principal, AccountId(account_id))
    EMERGENCY_STOPS.inc()
    return EmergencyStopOut.of(stop)
