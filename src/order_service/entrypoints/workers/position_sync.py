"""Position sync: compare each account's net positions with the broker's position book."""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import count_drift, for_each_account
from order_service.observability.logging import get_logger
from order_service.services.position_sync import PositionSyncResult

log = get_logger(__name__)


class PositionSyncWorker:
    """One pass: every account with a live session or fills today gets one position-book read."""

    name = "position_sync"

    def __init__(self, services: Services) -> None:
        self._services = services
        self.interval = services.settings.position_sync_interval_seconds

    async def run_once(self) -> None:
        positions = self._services.position_sync
        accounts = await positions.accounts_to_sync()
        await for_each_account("position sync", accounts, positions.sync_account, _observe)


def _observe(account_id: AccountId, result: PositionSyncResult) -> None:
    count_drift(result.drift())
    if result.recorded:
        log.warning(
            "positions disagree with the broker's", account=account_id, found=result.recorded
        )
