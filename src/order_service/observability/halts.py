"""The kill switch's gauge, set each time a process re-reads the halts in force."""

from __future__ import annotations

from collections import Counter

from order_service.domain.halt import Halt, HaltKind
from order_service.observability.metrics import KILL_SWITCH_ENGAGED

# The gauge's label for each scope ("all" reads better than "everything" on a dashboard).
SCOPE_LABELS = {HaltKind.ACCOUNT: "account", HaltKind.USER: "user", HaltKind.EVERYTHING: "all"}


def record_halts(halts: list[Halt]) -> None:
    """Set the count in force for every scope, zero included (a release must show)."""
    counts = Counter(halt.scope.kind for halt in halts)
    for kind, label in SCOPE_LABELS.items():
        KILL_SWITCH_ENGAGED.labels(scope=label).set(counts[kind])
