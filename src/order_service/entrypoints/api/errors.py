"""The one error handler: every failure leaves as the same envelope with its HTTP status."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from order_service import errors
from order_service.observability.logging import get_logger
from order_service.observability.metrics import ERRORS

log = get_logger(__name__)

HTTP_STATUS: dict[type[errors.OrderServiceError], int] = {
    errors.OrderServiceError: 500,
    errors.ValidationError: 422,
    errors.PayloadTooLarge: 413,
    errors.AuthenticationRequired: 401,
    errors.PermissionDenied: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.BrokerAPIError: 502,
    errors.AuthenticationError: 409,  # log the account in: a state to act on, not an outage
    errors.InsufficientFundsError: 422,
    errors.OrderRejected: 422,
    errors.RateLimitError: 429,
    errors.BrokerUnavailable: 503,
    errors.BrokerOutcomeUnknown: 504,
    errors.ServiceUnavailableError: 503,
    errors.UpstreamServiceError: 502,
    errors.DataFormatError: 502,
}


def status_for(error: errors.OrderServiceError) -> int:
    """Walk the MRO to the nearest class with a status."""
    for cls in type(error).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def request_id_of(request: Request) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def error_response(request_id: str, error: errors.OrderServiceError) -> JSONResponse:
    """Render ``error`` as the envelope and count it."""
    ERRORS.labels(error.error_code).inc()
    body = {"error": {**error.to_dict(), "request_id": request_id}}
    headers = {"X-Request-ID": request_id} if request_id else {}
    retry_after = error.details.get("retry_after_seconds")
    if isinstance(retry_after, int | float):  # a rate limit, or an open circuit
        headers["Retry-After"] = str(max(1, round(retry_after)))
    return JSONResponse(body, status_code=status_for(error), headers=headers)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.OrderServiceError)
    if status_for(exc) >= 500:
        log.warning("request failed", code=exc.error_code, error=exc.message, details=exc.details)
    return error_response(request_id_of(request), exc)


async def _invalid_request(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(item) for item in exc.errors()]
    field = problems[0]["field"] if problems else None
    message = f"{field}: {problems[0]['message']}" if problems else "invalid request"
    error = errors.ValidationError(message, details={"problems": problems})
    if field:
        error.details["field"] = field
    return error_response(request_id_of(request), error)


def _problem(item: Any) -> dict[str, Any]:
    location = [str(part) for part in item.get("loc", ()) if part not in ("body",)]
    return {"field": ".".join(location) or None, "message": str(item.get("msg", "invalid"))}


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    error: errors.OrderServiceError
    if exc.status_code == 404:
        error = errors.NotFound(f"no route {request.method} {request.url.path}")
    elif exc.status_code == 405:
        error = errors.ValidationError(
            f"method {request.method} is not allowed here", details={"allowed": _allowed(request)}
        )
        response = _with_status(request, error, 405)
        response.headers["Allow"] = ", ".join(_allowed(request))
        return response
    elif exc.status_code in (401, 403):
        error = errors.AuthenticationRequired(str(exc.detail))
    else:
        error = errors.ValidationError(str(exc.detail))
    return error_response(request_id_of(request), error)


_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _allowed(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's own 405 names only the first)."""
    routes = request.app.router.routes
    return [
        method
        for method in _METHODS
        if any(_takes(route, {**request.scope, "method": method}) for route in routes)
    ]


def _takes(route: BaseRoute, scope: Scope) -> bool:
    return route.matches(scope)[0] is Match.FULL


def _with_status(request: Request, error: errors.OrderServiceError, status: int) -> JSONResponse:
    response = error_response(request_id_of(request), error)
    response.status_code = status
    return response


def install_error_handlers(app: FastAPI) -> None:
    """Map our errors, FastAPI's validation and Starlette's HTTP errors to the envelope.

    No handler for ``Exception``: Starlette runs that one in its outermost middleware, which
    re-raises after answering. ``RequestContextMiddleware`` answers bugs instead (500, once).
    """
    app.add_exception_handler(errors.OrderServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(StarletteHTTPException, _http_error)
