"""Baskets: one order fanned out to several accounts, each leg its own idempotent order."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId, ClientOrderId
from order_service.domain.order import OrderRequest
from order_service.errors import OrderServiceError, ValidationError
from order_service.services.orders import OrderService, Placement

MAX_LEGS = 50


@dataclass(frozen=True, slots=True)
class BasketLeg:
    account_id: AccountId
    multiplier: int = 1


@dataclass(frozen=True, slots=True)
class LegResult:
    """One account's outcome: a placement, or the typed error that stopped it."""

    account_id: AccountId
    placement: Placement | None = None
    error: OrderServiceError | None = None


class BasketService:
    """Places one order on several accounts at once; partial success is normal."""

    def __init__(self, orders: OrderService) -> None:
        self._orders = orders

    async def place_basket(
        self,
        principal: Principal,
        template: OrderRequest,
        legs: list[BasketLeg],
        basket_key: str | None,
    ) -> list[LegResult]:
        """Place every leg concurrently; a repeated basket key repeats each leg idempotently."""
        _check_legs(legs)
        return list(
            await asyncio.gather(*(self._leg(principal, template, leg, basket_key) for leg in legs))
        )

    async def _leg(
        self, principal: Principal, template: OrderRequest, leg: BasketLeg, basket_key: str | None
    ) -> LegResult:
        key = ClientOrderId(f"{basket_key}:{leg.account_id}") if basket_key else None
        try:
            request = replace(
                template, account_id=leg.account_id, quantity=template.quantity * leg.multiplier
            ).validated()
            placement = await self._orders.place_order(principal, request, key)
        except OrderServiceError as exc:
            return LegResult(leg.account_id, error=exc)
        return LegResult(leg.account_id, placement=placement)


def _check_legs(legs: list[BasketLeg]) -> None:
    if not legs:
        raise ValidationError("a basket needs at least one account", field="legs")
    if len(legs) > MAX_LEGS:
        raise ValidationError(f"a basket has at most {MAX_LEGS} accounts", field="legs")
    accounts = [leg.account_id for leg in legs]
    if len(set(accounts)) != len(accounts):
        raise ValidationError("each account may appear once in a basket", field="legs")
    for leg in legs:
        if leg.multiplier <= 0:
            raise ValidationError("multipliers are positive integers", field="legs.multiplier")
