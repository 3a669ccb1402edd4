"""The broker postback receiver (Kite's webhook): no bearer token, a checksum instead."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from order_service.adapters.broker.parsing import order_report
from order_service.domain.ids import AccountId
from order_service.entrypoints.api.deps import ServicesDep
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.errors import ValidationError
from order_service.observability.metrics import POSTBACKS
from order_service.services.postbacks import Postback

router = APIRouter(prefix="/api/v1/broker", tags=["broker"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401, 404, 422)}
_REQUIRED = ("order_id", "order_timestamp", "checksum", "user_id", "status")


@router.post("/postback", responses=ERRORS)
async def receive_postback(request: Request, services: ServicesDep) -> dict[str, str]:
    """Verify ``sha256(order_id + order_timestamp + api_secret)`` and apply the update."""
    payload = await _payload(request)
    postback = Postback(
        account_id=AccountId(str(payload["user_id"])),
        order_timestamp=str(payload["order_timestamp"]),
        checksum=str(payload["checksum"]),
        report=order_report(payload),
    )
    outcome = await services.postbacks.apply(postback)
    POSTBACKS.labels(outcome.value).inc()
    return {"outcome": outcome.value}


async def _payload(request: Request) -> dict[str, Any]:
    try:
        payload = await request.json()
    except ValueError as exc:
        raise ValidationError("the postback body is not JSON") from exc
    if not isinstance(payload, dict):
        raise ValidationError("the postback body must be a JSON object")
    missing = [name for name in _REQUIRED if not payload.get(name)]
    if missing:
        raise ValidationError(f"the postback lacks {', '.join(missing)}", field=missing[0])
    return payload
