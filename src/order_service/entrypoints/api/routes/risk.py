"""Risk limits of an account and of a strategy (DESIGN.md section 9, "risk")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from order_service.domain.risk import RiskScope
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.risk_schemas import RiskLimitsIn, RiskLimitsOut
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1", tags=["risk"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)
}
ScopeId = Annotated[str, Path(min_length=1, max_length=64)]


@router.get("/accounts/{account_id}/risk-limits", response_model=RiskLimitsOut, responses=ERRORS)
async def get_account_limits(
    account_id: ScopeId, services: ServicesDep, principal: PrincipalDep
) -> RiskLimitsOut:
    """The account's own limits (null: unset, the configured default applies)."""
    found = await services.risk_limits.get_limits(principal, RiskScope.ACCOUNT, account_id)
    return RiskLimitsOut.of(found)


@router.put("/accounts/{account_id}/risk-limits", response_model=RiskLimitsOut, responses=ERRORS)
async def put_account_limits(
    account_id: ScopeId, body: RiskLimitsIn, services: ServicesDep, principal: PrincipalDep
) -> RiskLimitsOut:
    """Replace the account's limits (admins; owners too when configured)."""
    limits = body.limits()
    changed = await services.risk_limits.set_limits(
        principal, RiskScope.ACCOUNT, account_id, limits
    )
    return RiskLimitsOut.of(changed)


@router.get("/strategies/{strategy_id}/risk-limits", response_model=RiskLimitsOut, responses=ERRORS)
async def get_strategy_limits(
    strategy_id: ScopeId, services: ServicesDep, principal: PrincipalDep
) -> RiskLimitsOut:
    """The strategy's own limits (null: unset, its account's apply)."""
    found = await services.risk_limits.get_limits(principal, RiskScope.STRATEGY, strategy_id)
    return RiskLimitsOut.of(found)


@router.put("/strategies/{strategy_id}/risk-limits", response_model=RiskLimitsOut, responses=ERRORS)
async def put_strategy_limits(
    strategy_id: ScopeId, body: RiskLimitsIn, services: ServicesDep, principal: PrincipalDep
) -> RiskLimitsOut:
    """Replace the strategy's limits (admins; owners too when configured)."""
    limits = body.limits()
    changed = await services.risk_limits.set_limits(
        principal, RiskScope.STRATEGY, strategy_id, limits
    )
    return RiskLimitsOut.of(changed)
