"""The kill switch: halt an account, a user's accounts or everything; release; list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.kill_switch_schemas import (
    EngagedOut,
    FlatteningOut,
    HaltIn,
    HaltOut,
)
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.errors import ValidationError

router = APIRouter(prefix="/api/v1/kill-switch", tags=["kill-switch"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 422)
}


@router.post("", status_code=201, response_model=EngagedOut, responses=ERRORS)
async def engage(body: HaltIn, services: ServicesDep, principal: PrincipalDep) -> EngagedOut:
    """Halt new orders and modifications (cancels stay allowed) on the scope, in every
    process within a second. Everything, or another user, is for admins (403); an account
    the caller may not act on is 404. Engaging an engaged scope keeps the first halt.
    With ``flatten``, then cancel every working order of the scope at the broker and square
    off every open MIS position with a protected MARKET order, each reported; a script's key
    may halt but not flatten (403)."""
    if body.flatten:
        services.flattening.check_may_flatten(principal)  # before anything is engaged
    halt = await services.kill_switch.engage(principal, body.scope(), body.flatten)
    engaged = EngagedOut.of(halt)
    if body.flatten:
        flattened = await services.flattening.flatten(principal, halt)
        engaged.flattened = FlatteningOut.of(flattened)
    return engaged


@router.delete("", status_code=204, responses=ERRORS)
async def release(body: HaltIn, services: ServicesDep, principal: PrincipalDep) -> None:
    """Release the scope's halt. A halt an admin engaged is released by an admin, and a
    script's key releases nothing (403); a scope not halted is 404; ``flatten`` is for
    engaging (422)."""
    if body.flatten:
        raise ValidationError("flatten is for engaging a halt, not releasing one", field="flatten")
    await services.kill_switch.release(principal, body.scope())


@router.get("", response_model=list[HaltOut], responses=ERRORS)
async def list_halts(services: ServicesDep, principal: PrincipalDep) -> list[HaltOut]:
    """The halts in force that stop any of the caller's accounts (all of them for an admin)."""
    return [HaltOut.of(h) for h in await services.kill_switch.list(principal)]
