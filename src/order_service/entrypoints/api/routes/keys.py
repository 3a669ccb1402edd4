"""The caller's own API keys: list them and revoke one (a leaked key is cut off in seconds)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from order_service.domain.ids import ApiKeyId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import ApiKeyOut, ErrorBody

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 404)}


@router.get("", response_model=list[ApiKeyOut], responses=ERRORS)
async def list_keys(services: ServicesDep, principal: PrincipalDep) -> list[ApiKeyOut]:
    """The caller's keys, revoked ones included, oldest first."""
    keys = await services.users.api_keys(principal.user_id)
    return [
        ApiKeyOut(key_id=k.key_id, created_at=k.created_at, revoked_at=k.revoked_at) for k in keys
    ]


@router.delete("/{key_id}", status_code=204, responses=ERRORS)
async def revoke_key(key_id: str, services: ServicesDep, principal: PrincipalDep) -> None:
    """Revoke one of the caller's keys (another user's key is 404, like a missing one)."""
    await services.users.revoke_api_key(principal.user_id, ApiKeyId(key_id))
    services.directory.forget_all()  # at once here; other processes within their 5 s cache
