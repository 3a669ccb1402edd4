"""Which workers a process runs."""

from __future__ import annotations

from order_service.bootstrap import Services
from order_service.entrypoints.workers.order_sync import OrderSyncWorker
from order_service.entrypoints.workers.supervisor import Supervisor


def build_supervisor(services: Services) -> Supervisor:
    return Supervisor({OrderSyncWorker.name: lambda: OrderSyncWorker(services)})
