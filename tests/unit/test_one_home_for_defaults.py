"""Every tunable number has one home, Settings: the classes built from it restate no default."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from order_service.adapters.http.client import CircuitPolicy
from order_service.adapters.http.safety import UrlPolicy
from order_service.domain.budget import BudgetRules, earliest_admission
from order_service.domain.webhook import RetryPolicy
from order_service.entrypoints.workers.supervisor import Backoff, CrashPolicy, Supervisor
from order_service.services.event_stream import StreamPolicy
from order_service.services.gateway import GatewayPolicy, GuardedBroker
from order_service.services.reconcile import ReconcileService
from order_service.services.webhook_delivery import DeliveryPolicy


@pytest.mark.parametrize(
    "cls",
    [
        BudgetRules,
        GatewayPolicy,
        CrashPolicy,
        Backoff,
        StreamPolicy,
        DeliveryPolicy,
        RetryPolicy,
        CircuitPolicy,
        UrlPolicy,
    ],
)
def test_policy_values_have_no_defaults_of_their_own(cls: type) -> None:
    defaulted = [
        f.name
        for f in dataclasses.fields(cls)
        if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
    ]
    assert defaulted == []


@pytest.mark.parametrize(
    ("function", "names"),
    [
        (ReconcileService.__init__, ["unknown_grace", "request_window"]),
        (GuardedBroker.__init__, ["policy"]),
        (Supervisor.__init__, ["policy"]),
        (earliest_admission, ["margin"]),
    ],
    ids=["reconcile", "gateway", "supervisor", "admission"],
)
def test_what_settings_decide_must_be_passed(function: object, names: list[str]) -> None:
    parameters = inspect.signature(function).parameters  # type: ignore[arg-type]
    assert [n for n in names if parameters[n].default is not inspect.Parameter.empty] == []
