"""The order event feed and its live stream (Server-Sent Events)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response

from order_service.domain.feed import TypeFilter
from order_service.domain.ids import AccountId, OrderId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.event_schemas import TYPE_LIST, FeedEventOut, FeedPage
from order_service.entrypoints.api.event_stream import EventStreamResponse, frames
from order_service.entrypoints.api.schemas import ErrorBody
from order_service.errors import ValidationError
from order_service.services.order_feed import FeedFilter

router = APIRouter(prefix="/api/v1/order-events", tags=["events"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 404, 422, 503)
}
MAX_SEQUENCE = 2**63 - 1
After = Annotated[int, Query(ge=0, le=MAX_SEQUENCE, description="the last sequence seen")]
Limit = Annotated[int, Query(ge=1, le=1000)]
AccountParam = Annotated[str | None, Query(max_length=64)]
OrderParam = Annotated[str | None, Query(max_length=64)]
Types = Annotated[
    str | None,
    Query(
        max_length=2000,
        pattern=TYPE_LIST,
        description="comma-separated event types: order.* or e.g. order.filled",
    ),
]
LastEventId = Annotated[str | None, Header(alias="Last-Event-ID", max_length=32)]


def _filter(
    after: int, limit: int, account_id: str | None, order_id: str | None, types: str | None
) -> FeedFilter:
    return FeedFilter(
        after=after,
        limit=limit,
        account_id=AccountId(account_id) if account_id else None,
        order_id=OrderId(order_id) if order_id else None,
        types=TypeFilter.of(types.split(",") if types else None),
    )


@router.get("", response_model=FeedPage, responses=ERRORS)
async def order_events(
    services: ServicesDep,
    principal: PrincipalDep,
    after: After = 0,
    limit: Limit = 100,
    account_id: AccountParam = None,
    order_id: OrderParam = None,
    types: Types = None,
) -> FeedPage:
    """Return your events after ``after`` in commit order; pass ``next`` back for more."""
    wanted = _filter(after, limit, account_id, order_id, types)
    events = await services.feed.page(principal, wanted)
    items = [FeedEventOut.of(event) for event in events]
    return FeedPage(items=items, next=events[-1].sequence if events else after)


@router.get(
    "/stream",
    responses={200: {"content": {"text/event-stream": {}}}, **ERRORS},
    response_class=Response,
    response_model=None,
)
async def order_event_stream(
    request: Request,
    services: ServicesDep,
    principal: PrincipalDep,
    after: After = 0,
    account_id: AccountParam = None,
    order_id: OrderParam = None,
    types: Types = None,
    last_event_id: LastEventId = None,
) -> EventStreamResponse:
    """Stream your events as Server-Sent Events (``id:`` is the sequence); resume with
    ``Last-Event-ID`` or ``after``."""
    start = _resume_point(last_event_id, after)
    wanted = _filter(start, 1, account_id, order_id, types)
    query = await services.feed.query_for(principal, wanted)
    events = services.broadcaster.follow(query)
    return EventStreamResponse(frames(events), services.settings.events_send_timeout_seconds)


def _resume_point(last_event_id: str | None, after: int) -> int:
    if last_event_id is None or not last_event_id.strip():
        return after
    text = last_event_id.strip()
    if not text.isascii() or not text.isdigit() or int(text) > MAX_SEQUENCE:
        raise ValidationError("Last-Event-ID must be a sequence number", field="Last-Event-ID")
    return int(text)
