"""Exit attribution: settled external orders attributed to the strategies whose position they
closed, by policy or through a case a person resolves (``domain.attribution``).

The attribution worker runs ``attribute_account`` for each account with work, in the process
owning the account. An external order is taken once it has settled and the ledger holds what
it filled (or, ``settle_seconds`` after it settled, those of its fills the ledger holds; one
with none there is not taken, and holds no place in a batch, until they come). Its holders are
read from the account's attributed ledger up to its first fill, so that ledger must be whole:
while an earlier order of the position has filled more than the ledger holds of it, the exit
waits; ``settle_seconds`` after it settled it becomes a case (``LEDGER_INCOMPLETE``), never a
guess. The policy is decided, and the attribution (naming the fills it covers, with their
allocated shares when the policy allocated them) and its event on the order are written in one
transaction. Its row is unique per order, so two processes never attribute one exit twice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from order_service.domain.account import AccountScope, Principal
from order_service.domain.attribution import (
    ATTRIBUTION_CASE_OPENED,
    EARLIER_CASE,
    EARLIER_EXIT_OPEN,
    EXIT_ATTRIBUTED,
    FILLED_AFTER_LATER_EXIT,
    LEDGER_INCOMPLETE,
    SEVERAL_HOLDERS,
    Allocation,
    AttributionId,
    AttributionPolicy,
    CaseStatus,
    ExitAttribution,
    Placing,
    PositionKey,
    decide,
    holders_of,
    split,
)
from order_service.domain.fill import Fill
from order_service.domain.ids import AccountId, OrderId, StrategyId, UserId, new_ulid
from order_service.domain.order import Order
from order_service.domain.position import IST, ist_date
from order_service.errors import Conflict, NotFound, ValidationError
from order_service.services.access import granted, visible_account
from order_service.services.ledger import LedgerCache
from order_service.services.ports import CaseQuery, Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts

BATCH = 100  # exits attributed per pass, oldest first
_TICK = timedelta(microseconds=1)
# Exchange timestamps have whole seconds: an order created within the second of the exit's
# first fill may have filled before it, so the ledger must hold its fills too.
_SAME_SECOND = timedelta(seconds=1)


@dataclass(slots=True)
class AttributionPass:
    """What one pass did: exits attributed by each policy, and those left for a later pass."""

    attributed: dict[AttributionPolicy, int] = field(default_factory=dict)
    waiting: int = 0  # settled, but the ledger does not hold all they filled yet

    @property
    def total(self) -> int:
        return sum(self.attributed.values())


class ExitAttributionService:
    def __init__(
        self, uow_factory: UnitOfWorkFactory, clock: Clock, settle_seconds: float = 60.0
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._settle = timedelta(seconds=settle_seconds)
        self._ledger = LedgerCache(uow_factory, clock)

    # The worker's pass.

    async def accounts_to_attribute(self) -> list[AccountId]:
        async with self._uow() as uow:
            return await uow.attributions.accounts_unattributed()

    async def attribute_account(self, account_id: AccountId) -> AttributionPass:
        """Attribute the account's settled external orders not attributed yet (a batch,
        oldest first: each exit's holders include what the earlier ones moved)."""
        async with self._uow() as uow:
            pending = await uow.attributions.unattributed_exits(account_id, BATCH)
            ledger = await uow.fills.for_orders([order.order_id for order in pending])
        done = AttributionPass()
        for order in _by_first_fill(pending, ledger):
            policy = await self._attribute(order)
            if policy is None:
                done.waiting += 1
            else:
                done.attributed[policy] = done.attributed.get(policy, 0) + 1
        return done

    async def _attribute(self, order: Order) -> AttributionPolicy | None:
        now = self._clock.now()
        settling = now - order.updated_at < self._settle
        async with self._uow() as uow:
            fills = await uow.fills.for_order(order.order_id)
            filled = sum(fill.report.quantity for fill in fills)
            if not filled or (filled < order.filled_quantity and settling):
                return None  # the trade book has more to give: wait for it
            first = _placing(min(fills, key=_placing))
            window = _window(first[0])
            short = await uow.attributions.short_of_fills(
                order.account_id, _position(order), window, order.order_id
            )
            around = await uow.attributions.exits_around(
                order.account_id, _position(order), first, order.order_id, window[0]
            )
            earlier, later = around.unattributed_before, around.attributed_after
            # An earlier order's fills not all in, or an exit that began to fill before this
            # one not attributed yet: the holders would be wrong. Wait, then leave it to a person.
            if (short or earlier) and settling:
                return None
            held_back = _held_back(short=short, earlier=earlier, later=later)
            attribution = await self._decided(uow, order, fills, first, now, held_back)
            if not await uow.attributions.add(attribution):
                return None  # another process attributed it first
            if attribution.status is CaseStatus.APPLIED and attribution.allocations:
                parts = split(fills, attribution.allocations)
                await uow.attributions.add_parts(
                    attribution.account_id, attribution.attribution_id, parts
                )
            _record(order, attribution, now)
            await uow.orders.append_events([order])
            await uow.commit()
        return attribution.policy

    async def _decided(
        self,
        uow: UnitOfWork,
        order: Order,
        fills: Sequence[Fill],
        first: Placing,
        now: datetime,
        held_back: str | None,  # why the holders cannot be trusted, if they cannot
    ) -> ExitAttribution:
        position = _position(order)
        default = await uow.strategies.get_default(order.account_id)
        default_id = default.strategy_id if default is not None else order.strategy_id
        # Cases first, holders after: a case applied between the two reads is in the holders.
        earlier = await uow.attributions.unapplied_cases(order.account_id, position)
        prior = await self._before(uow, order.account_id, order.order_id, first)
        holders = holders_of(prior, position, order.request.transaction_type)
        quantity = sum(fill.report.quantity for fill in fills)
        reason: str | None = None
        allocations: tuple[Allocation, ...]
        if held_back is not None:
            policy, allocations, reason = AttributionPolicy.MANUAL, (), held_back
        elif earlier:
            policy, allocations, reason = AttributionPolicy.MANUAL, (), EARLIER_CASE
        else:
            policy, allocations = decide(quantity, holders, default_id)
            reason = SEVERAL_HOLDERS if policy is AttributionPolicy.MANUAL else None
        manual = policy is AttributionPolicy.MANUAL
        return ExitAttribution(
            attribution_id=AttributionId(new_ulid()),
            account_id=order.account_id,
            order_id=order.order_id,
            position=position,
            transaction_type=order.request.transaction_type,
            quantity=quantity,
            default_strategy_id=default_id,
            holders=tuple(holders),
            policy=policy,
            status=CaseStatus.OPEN if manual else CaseStatus.APPLIED,
            reason=reason,
            created_at=now,
            updated_at=now,
            allocations=allocations,
            trade_ids=tuple(fill.trade_id for fill in fills),
            applied_at=None if manual else now,
        )

    async def _before(
        self, uow: UnitOfWork, account_id: AccountId, exit_id: OrderId, limit: Placing
    ) -> list[Fill]:
        """The account's fills (as attributed) of the orders that began to fill before the
        exit did: each order stands whole where its first fill does, so two exits that fill
        in turns never both take what one of them closed."""
        history = await self._ledger.history([account_id], self._clock.now() + _TICK, uow)
        began = _first_fills(history)
        return [f for f in history if f.order_id != exit_id and began[f.order_id] < limit]

    async def _hold(self, uow: UnitOfWork, case: ExitAttribution, fills: Sequence[Fill]) -> None:
        """Give the case its holders as the ledger (as attributed) shows them now."""
        if not case.covered(fills):
            return
        # Where the exit stands: its first fill in the ledger, as every other order's is read
        # (a fill recorded after the case was made may be earlier than those it covers).
        first = _placing(min(fills, key=_placing))
        prior = await self._before(uow, case.account_id, case.order_id, first)
        case.hold(holders_of(prior, case.position, case.transaction_type))

    # The cases, for people.

    async def cases(
        self,
        principal: Principal,
        account_id: AccountId | None,
        status: CaseStatus | None,
        after: AttributionId | None,
        limit: int,
    ) -> list[ExitAttribution]:
        async with self._uow() as uow:
            if account_id is not None:
                accounts = frozenset(
                    {(await visible_account(uow, principal, account_id)).account_id}
                )
            else:
                listed = await uow.accounts.list(AccountScope.of(principal))
                accounts = frozenset(a.account_id for a in listed if not a.is_removed)
            return await uow.attributions.cases(CaseQuery(accounts, status, after, limit))

    async def get(self, principal: Principal, attribution_id: AttributionId) -> ExitAttribution:
        async with self._uow() as uow:
            return await _visible_case(uow, principal, attribution_id)

    async def assign(
        self, principal: Principal, attribution_id: AttributionId, assignee: UserId
    ) -> ExitAttribution:
        """Name the person who is to resolve the case (one who may act on its account)."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            case = await _visible_case(uow, principal, attribution_id)
            person = await uow.users.get(assignee)
            if person is None or not await granted(uow, person, case.account_id):
                raise ValidationError(
                    f"user {assignee} cannot act on account {case.account_id}",
                    field="assignee",
                    details={"assignee": assignee, "account_id": case.account_id},
                )
            case.assign(assignee, principal.user_id, self._clock.now())
            return await self._saved(uow, case)

    async def resolve(
        self,
        principal: Principal,
        attribution_id: AttributionId,
        allocations: Sequence[Allocation],
    ) -> ExitAttribution:
        """Take the allocations (they must sum to the exit's quantity; each strategy of the
        case's account, holding at least what it is given, bar the default strategy)."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            case = await _visible_case(uow, principal, attribution_id)
            await _check_strategies(uow, case, [a.strategy_id for a in allocations])
            await self._hold(uow, case, await uow.fills.for_order(case.order_id))
            case.resolve(allocations, principal.user_id, self._clock.now())
            return await self._saved(uow, case)

    async def apply(self, principal: Principal, attribution_id: AttributionId) -> ExitAttribution:
        """Put a resolved case's allocations in the books: the exit's fills are split among
        the strategies, with an event on the exit's order. Applied, a case is final."""
        refuse_scripts(principal)
        async with self._uow() as uow:
            case = await _visible_case(uow, principal, attribution_id)
            fills = await uow.fills.for_order(case.order_id)
            await _refuse_before_earlier(uow, case, fills)
            await _check_strategies(uow, case, [a.strategy_id for a in case.allocations])
            await self._hold(uow, case, fills)
            parts = case.apply(fills, principal.user_id, self._clock.now())
            await uow.attributions.add_parts(case.account_id, case.attribution_id, parts)
            return await self._saved(uow, case)

    async def _saved(self, uow: UnitOfWork, case: ExitAttribution) -> ExitAttribution:
        """Write the case and its new events (on its order), and commit."""
        await uow.attributions.save(case)
        order = await uow.orders.get(case.order_id)
        if order is not None:
            for name, data in case.events:
                order.record(name, case.updated_at, **data)
            await uow.orders.append_events([order])
        case.events.clear()
        await uow.commit()
        return case


async def _visible_case(
    uow: UnitOfWork, principal: Principal, attribution_id: AttributionId
) -> ExitAttribution:
    """The case if it is one (a manual attribution) of an account the caller may act on."""
    case = await uow.attributions.get(attribution_id)
    if case is None or not case.is_case or not await granted(uow, principal, case.account_id):
        raise NotFound(
            f"attribution case {attribution_id} not found",
            details={"attribution_id": attribution_id},
        )
    return case


async def _refuse_before_earlier(
    uow: UnitOfWork, case: ExitAttribution, fills: Sequence[Fill]
) -> None:
    """An exit of the position that began to fill before this one decides what this one
    closed: it is attributed and applied first."""
    if case.status is not CaseStatus.RESOLVED or not case.covered(fills):
        return  # the case's own refusal says why
    first = _placing(min(fills, key=_placing))  # as ``_hold`` and every other order's
    around = await uow.attributions.exits_around(
        case.account_id, case.position, first, case.order_id, _window(first[0])[0]
    )
    if around.unattributed_before or around.unapplied_before:
        raise Conflict(
            f"an exit of {case.position.tradingsymbol} that began to fill before this one is "
            "not attributed and applied yet: apply its case first",
            details={"reason": "earlier_case"},
        )


async def _check_strategies(
    uow: UnitOfWork, case: ExitAttribution, strategy_ids: Sequence[StrategyId]
) -> None:
    for strategy_id in strategy_ids:
        strategy = await uow.strategies.get(strategy_id)
        if strategy is None or strategy.account_id != case.account_id or strategy.is_deleted:
            raise ValidationError(
                f"strategy {strategy_id} is not a strategy of account {case.account_id}",
                field="allocations",
                details={"strategy_id": strategy_id, "account_id": case.account_id},
            )


def _record(order: Order, attribution: ExitAttribution, at: datetime) -> None:
    data = {
        "attribution_id": attribution.attribution_id,
        "policy": attribution.policy.value,
        "quantity": attribution.quantity,
        "holders": [
            {"strategy_id": h.strategy_id, "quantity": h.quantity} for h in attribution.holders
        ],
    }
    if attribution.is_case:
        order.record(ATTRIBUTION_CASE_OPENED, at, **data, reason=attribution.reason)
    else:
        allocations = [
            {"strategy_id": a.strategy_id, "quantity": a.quantity} for a in attribution.allocations
        ]
        order.record(EXIT_ATTRIBUTED, at, **data, allocations=allocations)


def _window(first_fill: datetime) -> tuple[datetime, datetime]:
    """The orders whose missing fills would change an exit's holders: those of its trading
    day (the trade book lists only the day's trades: an older one's fills never come) created
    by its first fill (within the second: the exchange's times have no finer grain)."""
    day = datetime.combine(ist_date(first_fill), time(), IST)
    return day, first_fill + _SAME_SECOND


def _held_back(*, short: int, earlier: int, later: int) -> str | None:
    if short:
        return LEDGER_INCOMPLETE
    if earlier:
        return EARLIER_EXIT_OPEN
    return FILLED_AFTER_LATER_EXIT if later else None


def _first_fills(fills: Sequence[Fill]) -> dict[OrderId, Placing]:
    """Where each order's first fill stands in the account's history."""
    first: dict[OrderId, Placing] = {}
    for fill in fills:
        placing = _placing(fill)
        if fill.order_id not in first or placing < first[fill.order_id]:
            first[fill.order_id] = placing
    return first


def _by_first_fill(pending: Sequence[Order], ledger: Sequence[Fill]) -> list[Order]:
    """The exits in the order they began to fill: each one's holders include the earlier."""
    first = _first_fills(ledger)
    return sorted(pending, key=lambda o: first.get(o.order_id, (o.created_at, 0)))


def _placing(fill: Fill) -> Placing:
    """Where a fill stands in the account's history (``Placing``)."""
    report = fill.report
    return report.exchange_timestamp or fill.recorded_at, report.broker_order_id, fill.sequence or 0


def _position(order: Order) -> PositionKey:
    request = order.request
    return PositionKey(request.exchange.value, request.tradingsymbol, request.product.value)
