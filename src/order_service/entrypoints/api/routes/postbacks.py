"""The broker postback receiver (Kite's webhook): no bearer token, a checksum instead.

Verified first, parsed after: until the checksum matches, the body is only four strings, and
every refusal (not JSON, a field missing or not text, an unknown account, a wrong checksum) is
the same 401, so the route tells an outsider nothing about which accounts exist.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request

from order_service.adapters.broker.parsing import order_report
from order_service.domain.ids import AccountId, BrokerOrderId
from order_service.domain.reports import OrderStatusReport
from order_service.entrypoints.api.deps import ServicesDep
from order_service.entrypoints.api.json_body import loads_strict
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.errors import AuthenticationRequired, DataFormatError, ValidationError
from order_service.observability.logging import get_logger
from order_service.observability.metrics import ORDER_UPDATES, POSTBACKS, RECONCILIATION_DRIFT
from order_service.services.postbacks import PostbackOutcome, SignedPostback

log = get_logger(__name__)
router = APIRouter(prefix="/api/v1/broker", tags=["broker"])
ERRORS: dict[int | str, dict[str, Any]] = {code: {"model": ErrorBody} for code in (401,)}
_SIGNED = ("user_id", "order_id", "order_timestamp", "checksum")
_MAX_FIELD = 128
# The checksum hashes the plain concatenation of the two fields, so characters could move
# between them; fixing their shapes (Kite's numeric order ids, its "YYYY-MM-DD HH:MM:SS")
# makes one captured checksum verify one postback only.
_SHAPES = {
    "order_id": re.compile(r"[0-9]{1,32}"),
    "order_timestamp": re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}"),
}


@router.post("/postback", responses=ERRORS)
async def receive_postback(request: Request, services: ServicesDep) -> dict[str, str]:
    """Verify ``sha256(order_id + order_timestamp + api_secret)``, then confirm and apply."""
    payload = await _signed_payload(request)
    verified = await services.postbacks.verify(
        SignedPostback(
            account_id=AccountId(payload["user_id"]),
            broker_order_id=BrokerOrderId(payload["order_id"]),
            order_timestamp=payload["order_timestamp"],
            checksum=payload["checksum"],
        )
    )
    outcome = await services.postbacks.apply(verified, _claim(payload))
    POSTBACKS.labels(outcome.value).inc()
    ORDER_UPDATES.labels("postback", outcome.value).inc()
    if outcome is PostbackOutcome.MISMATCH:
        RECONCILIATION_DRIFT.labels("tag_mismatch").inc()
    return {"outcome": outcome.value}


async def _signed_payload(request: Request) -> dict[str, Any]:
    try:
        payload = await _body(request)
    except ValidationError as exc:
        raise _refused() from exc
    for name in _SIGNED:
        value = payload.get(name)
        if not isinstance(value, str) or not value or len(value) > _MAX_FIELD:
            raise _refused()
        shape = _SHAPES.get(name)
        if shape is not None and not shape.fullmatch(value):
            raise _refused()
    return payload


async def _body(request: Request) -> dict[str, Any]:
    payload = loads_strict(await request.body())  # repeated keys, NaN, 1e400: INVALID_INPUT
    if not isinstance(payload, dict):
        raise ValidationError("the postback body must be a JSON object")
    return payload


def _claim(payload: dict[str, Any]) -> OrderStatusReport | None:
    """What the body claims; unsigned, so only a hint (None if it cannot be read)."""
    try:
        return order_report(payload)
    except DataFormatError as exc:
        log.warning("postback body unreadable", order_id=payload["order_id"], details=exc.details)
        return None


def _refused() -> AuthenticationRequired:
    return AuthenticationRequired("the postback could not be verified")
