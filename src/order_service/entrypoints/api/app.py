"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.routing import APIRoute

from order_service import __version__
from order_service.bootstrap import Services
from order_service.entrypoints.api.docs import install_docs
from order_service.entrypoints.api.errors import install_error_handlers
from order_service.entrypoints.api.middleware import (
    SECRET_PATH_PREFIX,
    RequestContextMiddleware,
    StrictJsonMiddleware,
)
from order_service.entrypoints.api.routes import (
    accounts,
    attribution_cases,
    baskets,
    books,
    control,
    events,
    handoffs,
    history,
    instruments,
    keys,
    kill_switch,
    operations,
    orders,
    portfolios,
    positions,
    postbacks,
    previews,
    quotes,
    risk,
    signals,
    strategies,
    webhooks,
)
from order_service.entrypoints.workers.liveness import heartbeating
from order_service.entrypoints.workers.supervisor import Supervisor


def create_app(services: Services, supervisor: Supervisor | None = None) -> FastAPI:
    """Build the API around a services bundle; the supervisor (if any) runs with the app."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            async with heartbeating(services.liveness):
                if supervisor is not None:
                    await supervisor.start()
                try:
                    yield
                finally:
                    if supervisor is not None:
                        await supervisor.stop()
        finally:
            await services.close()

    app = FastAPI(
        title="Order Service",
        version=__version__,
        description="Order management for Indian markets through Zerodha Kite Connect.",
        lifespan=lifespan,
        docs_url=None,  # served by install_docs from vendored assets, not a CDN
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
    )
    app.state.services = services
    app.state.supervisor = supervisor
    install_error_handlers(app)
    install_docs(app)
    # The last added runs first: request ids and the size cap wrap the strict JSON check. The
    # postback route parses its body with the same strict parser and answers every refusal 401;
    # a signal's route, once its token is known (an alert's refusal is recorded for the token).
    own_parsers = frozenset(r.path for r in postbacks.router.routes if isinstance(r, APIRoute))
    app.add_middleware(
        StrictJsonMiddleware, own_parsers=own_parsers, own_prefixes=(SECRET_PATH_PREFIX,)
    )
    app.add_middleware(RequestContextMiddleware, max_body_bytes=services.settings.max_body_bytes)
    for module in (
        orders,
        baskets,
        accounts,
        strategies,
        portfolios,
        keys,
        postbacks,
        operations,
        books,
        positions,
        events,
        webhooks,
        risk,
        control,
        kill_switch,
        handoffs,
        attribution_cases,
        signals,
        previews,
        instruments,
        quotes,
        history,
    ):
        app.include_router(module.router)
    return app
