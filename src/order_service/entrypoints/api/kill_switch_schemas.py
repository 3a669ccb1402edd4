"""The kill switch's request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Self

from pydantic import BaseModel, model_validator

from order_service.domain.halt import Halt, HaltScope
from order_service.domain.ids import AccountId, UserId
from order_service.entrypoints.api.schemas import Identifier, StrictModel


class HaltIn(StrictModel):
    """The scope to halt or release: an account, a user's accounts, or (``{}``) everything."""

    account_id: Identifier | None = None
    user_id: Identifier | None = None

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
    def of(cls, halt: Halt) -> HaltOut:
        return cls(
            scope=halt.scope.kind.value,
            key=halt.scope.key or None,
            engaged_by=halt.engaged_by,
            engaged_at=halt.engaged_at,
            by_admin=halt.by_admin,
        )
