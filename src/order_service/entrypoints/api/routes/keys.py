"""The caller's own API keys: issue one (bound to a strategy for a script), list, revoke."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from order_service.domain.ids import ApiKeyId, StrategyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.ownership_schemas import ApiKeyCreated, ApiKeyIn, ApiKeyOut
from order_service.entrypoints.api.schemas import ErrorBody

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422)
}


@router.post("", status_code=201, response_model=ApiKeyCreated, responses=ERRORS)
async def create_key(
    body: ApiKeyIn, services: ServicesDep, principal: PrincipalDep
) -> ApiKeyCreated:
    """Issue the caller a key (shown once). With ``strategy_id`` (a strategy of one of the
    caller's accounts, not archived) it is a script's key: its orders go to that strategy as
    SCRIPT orders and may name no other. A script's key cannot issue keys (403)."""
    strategy_id = StrategyId(body.strategy_id) if body.strategy_id else None
    info, key = await services.users.issue_own_api_key(principal, strategy_id)
    return ApiKeyCreated(**ApiKeyOut.of(info).model_dump(), key=key)


@router.get("", response_model=list[ApiKeyOut], responses=ERRORS)
async def list_keys(services: ServicesDep, principal: PrincipalDep) -> list[ApiKeyOut]:
    """The caller's keys, revoked ones included, oldest first."""
    return [ApiKeyOut.of(k) for k in await services.users.api_keys(principal.user_id)]


@router.delete("/{key_id}", status_code=204, responses=ERRORS)
async def revoke_key(key_id: str, services: ServicesDep, principal: PrincipalDep) -> None:
    """Revoke one of the caller's keys (another user's key is 404, like a missing one)."""
    await services.users.revoke_api_key(principal.user_id, ApiKeyId(key_id))
    services.directory.forget_all()  # at once here; other processes within their 5 s cache
