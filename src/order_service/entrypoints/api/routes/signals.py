"""Alerts in from charting tools, and the strategy's signal tokens they are posted with.

``POST /api/v1/signals/{token}`` takes no bearer header: the token in the path is the only
credential, so an unknown, mistyped or revoked token is the same 404, and the body (capped at
``MAX_SIGNAL_BYTES``) is parsed only once the token is known.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response

from order_service.domain.ids import SignalTokenId, StrategyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.json_body import loads_strict
from order_service.entrypoints.api.schemas import ErrorBody, OrderOut
from order_service.entrypoints.api.signal_schemas import (
    SignalOut,
    SignalTokenCreated,
    SignalTokenIn,
    SignalTokenOut,
)
from order_service.errors import OrderServiceError, PayloadTooLarge
from order_service.observability.logging import bind
from order_service.observability.metrics import SIGNALS

MAX_SIGNAL_BYTES = 16 * 1024  # a ChartInk scan of MAX_STOCKS symbols is well under this
SIGNALS_PATH = "/api/v1/signals"
router = APIRouter(tags=["signals"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
SIGNAL_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (403, 404, 409, 413, 422, 429, 502, 503)
}
StrategyPath = Annotated[str, Path(max_length=64)]
TokenPath = Annotated[str, Path(max_length=128)]


@router.post(
    "/api/v1/strategies/{strategy_id}/signal-tokens",
    status_code=201,
    response_model=SignalTokenCreated,
    responses=ERRORS,
)
async def create_signal_token(
    strategy_id: StrategyPath, body: SignalTokenIn, services: ServicesDep, principal: PrincipalDep
) -> SignalTokenCreated:
    """Issue a token for alerts that place this strategy's SCRIPT orders (shown once)."""
    token, secret = await services.signals.create_token(
        principal, StrategyId(strategy_id), body.to_template()
    )
    out = SignalTokenOut.of(token).model_dump()
    return SignalTokenCreated(**out, token=secret, url=f"{SIGNALS_PATH}/{secret}")


@router.get(
    "/api/v1/strategies/{strategy_id}/signal-tokens",
    response_model=list[SignalTokenOut],
    responses=ERRORS,
)
async def list_signal_tokens(
    strategy_id: StrategyPath, services: ServicesDep, principal: PrincipalDep
) -> list[SignalTokenOut]:
    """The strategy's tokens, revoked ones included, oldest first (never the secrets)."""
    found = await services.signals.list_tokens(principal, StrategyId(strategy_id))
    return [SignalTokenOut.of(token) for token in found]


@router.delete(
    "/api/v1/strategies/{strategy_id}/signal-tokens/{token_id}",
    status_code=204,
    responses=ERRORS,
)
async def revoke_signal_token(
    strategy_id: StrategyPath,
    token_id: Annotated[str, Path(max_length=64)],
    services: ServicesDep,
    principal: PrincipalDep,
) -> None:
    """Revoke a token: its alerts are answered 404 from now on."""
    await services.signals.revoke_token(principal, StrategyId(strategy_id), SignalTokenId(token_id))


# The alert is read as JSON whatever its Content-Type (charting tools send text/plain), and
# mapped through the token's template: its fields are the tool's (README "Alerts").
_ALERT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "description": "the charting tool's alert"},
                "example": {
                    "action": "buy",
                    "ticker": "NSE:INFY",
                    "quantity": "5",
                    "price": "1520.50",
                    "id": "alert-42",
                },
            }
        },
    }
}


@router.post(
    SIGNALS_PATH + "/{token}",
    status_code=201,
    response_model=SignalOut,
    responses=SIGNAL_ERRORS,
    openapi_extra=_ALERT_BODY,
)
async def receive_signal(
    token: TokenPath, request: Request, response: Response, services: ServicesDep
) -> SignalOut:
    """Place the orders an alert asks for, each once (a repeated alert answers 200)."""
    body = await request.body()
    if len(body) > MAX_SIGNAL_BYTES:
        raise PayloadTooLarge(details={"max_bytes": MAX_SIGNAL_BYTES})
    try:
        outcome = await services.signals.receive(token, lambda: loads_strict(body))
    except OrderServiceError as exc:
        SIGNALS.labels(exc.error_code.lower()).inc()
        raise
    placements = outcome.placements
    bind(order_id=",".join(p.order.order_id for p in placements))
    created = any(p.created for p in placements)
    if not created:
        response.status_code = 200
    SIGNALS.labels("placed" if created else "repeat").inc()
    return SignalOut(
        source=outcome.source,
        orders=[OrderOut.of(p.order) for p in placements],
        repeats=[not p.created for p in placements],
    )
