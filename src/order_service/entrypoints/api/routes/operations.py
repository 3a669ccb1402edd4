"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from order_service.bootstrap import Services
from order_service.domain.account import Principal, Role
from order_service.domain.ids import UserId
from order_service.entrypoints.api.deps import ServicesDep
from order_service.entrypoints.workers.supervisor import WorkerState
from order_service.errors import OrderServiceError
from order_service.observability.metrics import ACCOUNTS_LOGIN_REQUIRED

router = APIRouter(tags=["operations"])
# Readiness looks at every account, as an operator would.
_OPERATOR = Principal(UserId("operator"), "operator", frozenset({Role.ADMIN}))


@router.get("/health")
async def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(request: Request, services: ServicesDep) -> JSONResponse:
    """Ready when the database answers and the workers are healthy.

    Anyone may ask (an orchestrator's probe has no credentials), so the answer is only ready or
    not; an admin's bearer token also gets the details: the database, the workers, and which
    accounts have a live broker session.
    """
    body = await _readiness(request, services)
    status = 200 if body["ready"] else 503
    if not await _is_admin(request, services):
        return JSONResponse({"ready": body["ready"]}, status_code=status)
    return JSONResponse(body, status_code=status)


async def _readiness(request: Request, services: Services) -> dict[str, Any]:
    database = await services.database_ready()
    body: dict[str, Any] = {"database": database}
    if database:
        accounts = await services.accounts.list_accounts(_OPERATOR)
        now = services.clock.now()
        sessions = {a.account_id: a.has_live_session(now) for a in accounts}
        body["broker_sessions"] = sessions
        ACCOUNTS_LOGIN_REQUIRED.set(sum(1 for live in sessions.values() if not live))
    supervisor = getattr(request.app.state, "supervisor", None)
    workers = supervisor.status() if supervisor is not None else {}
    body["workers"] = workers
    body["ready"] = database and all(state != WorkerState.FAILED for state in workers.values())
    return body


async def _is_admin(request: Request, services: Services) -> bool:
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential:
        return False
    try:
        principal = await services.directory.authenticate(credential.strip())
    except OrderServiceError:  # bad credentials or a directory that is down: no details
        return False
    return principal.is_admin


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
