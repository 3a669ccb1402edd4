"""Attribution cases: external exits that closed part of what several strategies held, for a
person to allocate (README "Exit attribution")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from order_service.domain.attribution import Allocation, AttributionId, CaseStatus
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.entrypoints.api.attribution_schemas import (
    AttributionCaseOut,
    AttributionCasePage,
    CaseAssignIn,
    CaseResolveIn,
)
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/attribution-cases", tags=["attribution"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}
CaseId = Annotated[str, Path(max_length=64)]


@router.get("", response_model=AttributionCasePage, responses=ERRORS)
async def list_cases(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
    status: CaseStatus | None = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> AttributionCasePage:
    """The cases of the caller's accounts, oldest first; pass ``next_cursor`` back as
    ``cursor`` for the next page."""
    cases = await services.attribution.cases(
        principal,
        AccountId(account_id) if account_id else None,
        status,
        AttributionId(cursor) if cursor else None,
        limit,
    )
    next_cursor = cases[-1].attribution_id if len(cases) == limit else None
    return AttributionCasePage(
        items=[AttributionCaseOut.of(case) for case in cases], next_cursor=next_cursor
    )


@router.get("/{attribution_id}", response_model=AttributionCaseOut, responses=ERRORS)
async def get_case(
    attribution_id: CaseId, services: ServicesDep, principal: PrincipalDep
) -> AttributionCaseOut:
    """A case (another user's account's: 404)."""
    case = await services.attribution.get(principal, AttributionId(attribution_id))
    return AttributionCaseOut.of(case)


@router.post("/{attribution_id}/assign", response_model=AttributionCaseOut, responses=ERRORS)
async def assign_case(
    attribution_id: CaseId, body: CaseAssignIn, services: ServicesDep, principal: PrincipalDep
) -> AttributionCaseOut:
    """Name the person to resolve it: a user who may act on the case's account, else 422."""
    case = await services.attribution.assign(
        principal, AttributionId(attribution_id), UserId(body.assignee)
    )
    return AttributionCaseOut.of(case)


@router.post("/{attribution_id}/resolve", response_model=AttributionCaseOut, responses=ERRORS)
async def resolve_case(
    attribution_id: CaseId, body: CaseResolveIn, services: ServicesDep, principal: PrincipalDep
) -> AttributionCaseOut:
    """Give the exit's allocations: they must sum to its quantity, each strategy of the
    account, none given more than it held (the default strategy excepted), else 422
    ``INVALID_INPUT``. A resolved case may be resolved again until it is applied (then 409)."""
    allocations = [Allocation(StrategyId(a.strategy_id), a.quantity) for a in body.allocations]
    case = await services.attribution.resolve(principal, AttributionId(attribution_id), allocations)
    return AttributionCaseOut.of(case)


@router.post("/{attribution_id}/apply", response_model=AttributionCaseOut, responses=ERRORS)
async def apply_case(
    attribution_id: CaseId, services: ServicesDep, principal: PrincipalDep
) -> AttributionCaseOut:
    """Put the resolved allocations in the books (the exit's fills split among the
    strategies, an event on its order). Not yet resolved, or applied already: 409."""
    case = await services.attribution.apply(principal, AttributionId(attribution_id))
    return AttributionCaseOut.of(case)
