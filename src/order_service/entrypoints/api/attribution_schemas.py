"""Bodies of the attribution-case routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field

from order_service.domain.attribution import ExitAttribution
from order_service.entrypoints.api.schemas import Identifier, Quantity, StrictModel

# More allocations than strategies an account would split one exit among is a mistake.
MAX_ALLOCATIONS = 100


class AllocationIn(StrictModel):
    strategy_id: Identifier
    quantity: Quantity


class CaseAssignIn(StrictModel):
    assignee: Identifier = Field(description="the user to resolve the case")


class CaseResolveIn(StrictModel):
    allocations: Annotated[list[AllocationIn], Field(min_length=1, max_length=MAX_ALLOCATIONS)]


class AllocationOut(BaseModel):
    strategy_id: str
    quantity: int


class HolderOut(BaseModel):
    strategy_id: str
    quantity: int = Field(description="what it held, in the direction the exit reduces")
    opened_at: datetime


class AttributionCaseOut(BaseModel):
    attribution_id: str
    account_id: str
    order_id: str = Field(description="the external order that exited")
    exchange: str
    tradingsymbol: str
    product: str
    transaction_type: str
    quantity: int = Field(description="what the exit filled: the allocations' sum")
    default_strategy_id: str
    holders: list[HolderOut]
    status: str = Field(description="open, resolved (allocations given) or applied (final)")
    reason: str | None
    allocations: list[AllocationOut]
    trade_ids: list[str] = Field(
        description="the trade ids of the exit's fills it covers, those in the ledger when it "
        "was made (empty: every fill of the exit); a fill recorded later stays with the exit's "
        "own strategy"
    )
    assignee: str | None
    resolved_by: str | None
    created_at: datetime
    updated_at: datetime
    applied_at: datetime | None

    @classmethod
    def of(cls, case: ExitAttribution) -> AttributionCaseOut:
        position = case.position
        return cls(
            attribution_id=case.attribution_id,
            account_id=case.account_id,
            order_id=case.order_id,
            exchange=position.exchange,
            tradingsymbol=position.tradingsymbol,
            product=position.product,
            transaction_type=case.transaction_type.value,
            quantity=case.quantity,
            default_strategy_id=case.default_strategy_id,
            holders=[
                HolderOut(strategy_id=h.strategy_id, quantity=h.quantity, opened_at=h.opened_at)
                for h in case.holders
            ],
            status=case.status.value,
            reason=case.reason,
            allocations=[
                AllocationOut(strategy_id=a.strategy_id, quantity=a.quantity)
                for a in case.allocations
            ],
            trade_ids=list(case.trade_ids),
            assignee=case.assignee,
            resolved_by=case.resolved_by,
            created_at=case.created_at,
            updated_at=case.updated_at,
            applied_at=case.applied_at,
        )


class AttributionCasePage(BaseModel):
    items: list[AttributionCaseOut]
    next_cursor: str | None
