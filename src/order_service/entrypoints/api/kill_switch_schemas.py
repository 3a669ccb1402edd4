"""The kill switch's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from pydantic import BaseModel, Field, StrictBool, model_validator

from order_service.domain.halt import Halt, HaltScope
from order_service.domain.ids import AccountId, UserId
from order_service.entrypoints.api.control_schemas import CancelOutcomeOut
from order_service.entrypoints.api.schemas import Identifier, StrictModel
from order_service.services.flattening import Flattening, SquareOff


class HaltIn(StrictModel):
    """The scope to halt or release: an account, a user's accounts, or (``{}``) everything."""

    account_id: Identifier | None = None
    user_id: Identifier | None = None
    # Engaging only: also cancel the scope's working orders and square off its MIS positions.
    flatten: StrictBool = False

    @model_validator(mode="after")
    def _one_scope(self) -> Self:
        if self.account_id is not None and self.user_id is not None:
            raise ValueError("name an account or a user, not both")
        return self

    def scope(self) -> HaltScope:
        account_id = AccountId(self.account_id) if self.account_id is not None else None
        user_id = UserId(self.user_id) if self.user_id is not None else None
        return HaltScope.of(account_id, user_id)


class HaltOut(BaseModel):
    """One halt in force: what it covers, who engaged it and when."""

    scope: str
    key: str | None
    engaged_by: str
    engaged_at: datetime
    by_admin: bool

    @classmethod
    def of(cls, halt: Halt) -> Self:
        return cls(
            scope=halt.scope.kind.value,
            key=halt.scope.key or None,
            engaged_by=halt.engaged_by,
            engaged_at=halt.engaged_at,
            by_admin=halt.by_admin,
        )


class SquareOffOut(BaseModel):
    """One open MIS position: the order placed to close it, or the error that stopped it."""

    account_id: str
    strategy_id: str | None
    exchange: str
    tradingsymbol: str
    net_quantity: int
    order_id: str | None
    status: str | None
    error_code: str | None
    error_message: str | None
    # What the error concerns: the unsettled orders, or both net quantities, of a position
    # left open because closing it could overshoot.
    error_details: dict[str, Any] | None = None

    @classmethod
    def of(cls, square_off: SquareOff) -> SquareOffOut:
        order, error = square_off.order, square_off.error
        return cls(
            account_id=square_off.account_id,
            strategy_id=square_off.strategy_id,
            exchange=square_off.exchange,
            tradingsymbol=square_off.tradingsymbol,
            net_quantity=square_off.net_quantity,
            order_id=order.order_id if order is not None else None,
            status=order.status.value if order is not None else None,
            error_code=error.error_code if error is not None else None,
            error_message=error.message if error is not None else None,
            error_details=error.details if error is not None and error.details else None,
        )


class FlatteningOut(BaseModel):
    cancels: list[CancelOutcomeOut]
    square_offs: list[SquareOffOut]

    @classmethod
    def of(cls, flattening: Flattening) -> FlatteningOut:
        return cls(
            cancels=[CancelOutcomeOut.of(c) for c in flattening.cancels],
            square_offs=[SquareOffOut.of(s) for s in flattening.square_offs],
        )


class EngagedOut(HaltOut):
    flattened: FlatteningOut | None = Field(
        default=None, description="what flattening did, when the request asked for it"
    )
