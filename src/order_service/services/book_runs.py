"""Book computations kept per question, fed only what the ledger added since they were asked.

A dashboard polls its P&L every few seconds while fills arrive one by one: computing the day
again for each poll costs the whole day's fills (about half a second for 50,000), going on
from the last answer costs the new fills. A question (whose accounts, grouped how, over which
days) keeps its resumable runs (``TallyRun`` for average-price P&L, ``ChargeRun`` for the
charges) and how much of the ledger they were fed.

The ledger's history comes by sequence and only grows, so the fills fed are still the
history's first ``count`` exactly when the history is longer and its fill at ``count - 1``
holds the sequence fed last (sequences are unique and ascending: a fill committed late with a
lower sequence shifts that place, and the question is computed afresh). A run that cannot go
on in time order (a new fill traded before one fed) is started afresh too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from order_service.domain.charges import ChargeSchedules
from order_service.domain.fill import Fill
from order_service.domain.pnl import average_run
from order_service.domain.position import TallyRun
from order_service.domain.tally import Tally
from order_service.services.book_charges import ChargeRun, GroupCharges

K = TypeVar("K", bound=Hashable)
G = TypeVar("G", bound=Hashable)
Q = TypeVar("Q", bound=Hashable)


@dataclass(slots=True)
class _Fed:
    """How much of the history a question's runs were fed: a count, and the last sequence."""

    count: int = 0
    last_sequence: int | None = None

    def new_part(self, fills: Sequence[Fill]) -> Sequence[Fill] | None:
        """The fills added since, or None when the history is not the one fed plus more."""
        if len(fills) < self.count:
            return None
        if self.count and fills[self.count - 1].sequence != self.last_sequence:
            return None
        return fills[self.count :]

    def moved_to(self, fills: Sequence[Fill]) -> None:
        self.count = len(fills)
        self.last_sequence = fills[-1].sequence if fills else None


@dataclass(slots=True)
class _Runs(Generic[K, G]):
    fed: _Fed
    tallies: TallyRun[K]
    charges: ChargeRun[G]


@dataclass(frozen=True, slots=True)
class BookRun(Generic[K, G]):
    """A question's figures as far as the ledger goes: the tallies (rolled to its last day, as
    ``average_pnl`` reads them) and the charges by group."""

    tallies: dict[K, Tally]
    charges: GroupCharges[G]


class BookRuns(Generic[Q, K, G]):
    """The runs of the questions asked most recently (``size`` of them, the oldest dropped)."""

    def __init__(self, schedules: ChargeSchedules, size: int) -> None:
        self._schedules = schedules
        self._size = size
        self._runs: OrderedDict[Q, _Runs[K, G]] = OrderedDict()

    def figures(
        self,
        question: Q,
        fills: Sequence[Fill],
        start: date,
        end: date,
        group: Callable[[Fill], K],
        charge_group: Callable[[Fill], G],
    ) -> BookRun[K, G]:
        """Return the figures of ``fills`` (the question's history, by sequence)."""
        runs = self._runs.get(question)
        new = runs.fed.new_part(fills) if runs is not None else None
        if runs is None or new is None or not runs.tallies.extend(new):
            runs = self._fresh(start, end, group, charge_group)
            new = fills
            runs.tallies.extend(new)
        runs.charges.extend(new)
        runs.fed.moved_to(fills)
        self._keep(question, runs)
        return BookRun(runs.tallies.rolled(), runs.charges.charges())

    def _fresh(
        self,
        start: date,
        end: date,
        group: Callable[[Fill], K],
        charge_group: Callable[[Fill], G],
    ) -> _Runs[K, G]:
        return _Runs(
            _Fed(),
            average_run(end, group, start),
            ChargeRun(self._schedules, start, end, charge_group),
        )

    def _keep(self, question: Q, runs: _Runs[K, G]) -> None:
        self._runs[question] = runs
        self._runs.move_to_end(question)
        while len(self._runs) > self._size:
            self._runs.popitem(last=False)
