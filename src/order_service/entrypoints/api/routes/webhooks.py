"""Webhook endpoints: register (the secret is shown once), list, delete, deliveries, retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.event_schemas import (
    DeliveryOut,
    DeliveryPage,
    WebhookCreated,
    WebhookEventOut,
    WebhookEventPage,
    WebhookIn,
    WebhookOut,
)
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.services.webhooks import WebhookRequest

router = APIRouter(prefix="/api/v1/webhooks", tags=["webhooks"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
WebhookId = Annotated[str, Path(max_length=64)]
DeliveryId = Annotated[str, Path(max_length=64)]


@router.post("", status_code=201, response_model=WebhookCreated, responses=ERRORS)
async def create_webhook(
    body: WebhookIn, services: ServicesDep, principal: PrincipalDep
) -> WebhookCreated:
    """Register a receiver of your order events; the answer's ``secret`` is shown only now."""
    request = WebhookRequest(body.url, body.event_types, body.description)
    endpoint = await services.webhooks.register(principal, request)
    return WebhookCreated.created(endpoint)


@router.get("", response_model=list[WebhookOut], responses=ERRORS)
async def list_webhooks(services: ServicesDep, principal: PrincipalDep) -> list[WebhookOut]:
    return [WebhookOut.of(e) for e in await services.webhooks.endpoints(principal)]


@router.get("/{webhook_id}", response_model=WebhookOut, responses=ERRORS)
async def get_webhook(
    webhook_id: WebhookId, services: ServicesDep, principal: PrincipalDep
) -> WebhookOut:
    return WebhookOut.of(await services.webhooks.get(principal, webhook_id))


@router.delete("/{webhook_id}", status_code=204, response_class=Response, responses=ERRORS)
async def delete_webhook(
    webhook_id: WebhookId, services: ServicesDep, principal: PrincipalDep
) -> Response:
    await services.webhooks.delete(principal, webhook_id)
    return Response(status_code=204)


@router.get("/{webhook_id}/deliveries", response_model=DeliveryPage, responses=ERRORS)
async def list_deliveries(
    webhook_id: WebhookId,
    services: ServicesDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> DeliveryPage:
    """Return the endpoint's deliveries newest first; pass ``next_cursor`` back as ``cursor``."""
    found = await services.webhooks.deliveries(principal, webhook_id, cursor, limit)
    next_cursor = found[-1].delivery_id if len(found) == limit else None
    return DeliveryPage(items=[DeliveryOut.of(d) for d in found], next_cursor=next_cursor)


@router.get("/{webhook_id}/events", response_model=WebhookEventPage, responses=ERRORS)
async def list_webhook_events(
    webhook_id: WebhookId,
    services: ServicesDep,
    principal: PrincipalDep,
    cursor: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> WebhookEventPage:
    """Return what happened to the endpoint itself (``webhook.disabled`` after a day of failed
    deliveries, ``webhook.enabled`` when a retry reached it), newest first."""
    found = await services.webhooks.events(principal, webhook_id, cursor, limit)
    next_cursor = found[-1].event_id if len(found) == limit else None
    return WebhookEventPage(items=[WebhookEventOut.of(e) for e in found], next_cursor=next_cursor)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    status_code=202,
    response_model=DeliveryOut,
    responses=ERRORS,
)
async def retry_delivery(
    webhook_id: WebhookId,
    delivery_id: DeliveryId,
    services: ServicesDep,
    principal: PrincipalDep,
) -> DeliveryOut:
    """Send the delivery once more, now; if it succeeds a disabled endpoint is enabled."""
    return DeliveryOut.of(await services.webhooks.retry(principal, webhook_id, delivery_id))
