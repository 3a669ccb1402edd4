"""Position actions: closing one position, a strategy's or an account's."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.errors import status_for
from order_service.entrypoints.api.position_schemas import CloseIn, CloseLineOut, CloseOut
from order_service.entrypoints.api.routes.orders import IdempotencyKey, key_required
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.observability.logging import bind
from order_service.observability.metrics import ERRORS as ERROR_COUNT
from order_service.services.position_close import Close

router = APIRouter(prefix="/api/v1/positions", tags=["positions"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422, 429, 502, 503, 504)
}


@router.post("/close", response_model=CloseOut, responses=ERRORS, operation_id="close_positions")
async def close_positions(
    body: CloseIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: IdempotencyKey = None,
) -> CloseOut:
    """Close every open position of the scope with one order each, through the ordinary
    placement (risk checks, control modes, exactly once); each position succeeds or fails on
    its own. A repeat with the same ``Idempotency-Key`` answers the first request's closes.

    A position is left open, with a `CONFLICT` saying why, while closing it could overshoot:
    the broker's net quantity differs from our books', or an order on its closing side is
    still working. A CNC position sold on the day (a sale from holdings) is never bought back.
    """
    bind(account=body.account_id)
    if idempotency_key is None and services.settings.idempotency_key_required:
        raise key_required("Idempotency-Key")
    closes = await services.position_closes.close(
        principal, body.scope(), body.terms(), idempotency_key
    )
    return CloseOut.of([_line(close) for close in closes])


def _line(close: Close) -> CloseLineOut:
    if close.error is None:
        return CloseLineOut.of(close, None)
    ERROR_COUNT.labels(close.error.error_code).inc()
    return CloseLineOut.of(close, status_for(close.error))
