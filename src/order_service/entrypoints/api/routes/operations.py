"""Operations: liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from order_service.domain.account import Principal, Role
from order_service.domain.ids import UserId
from order_service.entrypoints.api.deps import ServicesDep
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
    """Ready when the database answers and the workers are healthy; sessions are reported."""
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
    body["ready"] = database and all(state != "failed" for state in workers.values())
    return JSONResponse(body, status_code=200 if body["ready"] else 503)


@router.get("/metrics", include_in_schema=False)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
