"""What every ``order-service`` command shares: the console, the settings, the services."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer
from rich.console import Console

from order_service.bootstrap import Services, bootstrap
from order_service.config import Settings, load_settings
from order_service.errors import OrderServiceError
from order_service.observability.logging import configure_logging

console = Console(soft_wrap=True)  # keys and URLs must stay copyable on one line
errors = Console(stderr=True, soft_wrap=True)
T = TypeVar("T")


def settings(**overrides: object) -> Settings:
    """The settings, with the options given on the command line over the environment's."""
    loaded = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(loaded.log_level, loaded.log_json)
    return loaded


def with_services(loaded: Settings, job: Callable[[Services], Awaitable[T]]) -> T:
    """Run ``job`` on freshly built services; a refusal is its code and message on stderr,
    exit 1."""

    async def run() -> T:
        services = bootstrap(loaded)
        try:
            return await job(services)
        finally:
            await services.close()

    try:
        return asyncio.run(run())
    except OrderServiceError as exc:
        errors.print(f"[red]{exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc
