"""Bodies of the strategies, portfolios and API key routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StrictBool, StringConstraints

from order_service.domain.account import ApiKeyInfo, Strategy
from order_service.domain.portfolio import Portfolio
from order_service.entrypoints.api.schemas import Identifier, StrictModel

# A name someone reads in a list: at most 100 printable characters, one of them not a space;
# the spaces around it are trimmed after the check, so the schema says exactly what is taken.
_PRINTABLE = r"[^\x00-\x1f\x7f]"
Name = Annotated[
    str,
    StringConstraints(
        min_length=1,
        max_length=100,
        pattern=rf"^{_PRINTABLE}*[^\x00-\x1f\x7f\s]{_PRINTABLE}*$",
    ),
    AfterValidator(str.strip),
]


class StrategyIn(StrictModel):
    account_id: Identifier
    name: Name


class StrategyPatch(StrictModel):
    """Only the fields given change: ``name`` renames, ``archived`` archives or restores."""

    name: Name | None = None
    archived: StrictBool | None = None


class StrategyOut(BaseModel):
    strategy_id: str
    account_id: str
    name: str
    is_default: bool = Field(
        description="the account's default strategy: it holds orders placed without a strategy"
        " and external orders, and can never be archived or deleted"
    )
    archived: bool
    created_at: datetime
    archived_at: datetime | None

    @classmethod
    def of(cls, strategy: Strategy) -> StrategyOut:
        return cls(
            strategy_id=strategy.strategy_id,
            account_id=strategy.account_id,
            name=strategy.name,
            is_default=strategy.is_default,
            archived=strategy.is_archived,
            created_at=strategy.created_at,
            archived_at=strategy.archived_at,
        )


class PortfolioIn(StrictModel):
    name: Name


class PortfolioPatch(StrictModel):
    name: Name | None = None
    archived: StrictBool | None = None


class PortfolioOut(BaseModel):
    portfolio_id: str
    name: str
    is_default: bool = Field(
        description="an account's default portfolio: it holds that account's default strategy"
        " and cannot be changed or deleted"
    )
    account_id: str | None = Field(description="the account of a default portfolio; else null")
    owner_id: str | None = Field(description="the user who made it; null for a default one")
    archived: bool
    strategy_ids: list[str] = Field(description="its strategies the caller may see, sorted")
    created_at: datetime

    @classmethod
    def of(cls, portfolio: Portfolio) -> PortfolioOut:
        return cls(
            portfolio_id=portfolio.portfolio_id,
            name=portfolio.name,
            is_default=portfolio.is_default,
            account_id=portfolio.default_for,
            owner_id=portfolio.owner_id,
            archived=portfolio.is_archived,
            strategy_ids=sorted(portfolio.strategy_ids),
            created_at=portfolio.created_at,
        )


class ApiKeyIn(StrictModel):
    """A new key for the caller; bound to a strategy, it is a script's key (SCRIPT orders)."""

    strategy_id: Identifier | None = None


class ApiKeyOut(BaseModel):
    """One of the caller's API keys; the key itself is shown only when it is created."""

    key_id: str
    created_at: datetime
    revoked_at: datetime | None
    strategy_id: str | None = Field(description="the strategy a script's key trades for")

    @classmethod
    def of(cls, info: ApiKeyInfo) -> ApiKeyOut:
        return cls(
            key_id=info.key_id,
            created_at=info.created_at,
            revoked_at=info.revoked_at,
            strategy_id=info.strategy_id,
        )


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="the key: shown this once, only its hash is stored")
