"""What every authenticated Kite call goes through: auth, rate limit, faults, envelope."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response

from ..broker import PaperBroker
from ..errors import KiteError, MarginError, NetworkError, OrderError, StorageError, TokenError
from ..faults import Fault
from ..sessions import Session
from ..wire import AbortResponse, error, html_error, success

OMS_FAILURE = "Request failed (kitetrade-oms)."
# The status each `error_type` arrives with on Kite (KITE.md 3.4), for kind "error".
ERROR_STATUS = {
    "TokenException": 403,
    "PermissionException": 403,
    "UserException": 403,
    "TwoFAException": 403,
    "InputException": 400,
    "OrderException": 400,
    "MarginException": 400,
    "HoldingException": 400,
    "NetworkException": 503,
    "DataException": 502,
    "GeneralException": 500,
}
DEFAULT_REJECTION = "Order rejected by the exchange."
DEFAULT_RMS_REJECTION = "RMS:Rule: Check circuit limit including square off order exceeds"


@dataclass(frozen=True, slots=True)
class Call:
    """One authenticated request, as a handler sees it."""

    request: Request
    broker: PaperBroker
    session: Session
    fault: Fault | None

    @property
    def user_id(self) -> str:
        return self.session.user_id

    @property
    def rms_rejection(self) -> str | None:
        """The status message of a rejection to apply after acceptance, if injected."""
        if self.fault is None or self.fault.kind != "rms_reject":
            return None
        message = self.fault.message or DEFAULT_RMS_REJECTION
        return message if message.startswith("RMS:") else f"RMS:{message}"


Handler = Callable[[Call], Awaitable[Any]]
Endpoint = Callable[[Request], Awaitable[Response]]


def broker_of(request: Request) -> PaperBroker:
    broker: PaperBroker = request.app.state.broker
    return broker


def commit(connection: HTTPConnection, force: bool = False) -> None:
    """Make every change so far durable, when a state file is kept."""
    journal = connection.app.state.journal
    if journal is not None:
        journal.commit(connection.app.state.broker, force)


def record(request: Request, response: Response, force: bool = False) -> Response:
    """`response`, once what led to it is durable; the storage failure otherwise."""
    try:
        commit(request, force)
    except StorageError as exc:
        return error(exc)
    return response


def durable(endpoint: Endpoint) -> Endpoint:
    """An endpoint that answers only once its changes are durable."""

    async def wrapped(request: Request) -> Response:
        return record(request, await endpoint(request))

    wrapped.__name__ = endpoint.__name__
    return wrapped


def kite_call(route: str, bucket: str) -> Callable[[Handler], Endpoint]:
    """Wrap a handler returning Kite `data` into a Starlette endpoint."""

    def decorate(handler: Handler) -> Endpoint:
        async def endpoint(request: Request) -> Response:
            broker = broker_of(request)
            fault: Fault | None = None
            try:
                session = broker.sessions.authenticate(
                    request.headers.get("authorization"), broker.clock.timestamp()
                )
                broker.limiter.check(session.user_id, bucket)
                fault = broker.faults.pick(route) if broker.faults.items else None
                early = await _before(fault, broker, session, route) if fault else None
                if early is not None:
                    return record(request, early)
                broker.exchange.sync()
                response = _respond(await handler(Call(request, broker, session, fault)))
            except KiteError as exc:
                response = error(exc)
            # Durable before any answer, a late one (timeout_after_accept) included.
            response = record(request, response)
            return await _after(fault, response) if fault else response

        endpoint.__name__ = handler.__name__
        return endpoint

    return decorate


def _respond(data: Any) -> Response:
    return data if isinstance(data, Response) else success(data)


async def _before(
    fault: Fault, broker: PaperBroker, session: Session, route: str
) -> Response | None:
    """Faults that act before the call: answer now, or delay and carry on (None)."""
    kind = fault.kind
    if kind == "latency":
        await asyncio.sleep(fault.delay_ms / 1000)
        return None
    if kind == "http_429":
        return error(NetworkError(fault.message or "Too many requests", status=429))
    if kind.startswith("html_"):
        return html_error(int(kind.removeprefix("html_")))
    if kind == "token_expired":
        broker.sessions.revoke_user(session.user_id)
        return error(TokenError("Incorrect `api_key` or `access_token`."))
    if kind == "reject":
        return error(_rejection(fault, route))
    return _malformed(fault)


def _malformed(fault: Fault) -> Response | None:
    """Replies that break Kite's envelope, for exercising a client's defences."""
    if fault.kind == "error":
        return error(_chosen_error(fault))
    if fault.kind == "empty_json":
        return Response(b"", media_type="application/json")
    if fault.kind == "no_content_type":
        # Starlette adds no Content-Type when the response has no media type.
        return Response(b'{"status":"success","data":{}}')
    return None


def _chosen_error(fault: Fault) -> KiteError:
    status = fault.status or ERROR_STATUS.get(fault.error_type, 500)
    kind: type[KiteError] = type(fault.error_type, (KiteError,), {"error_type": fault.error_type})
    return kind(fault.message or "Injected error.", status=status)


def _rejection(fault: Fault, route: str) -> KiteError:
    message = fault.message or DEFAULT_REJECTION
    if route == "place_order" and "Insufficient funds" in message:
        return MarginError(message)
    return OrderError(message)


async def _after(fault: Fault, response: Response) -> Response:
    """Faults that act once the call has taken effect."""
    if fault.kind == "timeout_after_accept":
        await asyncio.sleep(fault.delay_ms / 1000)
    elif fault.kind == "error_after_accept":
        return error(NetworkError(fault.message or OMS_FAILURE))
    elif fault.kind == "reset":
        return AbortResponse()
    return response
