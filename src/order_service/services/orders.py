"""Order use cases: place (exactly once), read, list, and the order's event log."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from order_service.domain.account import Account, AccountScope, Principal, Strategy
from order_service.domain.control import ControlMode, check_origin, scope_mode, strategy_mode
from order_service.domain.events import KEY_RELEASED, OrderEvent, is_retryable_failure
from order_service.domain.ids import (
    AccountId,
    ClientOrderId,
    OrderId,
    StrategyId,
    new_order_id,
    tag_for,
)
from order_service.domain.order import Order, OrderOrigin, OrderRequest
from order_service.domain.slicing import (
    CLOSE_KEY_PREFIX,
    FLATTEN_KEY_PREFIX,
    first_slice,
    further_slices,
    is_internal_key,
    is_slice_key,
    slice_key,
)
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.errors import (
    BROKER_REFUSALS,
    AccountReconciling,
    BrokerOutcomeUnknown,
    DuplicateClientOrderId,
    IdempotencyConflict,
    NotFound,
    PermissionDenied,
    ServiceUnavailableError,
    StaleWrite,
    ValidationError,
)
from order_service.services.access import session_for, visible_account, visible_order
from order_service.services.instruments import InstrumentService
from order_service.services.kill_switch import HaltGuard, NoHalts
from order_service.services.liveness import Liveness
from order_service.services.ports import (
    Broker,
    BrokerSession,
    Clock,
    OrderFilter,
    OrderQuery,
    UnitOfWork,
    UnitOfWorkFactory,
)
from order_service.services.risk import RiskGuard
from order_service.services.startup import ReconciliationGate
from order_service.services.writes import OrderWriter, error_data


@dataclass(frozen=True, slots=True)
class Placement:
    """The outcome of a placement request: the order, and whether this request created it."""

    order: Order
    created: bool
    # An autoslice placement: every slice's order, the first being ``order``.
    slices: tuple[Order, ...] = ()


class PlacementGuard(Protocol):
    """A close's own check, run under its account's hold just before its order is stored."""

    async def check(self, uow: UnitOfWork, order: Order) -> None: ...


class OrderService:
    """Places orders exactly once and answers questions about them."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        gate: ReconciliationGate,
        liveness: Liveness,
        instruments: InstrumentService | None = None,
        risk: RiskGuard | None = None,
        halts: HaltGuard | None = None,
    ) -> None:
        self._uow = uow_factory
        self._risk = risk  # pre-trade rules: a denied order is never stored nor sent
        self._halts = halts or NoHalts()
        # An order for an instrument the loaded master lacks is refused before it is stored.
        self._instruments = instruments
        self._broker = broker
        self._clock = clock
        self._gate = gate
        # This process's instance id is recorded on each order it places (once the process
        # is gone, an order it left in flight is settled from the broker's book at once), and
        # a placement starts only while the other processes still see this one alive.
        self._liveness = liveness
        self._writer = OrderWriter(uow_factory, clock)
        self._default_strategies: dict[AccountId, StrategyId] = {}

    async def place_order(
        self,
        principal: Principal,
        request: OrderRequest,
        client_order_id: ClientOrderId | None,
        force: bool = False,
        past_halt: bool = False,
        closing: PlacementGuard | None = None,
    ) -> Placement:
        """Persist the intent as NEW, then send it once; ambiguous outcomes become UNKNOWN.

        An account whose books await reconciliation takes no new order: the placement waits
        for it briefly, then fails with ``SERVICE_UNAVAILABLE`` without having stored anything.
        ``force`` lets a person trade a scope under script control (``OWNERSHIP_CONFLICT``
        without it). ``past_halt`` is for a halt's own square-off orders (never for a caller's).
        ``closing`` is a position's close (``services.position_close``): its check runs under
        the account's hold, its key may be of the reserved close shape, and it may trade an
        archived strategy's position down.
        """
        halts = _PAST_HALT if past_halt else self._halts
        placing = (client_order_id, force, halts, closing)
        try:
            return await self._place(principal, request, *placing)
        except AccountReconciling:
            await self._gate.wait(request.account_id)
        try:
            return await self._place(principal, request, *placing)
        except AccountReconciling as exc:  # held again meanwhile (another login)
            raise self._gate.refusal(request.account_id) from exc

    async def _place(
        self,
        principal: Principal,
        request: OrderRequest,
        client_order_id: ClientOrderId | None,
        force: bool,
        halts: HaltGuard,
        closing: PlacementGuard | None,
    ) -> Placement:
        _check_key(client_order_id, closing is not None or halts is _PAST_HALT)
        order_id = new_order_id()
        key = client_order_id or ClientOrderId(order_id)
        if self._instruments is not None:
            await self._instruments.follow()  # its own read, before this transaction's
        async with self._uow() as uow:
            account = await visible_account(uow, principal, request.account_id)
            if client_order_id is not None:  # a fresh ULID key cannot have been used before
                repeat = await self._repeated(uow, request, key, same_terms=closing is None)
                if repeat is not None:
                    return repeat
            # A repeat of a placed order is answered with it even while halted: only new ones stop.
            await halts.refuse(principal, request.account_id, uow)
            session = session_for(account, self._clock.now())
            self._check_takes_orders(account, request)
            order = await self._new_order(
                uow, principal, account, request, (order_id, key), force, closing is not None
            )
            await self._check_risk(uow, session, order, keyed=client_order_id is not None)
            await _check_mode_held(uow, order, force)
            if closing is not None:
                await closing.check(uow, order)
            try:
                await uow.orders.add(order)
                await uow.commit()
            except (DuplicateClientOrderId, StaleWrite):
                taken = True  # a concurrent request with this key won; read its order after
            else:
                taken = False
        if taken:
            return await self._stored_twin(request, key)
        return await self._dispatch(order, session)

    def _check_takes_orders(self, account: Account, request: OrderRequest) -> None:
        """Refuse while the account's books await reconciliation, while this process is not
        known to live, or for an instrument a loaded master lacks."""
        if account.reconcile_since is not None:
            raise AccountReconciling(request.account_id)
        if not self._liveness.vouches():
            raise _unannounced()
        if self._instruments is not None:
            self._instruments.check(request.exchange.value, request.tradingsymbol)

    async def _dispatch(self, order: Order, session: BrokerSession) -> Placement:
        quantities = self._slices(order.request)
        if len(quantities) > 1:
            slices = await self._send_sliced(order, session, quantities)
            # One order alone (the answer lost): no slice known yet, as a repeat would answer.
            return Placement(slices[0], created=True, slices=tuple(slices) if slices[1:] else ())
        return Placement(await self._send(order, session), created=True)

    def _slices(self, request: OrderRequest) -> list[int]:
        """The slices an autoslice order goes in (one when its freeze quantity is unknown)."""
        if not request.autoslice or self._instruments is None:
            return [request.quantity]
        item = self._instruments.master.get(request.exchange.value, request.tradingsymbol)
        return item.slices(request.quantity) if item is not None else [request.quantity]

    async def _check_risk(
        self, uow: UnitOfWork, session: BrokerSession, order: Order, *, keyed: bool
    ) -> None:
        if self._risk is not None:
            await self._risk.check_placement(uow, session, order, keyed)

    async def get_order(self, principal: Principal, order_id: OrderId) -> Order:
        async with self._uow() as uow:
            return await visible_order(uow, principal, order_id)

    async def list_orders(self, principal: Principal, wanted: OrderFilter) -> list[Order]:
        """List the orders the principal may see that match ``wanted``."""
        async with self._uow() as uow:
            return await uow.orders.list(_scoped(principal, wanted))

    async def order_events(self, principal: Principal, order_id: OrderId) -> list[OrderEvent]:
        async with self._uow() as uow:
            await visible_order(uow, principal, order_id)
            return await uow.orders.events(order_id)

    async def _new_order(
        self,
        uow: UnitOfWork,
        principal: Principal,
        account: Account,
        request: OrderRequest,
        ids: tuple[OrderId, ClientOrderId],
        force: bool,
        closing: bool,
    ) -> Order:
        order_id, key = ids
        strategy_id, own_mode = await self._strategy_for(uow, principal, request, closing)
        origin = OrderOrigin.SCRIPT if principal.is_script else OrderOrigin.MANUAL
        # The scope's mode came with the rows already read (the account's, the strategy's).
        check_origin(scope_mode(account.control_mode, own_mode), origin, force)
        now = self._clock.now()
        order = Order(
            order_id=order_id,
            client_order_id=key,
            request=request,
            request_fingerprint=request.fingerprint(),
            tag=tag_for(order_id),
            strategy_id=strategy_id,
            user_id=principal.user_id,
            placed_by=self._liveness.instance_id,
            created_at=now,
            updated_at=now,
            origin=origin,
        )
        order.pending_events.append(OrderEvent.requested(order_id, now, _requested_data(order)))
        return order

    async def repeat_of(
        self, principal: Principal, account_id: AccountId, client_order_id: ClientOrderId
    ) -> Placement | None:
        """The placement a key already names in one of the caller's accounts, as a repeat of
        it is answered; None while the key is free (never used, or its attempt certainly never
        reached the broker, which a placement with the key tries again)."""
        async with self._uow() as uow:
            await visible_account(uow, principal, account_id)
            existing = await uow.orders.get_by_client_order_id(account_id, client_order_id)
            if existing is None or await _never_sent(uow, existing):
                return None
            return await _answered(uow, existing)

    async def _repeated(
        self, uow: UnitOfWork, request: OrderRequest, key: ClientOrderId, same_terms: bool
    ) -> Placement | None:
        """The answer to a key used before, unless its attempt is released for this one."""
        existing = await uow.orders.get_by_client_order_id(request.account_id, key)
        if existing is None or await self._release(uow, existing, request, same_terms):
            return None
        return await _answered(uow, existing)

    async def _release(
        self, uow: UnitOfWork, existing: Order, request: OrderRequest, same_terms: bool
    ) -> bool:
        """Free the key of an attempt that certainly never reached the broker, for a retry.

        A rate limit, an unreachable broker, an expired session or an order of unknown outcome
        that the broker's book proved absent consumed nothing: retrying the same key must try
        again. The failed attempt keeps its history under its own id. A close's key names
        the close of its position, whose quantity may have changed since (``same_terms``
        False): its retry closes what is open now.
        """
        if same_terms:
            _same_request(existing, request)
        if not await _never_sent(uow, existing):
            return False
        key = existing.client_order_id
        existing.client_order_id = ClientOrderId(existing.order_id)
        existing.record(KEY_RELEASED, self._clock.now(), client_order_id=key)
        await uow.orders.save(existing)
        return True

    async def _stored_twin(self, request: OrderRequest, key: ClientOrderId) -> Placement:
        async with self._uow() as uow:
            existing = await uow.orders.get_by_client_order_id(request.account_id, key)
            if existing is None:  # the unique index said it exists: it must be visible now
                raise NotFound("the idempotency key is held by an order that cannot be read")
            return await _answered(uow, _same_request(existing, request))

    async def _send(self, order: Order, session: BrokerSession) -> Order:
        order = await self._writer.update(order, lambda o: o.move(OrderTrigger.SUBMIT, self._now()))
        try:
            request, tag = order.request, order.broker_tag
            broker_order_id = await self._broker.place_order(session, request, tag)
        except BrokerOutcomeUnknown as exc:
            data = error_data(exc)
            return await self._writer.update(order, lambda o: o.lose_track(self._now(), **data))
        except BROKER_REFUSALS as exc:
            await self._writer.fail(order, exc)
            raise
        return await self._writer.update(order, lambda o: o.accept(broker_order_id, self._now()))

    async def _send_sliced(
        self, order: Order, session: BrokerSession, quantities: list[int]
    ) -> list[Order]:
        """Send with the broker's autoslice; record each slice it answers as an order."""
        order = await self._writer.update(order, lambda o: o.move(OrderTrigger.SUBMIT, self._now()))
        try:
            request, tag = order.request, order.broker_tag
            reports = await self._broker.place_autoslice_order(session, request, tag)
        except BrokerOutcomeUnknown as exc:
            data = error_data(exc)
            return [await self._writer.update(order, lambda o: o.lose_track(self._now(), **data))]
        except BROKER_REFUSALS as exc:
            await self._writer.fail(order, exc)
            raise
        # The first slice's answer and the orders of the others in one transaction: a crash
        # between them would leave slices at the broker that our books never hold.
        ids = [new_order_id() for _ in reports[1:]]
        at = self._now()
        others: list[Order] = []

        def further(first: Order) -> list[Order]:
            others[:] = further_slices(first, quantities, reports, ids, at)
            return others

        first = await self._writer.update(
            order, lambda o: first_slice(o, quantities[0], reports[0], at), adding=further
        )
        return [first, *others]

    def _now(self) -> datetime:
        return self._clock.now()

    async def _strategy_for(
        self, uow: UnitOfWork, principal: Principal, request: OrderRequest, closing: bool
    ) -> tuple[StrategyId, ControlMode | None]:
        """The strategy the order goes to (the key's, the one named, or the account's default)
        and its own control mode (None: it follows the account's, as the default one does).
        A close may go to an archived strategy: archived, it still holds what it opened."""
        if principal.strategy_id is not None:
            bound = await _bound_strategy(uow, principal.strategy_id, request, closing)
            return _with_mode(bound)
        if request.strategy_id is not None:
            named = await _named_strategy(uow, request.strategy_id, request.account_id, closing)
            return _with_mode(named)
        # The default strategy is created with its account and can never be deleted.
        cached = self._default_strategies.get(request.account_id)
        if cached is None:
            cached = await _default_strategy(uow, request.account_id)
            self._default_strategies[request.account_id] = cached
        # A handoff never names the default strategy (it is the account scope's): no read.
        return cached, None


_PAST_HALT = NoHalts()


def _with_mode(strategy: Strategy) -> tuple[StrategyId, ControlMode | None]:
    return strategy.strategy_id, strategy_mode(strategy.control_mode, strategy.is_default)


async def _bound_strategy(
    uow: UnitOfWork, bound: StrategyId, request: OrderRequest, closing: bool
) -> Strategy:
    """A script's key trades for its strategy alone, in that strategy's account."""
    named = request.strategy_id
    strategy = await uow.strategies.get(bound)
    if (named is not None and named != bound) or (
        strategy is not None and strategy.account_id != request.account_id
    ):
        raise PermissionDenied(
            f"this API key places orders for strategy {bound} of its account only",
            details={"strategy_id": named, "key_strategy_id": bound},
        )
    return await _named_strategy(uow, bound, request.account_id, closing, strategy)


async def _named_strategy(
    uow: UnitOfWork,
    strategy_id: StrategyId,
    account_id: AccountId,
    closing: bool,
    strategy: Strategy | None = None,
) -> Strategy:
    """The named strategy, if it is the account's and takes orders (not archived)."""
    strategy = strategy or await uow.strategies.get(strategy_id)
    if strategy is None or strategy.is_deleted or strategy.account_id != account_id:
        raise ValidationError(
            f"strategy {strategy_id} is not a strategy of account {account_id}",
            field="strategy_id",
            details={"strategy_id": strategy_id},
        )
    if not closing:
        strategy.check_takes_orders()
    return strategy


async def _default_strategy(uow: UnitOfWork, account_id: AccountId) -> StrategyId:
    default = await uow.strategies.get_default(account_id)
    if default is None:
        raise NotFound(f"account {account_id} has no default strategy")
    return default.strategy_id


async def _check_mode_held(uow: UnitOfWork, order: Order, force: bool) -> None:
    """Hold the account's row until this placement commits, and check its mode again under
    it: an emergency stop that began since the first check refuses the order, and one that
    begins later waits for it and then sees its order, never neither."""
    mode = await uow.risk_limits.hold_account(order.account_id)
    if mode is ControlMode.TRANSITIONING:
        check_origin(mode, order.origin, force)


def _check_key(client_order_id: ClientOrderId | None, internal: bool) -> None:
    """Refuse a caller's key of a slice's, a close's or a square-off's shape: it would be
    taken for another order's slice, or answered as a position's close or a halt's."""
    if client_order_id is not None and is_slice_key(client_order_id):
        raise ValidationError(
            "an idempotency key of the shape <order id>.<n> is reserved for the slices of "
            "autoslice orders",
            field="client_order_id",
        )
    if client_order_id is not None and not internal and is_internal_key(client_order_id):
        raise ValidationError(
            f"an idempotency key beginning {CLOSE_KEY_PREFIX!r} or {FLATTEN_KEY_PREFIX!r} is"
            " reserved for the orders of POST /api/v1/positions/close and of the kill"
            " switch's flatten",
            field="client_order_id",
        )


async def _never_sent(uow: UnitOfWork, existing: Order) -> bool:
    """True if the order failed in a way that proves the broker never took it."""
    if existing.status is not OrderStatus.FAILED:
        return False
    events = await uow.orders.events(existing.order_id)
    return bool(events) and is_retryable_failure(events[-1])


async def _answered(uow: UnitOfWork, existing: Order) -> Placement:
    """The answer to a repeated key: its order, and every slice of it if it was sliced."""
    slices: list[Order] = []
    for index in itertools.count(1):
        key = slice_key(existing.order_id, index)
        found = await uow.orders.get_by_client_order_id(existing.account_id, key)
        if found is None:
            break
        slices.append(found)
    return Placement(existing, created=False, slices=(existing, *slices) if slices else ())


def _same_request(existing: Order, request: OrderRequest) -> Order:
    if existing.request_fingerprint != request.fingerprint():
        raise IdempotencyConflict(
            "this client_order_id was already used for a different order",
            details={"order_id": existing.order_id, "client_order_id": existing.client_order_id},
        )
    return existing


def _scoped(principal: Principal, wanted: OrderFilter) -> OrderQuery:
    return OrderQuery(
        AccountScope.of(principal),
        account_id=wanted.account_id,
        status=wanted.status,
        strategy_id=wanted.strategy_id,
        after=wanted.after,
        limit=wanted.limit,
    )


def _requested_data(order: Order) -> dict[str, Any]:
    request = order.request
    return {
        "client_order_id": order.client_order_id,
        "tag": order.tag,
        "exchange": request.exchange.value,
        "tradingsymbol": request.tradingsymbol,
        "transaction_type": request.transaction_type.value,
        "quantity": request.quantity,
        "order_type": request.order_type.value,
        **({"autoslice": True} if request.autoslice else {}),
    }


def _unannounced() -> ServiceUnavailableError:
    """This process's heartbeat is failing: others may soon settle its orders as abandoned."""
    return ServiceUnavailableError(
        "this service process cannot currently announce itself alive (its heartbeat is "
        "failing); no order was sent; retry, another process may take it",
        details={"reason": "heartbeat"},
    )
