"""The secrets stored encrypted: checked at start, re-encrypted under a new key on request.

A service started with a ``SECRET_KEY`` that does not open what is stored would start and
then answer every order that needs a broker session with an error; the start-up check refuses
to start instead, naming the secrets (never their values) and what to do.
"""

from __future__ import annotations

from collections.abc import Sequence

from order_service.errors import ConfigurationError
from order_service.services.ports import UnitOfWorkFactory

_SHOWN = 5


class SecretService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow = uow_factory

    async def check(self) -> None:
        """Raise ``ConfigurationError`` if a stored secret opens with none of the keys."""
        async with self._uow() as uow:
            unreadable = await uow.secrets.unreadable()
        if unreadable:
            raise ConfigurationError(_refusal(unreadable))

    async def rotate(self) -> int:
        """Re-encrypt every stored secret under the current key, all or none; return how many."""
        async with self._uow() as uow:
            unreadable = await uow.secrets.unreadable()
            if unreadable:
                raise ConfigurationError(_refusal(unreadable))
            rotated = await uow.secrets.rotate()
            await uow.commit()
        return rotated


def _refusal(names: Sequence[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    if len(names) > _SHOWN:
        shown += f" and {len(names) - _SHOWN} more"
    return (
        f"ORDER_SERVICE_SECRET_KEY does not decrypt {len(names)} stored secret(s) ({shown}):"
        " start with the key they were stored under, or add it to"
        " ORDER_SERVICE_OLD_SECRET_KEYS and run `order-service secrets rotate`"
    )
