"""``order-service secrets …``: the secrets stored encrypted, and their key's rotation.

To rotate: start every process with the new key as ``ORDER_SERVICE_SECRET_KEY`` and the old
one in ``ORDER_SERVICE_OLD_SECRET_KEYS`` (both decrypt, the new one encrypts), run
``order-service secrets rotate``, then drop the old key.
"""

from __future__ import annotations

import typer

from order_service.bootstrap import Services
from order_service.entrypoints.cli_support import console, settings, with_services

secrets_app = typer.Typer(help="Check and rotate the key of the secrets stored encrypted.")


@secrets_app.command("check")
def check() -> None:
    """Say whether the configured keys open every stored secret (exit 1 if not)."""

    async def job(services: Services) -> None:
        await services.secrets.check()

    with_services(settings(), job)
    console.print("every stored secret opens with the configured keys")


@secrets_app.command("rotate")
def rotate() -> None:
    """Re-encrypt every stored secret under ORDER_SERVICE_SECRET_KEY (all or none)."""

    async def job(services: Services) -> int:
        return await services.secrets.rotate()

    rotated = with_services(settings(), job)
    console.print(f"re-encrypted {rotated} stored secret(s) under the current key")
