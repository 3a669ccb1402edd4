"""Portfolios: named groups of strategies across accounts, and the strategies in each."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from order_service.domain.ids import PortfolioId, StrategyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.ownership_schemas import (
    PortfolioIn,
    PortfolioOut,
    PortfolioPatch,
)
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/portfolios", tags=["portfolios"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
PortfolioPath = Annotated[str, Path(max_length=64)]
StrategyPath = Annotated[str, Path(max_length=64)]


@router.get("", response_model=list[PortfolioOut], responses=ERRORS)
async def list_portfolios(services: ServicesDep, principal: PrincipalDep) -> list[PortfolioOut]:
    """The caller's own portfolios and the default portfolio of each of its accounts."""
    return [PortfolioOut.of(p) for p in await services.portfolios.list_portfolios(principal)]


@router.post("", status_code=201, response_model=PortfolioOut, responses=ERRORS)
async def create_portfolio(
    body: PortfolioIn, services: ServicesDep, principal: PrincipalDep
) -> PortfolioOut:
    """Make an empty portfolio owned by the caller (a name it uses already is 409)."""
    return PortfolioOut.of(await services.portfolios.create_portfolio(principal, body.name))


@router.get("/{portfolio_id}", response_model=PortfolioOut, responses=ERRORS)
async def get_portfolio(
    portfolio_id: PortfolioPath, services: ServicesDep, principal: PrincipalDep
) -> PortfolioOut:
    found = await services.portfolios.get_portfolio(principal, PortfolioId(portfolio_id))
    return PortfolioOut.of(found)


@router.patch("/{portfolio_id}", response_model=PortfolioOut, responses=ERRORS)
async def update_portfolio(
    portfolio_id: PortfolioPath,
    body: PortfolioPatch,
    services: ServicesDep,
    principal: PrincipalDep,
) -> PortfolioOut:
    """Rename or archive/restore one of the caller's portfolios (a default one: 409)."""
    updated = await services.portfolios.update_portfolio(
        principal, PortfolioId(portfolio_id), body.name, body.archived
    )
    return PortfolioOut.of(updated)


@router.delete("/{portfolio_id}", status_code=204, responses=ERRORS)
async def delete_portfolio(
    portfolio_id: PortfolioPath, services: ServicesDep, principal: PrincipalDep
) -> None:
    """Delete one of the caller's portfolios (a default one: 409). Only the grouping goes:
    its strategies, their orders and positions are untouched."""
    await services.portfolios.delete_portfolio(principal, PortfolioId(portfolio_id))


@router.put(
    "/{portfolio_id}/strategies/{strategy_id}", response_model=PortfolioOut, responses=ERRORS
)
async def attach_strategy(
    portfolio_id: PortfolioPath,
    strategy_id: StrategyPath,
    services: ServicesDep,
    principal: PrincipalDep,
) -> PortfolioOut:
    """Put a strategy of one of the caller's accounts in the portfolio (again: no change).
    An archived strategy or portfolio, or a default portfolio, is 409."""
    portfolio = await services.portfolios.attach(
        principal, PortfolioId(portfolio_id), StrategyId(strategy_id)
    )
    return PortfolioOut.of(portfolio)


@router.delete("/{portfolio_id}/strategies/{strategy_id}", status_code=204, responses=ERRORS)
async def detach_strategy(
    portfolio_id: PortfolioPath,
    strategy_id: StrategyPath,
    services: ServicesDep,
    principal: PrincipalDep,
) -> None:
    """Take a strategy out of the portfolio (one it does not hold: 404)."""
    await services.portfolios.detach(principal, PortfolioId(portfolio_id), StrategyId(strategy_id))
