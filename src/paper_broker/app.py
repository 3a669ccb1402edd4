"""The paper broker's ASGI application."""

from __future__ import annotations

import asyncio
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
from .journal import Journal
from .routes import (
    account,
    admin,
    gtt,
    history,
    margins,
    market,
    orders,
    portfolio,
    session,
    ticker,
)
from .wire import error

logger = logging.getLogger("paper_broker")
PUMP_SECONDS = 1.0


def create_app(config: PaperBrokerConfig) -> Starlette:
    """A Kite Connect v3 look-alike served at the host root."""
    app = Starlette(
        # Starlette tries routes in order: the hot order routes come first.
        routes=[
            *orders.ROUTES,
            *account.ROUTES,
            *portfolio.ROUTES,
            *gtt.ROUTES,
            *margins.ROUTES,
            *history.ROUTES,
            *market.ROUTES,
            *session.ROUTES,
            *admin.ROUTES,
            *ticker.ROUTES,
        ],
        exception_handlers={HTTPException: _http_error, Exception: _unexpected},
        lifespan=_lifespan,
    )
    app.state.broker = PaperBroker(config)
    # Set by the lifespan when a state file is configured.
    app.state.journal = None
    return app


@asynccontextmanager
async def _lifespan(app: Starlette) -> AsyncIterator[None]:
    """Restore the saved state, run the postback queue and the market pump, snapshot at the end."""
    state_file = app.state.broker.config.state_file
    if state_file is not None:
        journal = Journal(state_file)
        journal.open(app.state.broker)
        app.state.journal = journal
    workers = [
        asyncio.create_task(app.state.broker.feed.postbacks.run()),
        asyncio.create_task(_pump(app)),
    ]
    yield
    for worker in workers:
        worker.cancel()
    await asyncio.gather(*workers, return_exceptions=True)
    if app.state.journal is not None:
        app.state.journal.close(app.state.broker)


async def _pump(app: Starlette) -> None:
    """Keep the market moving between requests so fills, expiries and updates happen on time."""
    while True:
        await asyncio.sleep(PUMP_SECONDS)
        try:
            broker, journal = app.state.broker, app.state.journal
            broker.exchange.sync()
            if journal is not None:
                journal.commit(broker)
                journal.compact_if_outgrown(broker)
                if not journal.is_flushed:
                    await asyncio.to_thread(journal.flush)
        except Exception:
            # Supervised edge: a bug in one catch-up must not freeze the market for good.
            logger.exception("the market pump failed")


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
