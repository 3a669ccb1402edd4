"""The paper broker's ASGI application."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from .broker import PaperBroker
from .config import PaperBrokerConfig
from .errors import KiteError, RouteNotFound
from .persistence import load, save
from .routes import account, admin, market, orders, session
from .wire import error

logger = logging.getLogger("paper_broker")


def create_app(config: PaperBrokerConfig) -> Starlette:
    """A Kite Connect v3 look-alike served at the host root."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state_file = config.state_file
        if state_file is not None and state_file.exists():
            load(app.state.broker, state_file)
        yield
        if state_file is not None:
            save(app.state.broker, state_file)

    app = Starlette(
        # Starlette tries routes in order: the hot order routes come first.
        routes=[
            *orders.ROUTES,
            *account.ROUTES,
            *market.ROUTES,
            *session.ROUTES,
            *admin.ROUTES,
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
        lifespan=lifespan,
    )
    app.state.broker = PaperBroker(config)
    return app


async def _http_error(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    if status == 404:
        return error(RouteNotFound("Route not found", status=404))
    if status == 405:
        return error(KiteError("Method not allowed", status=405))
    return error(KiteError(str(exc), status=status))


async def _unexpected(request: Request, exc: Exception) -> Response:
    # A bug, never an expected refusal: log it and still answer in Kite's envelope.
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(KiteError("Something went wrong in the paper broker."))
