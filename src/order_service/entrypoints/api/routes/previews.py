"""Previews: what orders would block and cost at the broker, asked before they are sent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter

from order_service.domain.ids import AccountId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.preview_schemas import (
    BasketMarginsIn,
    BasketMarginsOut,
    ChargesIn,
    ContractNoteOut,
    MarginOut,
    MarginsIn,
    OrderMarginsOut,
)
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["previews"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 409, 413, 422, 429, 502, 503)
}


@router.post("/margins/orders", response_model=OrderMarginsOut, responses=ERRORS)
async def order_margins(
    body: MarginsIn, services: ServicesDep, principal: PrincipalDep
) -> OrderMarginsOut:
    """What each order would block on its own (Kite's order margin calculator); nothing is
    placed."""
    found = await services.previews.order_margins(
        principal, AccountId(body.account_id), body.requests()
    )
    margins = [MarginOut.model_validate(margin) for margin in found]
    total = sum((margin.total for margin in found), Decimal(0))
    return OrderMarginsOut(account_id=body.account_id, orders=margins, total=total)


@router.post("/margins/basket", response_model=BasketMarginsOut, responses=ERRORS)
async def basket_margins(
    body: BasketMarginsIn, services: ServicesDep, principal: PrincipalDep
) -> BasketMarginsOut:
    """What the orders would block together, with the hedge benefit between them (Kite's
    basket margin calculator); nothing is placed."""
    basket = await services.previews.basket_margins(
        principal, AccountId(body.account_id), body.requests(), body.consider_positions
    )
    return BasketMarginsOut.of(body.account_id, basket)


@router.post("/charges/orders", response_model=ContractNoteOut, responses=ERRORS)
async def order_charges(
    body: ChargesIn, services: ServicesDep, principal: PrincipalDep
) -> ContractNoteOut:
    """What each order would cost executed at its ``average_price`` (Kite's virtual contract
    note: brokerage, STT/CTT, exchange and SEBI charges, stamp duty, GST)."""
    lines = await services.previews.contract_note(
        principal, AccountId(body.account_id), body.priced()
    )
    return ContractNoteOut.of(body.account_id, lines)
