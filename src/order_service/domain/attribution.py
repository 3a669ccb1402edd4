"""Attribution of an exit placed outside the service against a position strategies hold.

An external order (placed in the Kite app or web) is recorded on the account's default
strategy. Once it has settled, what it filled is attributed, by policy, to the strategies
whose position it closed (DESIGN.md section 7):

- ``none``: no strategy but the default held the position it reduces; it stays as recorded;
- ``single``: one strategy held it: that one, up to what it held (any quantity beyond, a new
  position of the person who placed it, stays with the default strategy);
- ``full``: it closed what every holder held: each of them its whole quantity, oldest
  position first, the rest to the default strategy;
- ``manual``: it closed part of what several held, or an earlier exit of the same position
  still waits for a person: a case, which a person resolves with allocations that sum to the
  exit's quantity, and then applies.

Applying allocates the exit's fills, in trade order, to the allocations in their order. The
ledger keeps each fill as it was recorded; the books read each allocated part as a fill of
its strategy (``attributed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from typing import NewType

from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, OrderId, StrategyId, UserId
from order_service.domain.reports import TradeId
from order_service.domain.values import TransactionType
from order_service.errors import Conflict, ValidationError

AttributionId = NewType("AttributionId", str)

EXIT_ATTRIBUTED = "ExitAttributed"
ATTRIBUTION_CASE_OPENED = "AttributionCaseOpened"
ATTRIBUTION_CASE_ASSIGNED = "AttributionCaseAssigned"
ATTRIBUTION_CASE_RESOLVED = "AttributionCaseResolved"
ATTRIBUTION_CASE_APPLIED = "AttributionCaseApplied"
# Why a case was opened rather than the exit attributed by policy.
# Where a fill stands in an account's history: when it executed, then (the exchange's times
# are to the second) its order's broker id (Kite numbers a day's orders in the order they were
# placed), then the ledger's sequence.
Placing = tuple[datetime, str, int]
SEVERAL_HOLDERS = "the exit closed part of what several strategies held"
EARLIER_CASE = "an earlier exit of this position waits for its attribution case"
LEDGER_INCOMPLETE = "the ledger lacks fills of an earlier order of this position"
EARLIER_EXIT_OPEN = "an exit that filled before this one is not attributed yet"
FILLED_AFTER_LATER_EXIT = "an exit that filled after this one was attributed before it"


class AttributionPolicy(StrEnum):
    NONE = "none"
    SINGLE = "single"
    FULL = "full"
    MANUAL = "manual"


class CaseStatus(StrEnum):
    OPEN = "open"  # waits for a person's allocations
    RESOLVED = "resolved"  # allocations given, not yet in the books
    APPLIED = "applied"  # in the books: final


@dataclass(frozen=True, slots=True)
class PositionKey:
    exchange: str
    tradingsymbol: str
    product: str


@dataclass(frozen=True, slots=True)
class Holder:
    """A strategy's open quantity that an exit reduces, and when that position was opened."""

    strategy_id: StrategyId
    quantity: int
    opened_at: datetime


@dataclass(frozen=True, slots=True)
class Allocation:
    strategy_id: StrategyId
    quantity: int


@dataclass(frozen=True, slots=True)
class Part:
    """The share of one fill allocated to one strategy."""

    trade_id: TradeId
    strategy_id: StrategyId
    quantity: int


@dataclass(slots=True)
class ExitAttribution:
    """One settled external order's attribution: decided by policy, or a case for a person."""

    attribution_id: AttributionId
    account_id: AccountId
    order_id: OrderId
    position: PositionKey
    transaction_type: TransactionType
    quantity: int  # what the exit filled
    default_strategy_id: StrategyId
    holders: tuple[Holder, ...]
    policy: AttributionPolicy
    status: CaseStatus
    reason: str | None
    created_at: datetime
    updated_at: datetime
    allocations: tuple[Allocation, ...] = ()
    trade_ids: tuple[TradeId, ...] = ()  # the exit's fills it covers (none named: every one)
    assignee: UserId | None = None
    resolved_by: UserId | None = None
    applied_at: datetime | None = None
    version: int = 0
    events: list[tuple[str, dict[str, object]]] = field(default_factory=list)

    @property
    def is_case(self) -> bool:
        return self.policy is AttributionPolicy.MANUAL

    def assign(self, assignee: UserId, by: UserId, at: datetime) -> None:
        self._check_open("assigned")
        self.assignee = assignee
        self.updated_at = at
        self._event(ATTRIBUTION_CASE_ASSIGNED, assignee=assignee, by=by)

    def resolve(self, allocations: Sequence[Allocation], by: UserId, at: datetime) -> None:
        """Take a person's allocations (checked: see ``check_allocations``)."""
        self._check_open("resolved")
        check_allocations(self, allocations)
        self.allocations = tuple(allocations)
        self.status = CaseStatus.RESOLVED
        self.resolved_by = by
        self.updated_at = at
        self._event(ATTRIBUTION_CASE_RESOLVED, by=by, allocations=_listed(allocations))

    def hold(self, holders: Sequence[Holder]) -> None:
        """Take the holders as the ledger (as attributed) shows them now: an earlier case
        applied since, or a holder's position closed, changes what each may be given."""
        self.holders = tuple(holders)

    def apply(self, fills: Sequence[Fill], by: UserId, at: datetime) -> list[Part]:
        """Return the parts the resolved allocations give the exit's fills; now final.

        The allocations are checked again against the holders (``hold``): ones the holders
        no longer allow are refused, for a person to resolve the case again.
        """
        if self.status is not CaseStatus.RESOLVED:
            raise Conflict(
                f"attribution case {self.attribution_id} is {self.status.value}: "
                + ("resolve it first" if self.status is CaseStatus.OPEN else "it is final"),
                details={"status": self.status.value},
            )
        try:
            check_allocations(self, self.allocations)
        except ValidationError as exc:
            raise Conflict(
                f"{exc.message}: the holders changed since the case was resolved; resolve it again",
                details={**exc.details, "reason": "holders_changed"},
            ) from exc
        parts = split(self.covered(fills), self.allocations)
        self.status = CaseStatus.APPLIED
        self.applied_at = self.updated_at = at
        self._event(ATTRIBUTION_CASE_APPLIED, by=by, allocations=_listed(self.allocations))
        return parts

    def covered(self, fills: Sequence[Fill]) -> list[Fill]:
        """The exit's fills this attribution covers: those the ledger held when it was made
        (a fill recorded later stays with the exit's own strategy)."""
        if not self.trade_ids:
            return list(fills)
        named = set(self.trade_ids)
        return [fill for fill in fills if fill.trade_id in named]

    def _check_open(self, verb: str) -> None:
        if self.status is CaseStatus.APPLIED:
            raise Conflict(
                f"attribution case {self.attribution_id} is applied: it cannot be {verb} again",
                details={"status": self.status.value},
            )

    def _event(self, name: str, **data: object) -> None:
        self.events.append((name, {"attribution_id": self.attribution_id, **data}))


def holders_of(fills: Iterable[Fill], position: PositionKey, side: TransactionType) -> list[Holder]:
    """Return the strategies whose net position an exit of ``side`` reduces
    (long for a SELL, short for a BUY), with what each holds and when its position opened.

    ``fills`` are the account's fills before the exit, by sequence, as attributed.
    """
    held: dict[StrategyId, int] = {}
    opened: dict[StrategyId, datetime] = {}
    for fill in fills:
        report = fill.report
        if (report.exchange, report.tradingsymbol, report.product) != (
            position.exchange,
            position.tradingsymbol,
            position.product,
        ):
            continue
        signed = (
            report.quantity if report.transaction_type is TransactionType.BUY else -report.quantity
        )
        before = held.get(fill.strategy_id, 0)
        after = before + signed
        held[fill.strategy_id] = after
        if after and (before == 0 or (before > 0) != (after > 0)):  # opened, or turned over
            opened[fill.strategy_id] = report.exchange_timestamp or fill.recorded_at
    direction = 1 if side is TransactionType.SELL else -1
    found = [
        Holder(strategy, quantity * direction, opened[strategy])
        for strategy, quantity in held.items()
        if quantity * direction > 0
    ]
    return sorted(found, key=lambda holder: (holder.opened_at, holder.strategy_id))


def decide(
    quantity: int, holders: Sequence[Holder], default: StrategyId
) -> tuple[AttributionPolicy, tuple[Allocation, ...]]:
    """Return the policy for an exit of ``quantity`` and, unless it is a case, its allocations
    (oldest holder first; ``holders`` come oldest first)."""
    others = [holder for holder in holders if holder.strategy_id != default]
    if not others:
        return AttributionPolicy.NONE, ()
    total = sum(holder.quantity for holder in holders)
    if len(holders) > 1 and quantity < total:
        return AttributionPolicy.MANUAL, ()
    allocations: dict[StrategyId, int] = {}
    left = quantity
    for holder in holders:
        taken = min(holder.quantity, left)
        if taken:
            allocations[holder.strategy_id] = taken
            left -= taken
    if left:
        allocations[default] = allocations.get(default, 0) + left
    policy = AttributionPolicy.SINGLE if len(holders) == 1 else AttributionPolicy.FULL
    return policy, tuple(Allocation(s, q) for s, q in allocations.items())


def check_allocations(case: ExitAttribution, allocations: Sequence[Allocation]) -> None:
    """Refuse allocations that do not sum to the exit's quantity, that name a strategy twice,
    or that give a strategy more than it held (only the default strategy may take more: that
    is a position of the person who placed the exit)."""
    if not allocations:
        raise ValidationError("allocations must not be empty", field="allocations")
    named = [allocation.strategy_id for allocation in allocations]
    if len(set(named)) != len(named):
        raise ValidationError("a strategy is named twice", field="allocations")
    for allocation in allocations:
        if allocation.quantity <= 0:
            raise ValidationError(
                "every allocation's quantity must be positive",
                field="allocations",
                details={"strategy_id": allocation.strategy_id, "quantity": allocation.quantity},
            )
    total = sum(allocation.quantity for allocation in allocations)
    if total != case.quantity:
        raise ValidationError(
            f"the allocations sum to {total}, the exit's quantity is {case.quantity}",
            field="allocations",
            details={"sum": total, "quantity": case.quantity},
        )
    held = {holder.strategy_id: holder.quantity for holder in case.holders}
    for allocation in allocations:
        most = held.get(allocation.strategy_id, 0)
        if allocation.strategy_id != case.default_strategy_id and allocation.quantity > most:
            raise ValidationError(
                f"strategy {allocation.strategy_id} held {most} when the exit was filled",
                field="allocations",
                details={
                    "strategy_id": allocation.strategy_id,
                    "quantity": allocation.quantity,
                    "held": most,
                },
            )


def split(fills: Sequence[Fill], allocations: Sequence[Allocation]) -> list[Part]:
    """Allocate the fills (in trade order) to the allocations (in their order).

    The fills must add up to what the allocations do, else the split is refused.
    """
    wanted = sum(allocation.quantity for allocation in allocations)
    filled = sum(fill.report.quantity for fill in fills)
    if wanted != filled:
        raise Conflict(
            f"the exit's fills add up to {filled}, the allocations to {wanted}",
            details={"filled": filled, "allocated": wanted},
        )
    parts: list[Part] = []
    index, share = 0, allocations[0].quantity if allocations else 0
    for fill in fills:
        left = fill.report.quantity
        while left:
            taken = min(left, share)
            parts.append(Part(fill.trade_id, allocations[index].strategy_id, taken))
            left, share = left - taken, share - taken
            if not share and index + 1 < len(allocations):
                index += 1
                share = allocations[index].quantity
    return parts


# The parts of each allocated fill, by (account, trade id).
PartsOf = dict[tuple[AccountId, TradeId], list[Part]]


def attributed(fills: Sequence[Fill], parts: PartsOf) -> list[Fill]:
    """Return the fills with each allocated fill read as its parts (one fill per strategy)."""
    if not parts:
        return list(fills)
    found: list[Fill] = []
    for fill in fills:
        shares = parts.get((fill.account_id, fill.trade_id))
        if shares is None:
            found.append(fill)
            continue
        found += [
            replace(
                fill,
                strategy_id=part.strategy_id,
                report=replace(fill.report, quantity=part.quantity),
            )
            for part in shares
        ]
    return found


def _listed(allocations: Iterable[Allocation]) -> list[dict[str, object]]:
    return [{"strategy_id": a.strategy_id, "quantity": a.quantity} for a in allocations]
