"""Exit attribution: each settled external order attributed to the strategies it closed."""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.domain.ids import AccountId
from order_service.entrypoints.workers.accounts import for_each_account
from order_service.observability.logging import get_logger
from order_service.observability.metrics import EXIT_ATTRIBUTIONS
from order_service.services.attribution import AttributionPass

log = get_logger(__name__)


class AttributionWorker:
    name = "attribution"

    def __init__(self, services: Services) -> None:
        self._attribution = services.attribution
        self.interval = services.settings.attribution_interval_seconds

    async def run_once(self) -> None:
        accounts = await self._attribution.accounts_to_attribute()
        await for_each_account(
            "attribution", accounts, self._attribution.attribute_account, _observe
        )


def _observe(account_id: AccountId, done: AttributionPass) -> None:
    for policy, count in done.attributed.items():
        EXIT_ATTRIBUTIONS.labels(policy.value).inc(count)
    if done.total:
        log.info(
            "external exits attributed",
            account=account_id,
            by_policy={policy.value: count for policy, count in done.attributed.items()},
        )
