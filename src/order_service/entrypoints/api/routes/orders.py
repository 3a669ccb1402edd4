"""Orders: place, read, list, modify, cancel, and the order's events."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Response

from order_service.domain.ids import AccountId, ClientOrderId, OrderId, StrategyId
from order_service.domain.order import OrderChanges
from order_service.domain.status import OrderStatus
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.schemas import (
    ErrorBody,
    OrderEventOut,
    OrderIn,
    OrderOut,
    OrderPage,
    OrderPatch,
    PlacedOrderOut,
)
from order_service.errors import OrderServiceError, ValidationError
from order_service.observability.logging import bind
from order_service.observability.metrics import ORDER_LATENCY, ORDERS
from order_service.services.ports import OrderFilter

router = APIRouter(prefix="/api/v1/orders", tags=["orders"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 413, 422, 429, 502, 503, 504)
}
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", max_length=64, pattern=r"^[A-Za-z0-9_\-:.]+$"),
]


# Where a placed order's answer leads: its own routes, by the order id it carries.
_BY_ORDER_ID = {"order_id": "$response.body#/order_id"}
_LINKS = {
    "GetOrder": {"operationId": "get_order", "parameters": _BY_ORDER_ID},
    "ModifyOrder": {"operationId": "modify_order", "parameters": _BY_ORDER_ID},
    "CancelOrder": {"operationId": "cancel_order", "parameters": _BY_ORDER_ID},
    "OrderEvents": {"operationId": "order_events", "parameters": _BY_ORDER_ID},
}
_LOCATION = {
    "Location": {"description": "the order's own URL", "schema": {"type": "string"}},
}
PLACED: dict[int | str, dict[str, Any]] = {
    201: {
        "description": "placed: the broker accepted it (or refused it: `status`)",
        "links": _LINKS,
    },
    200: {
        "model": PlacedOrderOut,
        "description": "a repeat of an earlier request (the same key and body): that order as "
        "it stands now; the broker is not called again",
        "links": _LINKS,
    },
    202: {
        "model": PlacedOrderOut,
        "description": "the broker's answer was lost: the order is `UNKNOWN` until the order "
        "sync finds it by its tag; follow `Location`, never place it again",
        "headers": _LOCATION,
        "links": _LINKS,
    },
    **ERRORS,
}


@router.post(
    "",
    status_code=201,
    response_model=PlacedOrderOut,
    responses=PLACED,
    operation_id="place_order",
)
async def place_order(
    body: OrderIn,
    services: ServicesDep,
    principal: PrincipalDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> PlacedOrderOut:
    """Place an order once: a repeat with the same key and body returns the same order (200)."""
    started = time.perf_counter()
    bind(account=body.account_id)
    key = _idempotency_key(idempotency_key, body.client_order_id)
    if key is None and services.settings.idempotency_key_required:
        raise key_required("client_order_id")
    try:
        request = body.to_request(AccountId(body.account_id))
        placement = await services.orders.place_order(principal, request, key, body.force)
    except OrderServiceError as exc:
        ORDERS.labels(exc.error_code.lower()).inc()
        raise
    finally:
        ORDER_LATENCY.labels("total").observe(time.perf_counter() - started)
    order = placement.order
    ORDERS.labels(order.status.value.lower() if placement.created else "repeat").inc()
    if order.status is OrderStatus.UNKNOWN:
        response.status_code = 202
        response.headers["Location"] = f"/api/v1/orders/{order.order_id}"
    elif not placement.created:
        response.status_code = 200
    placed = PlacedOrderOut.of(order)
    placed.slices = [OrderOut.of(o) for o in placement.slices]
    return placed


@router.get("", response_model=OrderPage, responses=ERRORS)
async def list_orders(
    services: ServicesDep,
    principal: PrincipalDep,
    account_id: Annotated[str | None, Query(max_length=64)] = None,
    status: OrderStatus | None = None,
    strategy_id: Annotated[str | None, Query(max_length=64)] = None,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> OrderPage:
    """List orders newest first; pass ``next_cursor`` back as ``cursor`` for the next page."""
    wanted = OrderFilter(
        account_id=AccountId(account_id) if account_id else None,
        status=status,
        strategy_id=StrategyId(strategy_id) if strategy_id else None,
        after=OrderId(cursor) if cursor else None,
        limit=limit,
    )
    orders = await services.orders.list_orders(principal, wanted)
    next_cursor = orders[-1].order_id if len(orders) == limit else None
    return OrderPage(items=[OrderOut.of(order) for order in orders], next_cursor=next_cursor)


@router.get("/{order_id}", response_model=OrderOut, responses=ERRORS, operation_id="get_order")
async def get_order(order_id: str, services: ServicesDep, principal: PrincipalDep) -> OrderOut:
    bind(order_id=order_id)
    return OrderOut.of(await services.orders.get_order(principal, OrderId(order_id)))


@router.patch("/{order_id}", response_model=OrderOut, responses=ERRORS, operation_id="modify_order")
async def modify_order(
    order_id: str, body: OrderPatch, services: ServicesDep, principal: PrincipalDep
) -> OrderOut:
    """Modify a working order (Kite allows 25 modifications per order)."""
    bind(order_id=order_id)
    changes = OrderChanges(**body.model_dump(exclude_none=True, exclude={"force"}))
    order = await services.amendments.modify_order(
        principal, OrderId(order_id), changes, body.force
    )
    return OrderOut.of(order)


@router.delete(
    "/{order_id}", response_model=OrderOut, responses=ERRORS, operation_id="cancel_order"
)
async def cancel_order(order_id: str, services: ServicesDep, principal: PrincipalDep) -> OrderOut:
    """Cancel a working order; the answer carries the state the broker reports afterwards."""
    bind(order_id=order_id)
    order = await services.amendments.cancel_order(principal, OrderId(order_id))
    return OrderOut.of(order)


@router.get(
    "/{order_id}/events",
    response_model=list[OrderEventOut],
    responses=ERRORS,
    operation_id="order_events",
)
async def order_events(
    order_id: str, services: ServicesDep, principal: PrincipalDep
) -> list[OrderEventOut]:
    events = await services.orders.order_events(principal, OrderId(order_id))
    return [OrderEventOut.of(event) for event in events]


def key_required(field: str) -> ValidationError:
    """A placement without an idempotency key where one is required (production)."""
    return ValidationError(
        "send an Idempotency-Key header (or the body's key): without one, a retry after a lost "
        "answer would place the order twice (REQUIRE_IDEMPOTENCY_KEY=false turns this off)",
        field=field,
        details={"header": "Idempotency-Key"},
    )


def _idempotency_key(header: str | None, body_key: str | None) -> ClientOrderId | None:
    if header and body_key and header != body_key:
        raise ValidationError(
            "Idempotency-Key and client_order_id differ; send one, or the same value",
            field="client_order_id",
        )
    key = header or body_key
    return ClientOrderId(key) if key else None
