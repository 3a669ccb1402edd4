"""Baskets: one order fanned out to several accounts, with a result per account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header

from order_service.domain.ids import AccountId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.errors import status_for
from order_service.entrypoints.api.routes.orders import key_required
from order_service.entrypoints.api.schemas import (
    BasketIn,
    BasketLegOut,
    BasketOut,
    ErrorBody,
    ErrorInfo,
    OrderOut,
    placed_outcome,
)
from order_service.errors import ValidationError
from order_service.observability.metrics import ERRORS as ERROR_COUNT
from order_service.services.baskets import BasketLeg, LegResult

router = APIRouter(prefix="/api/v1/baskets", tags=["baskets"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 413, 422)}
BasketKey = Annotated[
    str | None, Header(alias="Idempotency-Key", max_length=40, pattern=r"^[A-Za-z0-9_\-.]+$")
]


@router.post("", response_model=BasketOut, responses=ERRORS)
async def place_basket(
    body: BasketIn,
    services: ServicesDep,
    principal: PrincipalDep,
    idempotency_key: BasketKey = None,
) -> BasketOut:
    """Place the order on every account; each leg succeeds or fails on its own."""
    if idempotency_key and body.basket_id and idempotency_key != body.basket_id:
        raise ValidationError("Idempotency-Key and basket_id differ", field="basket_id")
    if not (idempotency_key or body.basket_id) and services.settings.idempotency_key_required:
        raise key_required("basket_id")
    legs = [BasketLeg(AccountId(leg.account_id), leg.multiplier) for leg in body.legs]
    template = body.order.to_request(legs[0].account_id)
    results = await services.baskets.place_basket(
        principal, template, legs, idempotency_key or body.basket_id
    )
    return BasketOut.of([_leg_out(result) for result in results])


def _leg_out(result: LegResult) -> BasketLegOut:
    if result.error is not None:
        ERROR_COUNT.labels(result.error.error_code).inc()
        info = ErrorInfo(**result.error.to_dict())
        return BasketLegOut(
            account_id=result.account_id,
            outcome="error",
            http_status=status_for(result.error),
            error=info,
        )
    assert result.placement is not None
    order = result.placement.order
    outcome, status = placed_outcome(order, result.placement.created)
    return BasketLegOut(
        account_id=result.account_id, outcome=outcome, http_status=status, order=OrderOut.of(order)
    )
