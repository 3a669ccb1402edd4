"""Handoffs of control of a scope (an account, or one strategy of it) between people and
algorithms."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from order_service.domain.handoff import HandoffId
from order_service.domain.ids import AccountId, StrategyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.handoff_schemas import HandoffIn, HandoffOut
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.services.handoffs import HandoffRequest

router = APIRouter(prefix="/api/v1/handoffs", tags=["handoffs"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}


@router.post("", status_code=202, response_model=HandoffOut, responses=ERRORS)
async def request_handoff(
    body: HandoffIn, services: ServicesDep, principal: PrincipalDep
) -> HandoffOut:
    """Hand a scope to its algorithm (``to_script``) or its people (``to_manual``).

    The scope is TRANSITIONING at once (nobody trades it); the handoff worker cancels its
    working orders at the broker, then hands it over, or gives it back its mode and says why.
    Another handoff of an overlapping scope in progress is 409 ``OWNERSHIP_CONFLICT``, unless
    it is past its deadline and ``force`` is set.
    """
    strategy_id = StrategyId(body.strategy_id) if body.strategy_id else None
    asked = HandoffRequest(AccountId(body.account_id), strategy_id, body.trigger, body.force)
    return HandoffOut.of(await services.handoffs.request(principal, asked))


@router.get("/{handoff_id}", response_model=HandoffOut, responses=ERRORS)
async def get_handoff(
    handoff_id: Annotated[str, Path(max_length=64)], services: ServicesDep, principal: PrincipalDep
) -> HandoffOut:
    """A handoff with its steps (another user's account's: 404)."""
    return HandoffOut.of(await services.handoffs.get(principal, HandoffId(handoff_id)))
