"""Which workers a process runs."""

from __future__ import annotations

from collections.abc import Callable

from order_service.bootstrap import Services
from order_service.entrypoints.workers.accounts import owned_workers
from order_service.entrypoints.workers.attribution import AttributionWorker
from order_service.entrypoints.workers.handoffs import HandoffWorker
from order_service.entrypoints.workers.instruments import InstrumentWorker
from order_service.entrypoints.workers.leases import LeaseWorker
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from order_service.entrypoints.workers.position_sync import PositionSyncWorker
from order_service.entrypoints.workers.startup import StartupWorker
from order_service.entrypoints.workers.supervisor import CrashPolicy, Supervisor, Worker
from order_service.entrypoints.workers.ticker import TickerWorker
from order_service.entrypoints.workers.trade_sync import TradeSyncWorker
from order_service.entrypoints.workers.webhooks import WebhookWorker


def build_supervisor(services: Services) -> Supervisor:
    workers = owned_workers(worker_factories(services), services.ownership)
    return Supervisor(workers, CrashPolicy.of(services.settings))


def worker_factories(services: Services) -> dict[str, Callable[[], Worker]]:
    """Each worker this process runs, by name, as a factory of fresh instances."""
    workers: dict[str, Callable[[], Worker]] = {
        StartupWorker.name: lambda: StartupWorker(services),
        OrderSyncWorker.name: lambda: OrderSyncWorker(services),
        TradeSyncWorker.name: lambda: TradeSyncWorker(services),
        PositionSyncWorker.name: lambda: PositionSyncWorker(services),
        TickerWorker.name: lambda: TickerWorker(services),
        WebhookWorker.name: lambda: WebhookWorker(services),
        InstrumentWorker.name: lambda: InstrumentWorker(services),
        HandoffWorker.name: lambda: HandoffWorker(services),
        AttributionWorker.name: lambda: AttributionWorker(services),
    }
    if services.leases is not None:  # worker processes share the accounts through leases
        keeper = services.leases
        workers = {LeaseWorker.name: lambda: LeaseWorker(keeper), **workers}
    return workers
