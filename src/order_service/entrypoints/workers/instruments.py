"""The instrument master's daily refresh: the broker's list read once it is due (see
``services.instruments``), with any account's live session."""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.entrypoints.workers.supervisor import TRANSIENT
from order_service.errors import AuthenticationError, BrokerAPIError, DataFormatError
from order_service.observability.logging import get_logger

log = get_logger(__name__)
# What a read of the list can meet that is no crash: the session expired, a refusal, an
# unusable list (an unreachable broker, ``TRANSIENT``, is the supervisor's to back off).
_REFUSED = (AuthenticationError, DataFormatError, BrokerAPIError)
INTERVAL_SECONDS = 60.0  # how often it asks whether the master is due


class InstrumentWorker:
    """One pass: follow the stored master, and read the broker's list if it is due."""

    name = "instruments"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = INTERVAL_SECONDS

    async def run_once(self) -> None:
        try:
            loaded = await self._services.instruments.refresh_if_due()
        except TRANSIENT:
            raise
        except _REFUSED as exc:
            # The master in force stays; the next pass asks again.
            log.warning("instrument list not loaded", code=exc.error_code, reason=exc.message)
            return
        if loaded is not None:
            log.info("instrument master refreshed", instruments=loaded)
