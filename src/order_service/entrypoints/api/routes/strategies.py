"""Strategies: the named owners of orders and positions inside an account."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from order_service.domain.ids import AccountId, StrategyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.ownership_schemas import StrategyIn, StrategyOut, StrategyPatch
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/strategies", tags=["strategies"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
StrategyPath = Annotated[str, Path(max_length=64)]


@router.get("", response_model=list[StrategyOut], responses=ERRORS)
async def list_strategies(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
) -> list[StrategyOut]:
    """The strategies of the caller's accounts (of one, with ``account_id``), archived ones
    included, each account's default with ``is_default: true``."""
    account = AccountId(account_id) if account_id else None
    found = await services.strategies.list_strategies(principal, account)
    return [StrategyOut.of(s) for s in found]


@router.post("", status_code=201, response_model=StrategyOut, responses=ERRORS)
async def create_strategy(
    body: StrategyIn, services: ServicesDep, principal: PrincipalDep
) -> StrategyOut:
    """Add a strategy to one of the caller's accounts (a name it uses already is 409)."""
    created = await services.strategies.create_strategy(
        principal, AccountId(body.account_id), body.name
    )
    return StrategyOut.of(created)


@router.get("/{strategy_id}", response_model=StrategyOut, responses=ERRORS)
async def get_strategy(
    strategy_id: StrategyPath, services: ServicesDep, principal: PrincipalDep
) -> StrategyOut:
    return StrategyOut.of(
        await services.strategies.get_strategy(principal, StrategyId(strategy_id))
    )


@router.patch("/{strategy_id}", response_model=StrategyOut, responses=ERRORS)
async def update_strategy(
    strategy_id: StrategyPath, body: StrategyPatch, services: ServicesDep, principal: PrincipalDep
) -> StrategyOut:
    """Rename (``name``), archive or restore (``archived``) a strategy. An archived strategy
    takes no new orders (409); the default strategy is never archived (409)."""
    updated = await services.strategies.update_strategy(
        principal, StrategyId(strategy_id), body.name, body.archived
    )
    return StrategyOut.of(updated)


@router.delete("/{strategy_id}", status_code=204, responses=ERRORS)
async def delete_strategy(
    strategy_id: StrategyPath, services: ServicesDep, principal: PrincipalDep
) -> None:
    """Delete a strategy with no open orders and no open positions (409 otherwise, with the
    reason); the default strategy never (409). Its orders and fills keep their history."""
    await services.strategies.delete_strategy(principal, StrategyId(strategy_id))
