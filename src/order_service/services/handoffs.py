"""Handoffs of control between people and algorithms (DESIGN.md section 7).

A request takes the scope's lock (the account's row, then the strategy's: always in that
order; first, when Redis is configured, the account's scope lock there, whose fencing token the
mode write carries, so a request paused past its lock's expiry cannot write after the next
holder), checks the control-mode table, puts the scope TRANSITIONING and stores the handoff,
all in one transaction: of two overlapping requests one wins and the other is refused with
``OWNERSHIP_CONFLICT``. The finisher (a supervised worker, in whichever process owns the
account) then cancels the scope's working orders at the broker, waits until each is settled in
our books (a fill that wins the race is kept), and hands the scope over, or gives it back the
mode it left and says why. Every step is an account event and a step of the handoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.domain.account import Account, Principal, Role, Strategy
from order_service.domain.account_events import AccountEvent
from order_service.domain.control import (
    TARGETS,
    ControlMode,
    ControlTrigger,
    move,
    scope_mode,
    settle_trigger,
    strategy_mode,
)
from order_service.domain.handoff import (
    HANDOFF_REQUESTED,
    HANDOFF_TRIGGERS,
    ORDER_CANCEL_REQUESTED,
    Handoff,
    HandoffId,
    HandoffStatus,
)
from order_service.domain.ids import AccountId, StrategyId, UserId, new_ulid
from order_service.domain.order import Order
from order_service.domain.status import OrderStatus
from order_service.errors import (
    BrokerUnavailable,
    Conflict,
    NotFound,
    OwnershipConflict,
    RateLimitError,
    ServiceUnavailableError,
    StaleWrite,
    ValidationError,
)
from order_service.services.access import granted, visible_account
from order_service.services.amendments import AmendmentService
from order_service.services.cancellations import CancelOutcome, cancel_each
from order_service.services.ports import Clock, ScopeLocks, UnitOfWork, UnitOfWorkFactory
from order_service.services.strategies import refuse_scripts

# How long a request holds its scope's lock in Redis at most (its one transaction takes less).
SCOPE_LOCK_SECONDS = 10.0
# Who cancels a handoff's orders: the service itself, on the requester's behalf.
FINISHER = Principal(UserId("handoff-finisher"), "handoff finisher", frozenset({Role.ADMIN}))
# A cancel that could not be sent for now is sent again on the next pass, until the deadline.
RETRY_LATER = frozenset(
    error.code for error in (BrokerUnavailable, RateLimitError, ServiceUnavailableError)
)


@dataclass(frozen=True, slots=True)
class HandoffRequest:
    account_id: AccountId
    strategy_id: StrategyId | None
    trigger: str
    force: bool = False


class HandoffService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        amendments: AmendmentService,
        clock: Clock,
        timeout_seconds: float,
        locks: ScopeLocks | None = None,
    ) -> None:
        self._uow = uow_factory
        self._amendments = amendments
        self._clock = clock
        self._timeout = timedelta(seconds=timeout_seconds)
        self._locks = locks

    async def close(self) -> None:
        if self._locks is not None:
            await self._locks.close()

    async def request(self, principal: Principal, asked: HandoffRequest) -> Handoff:
        """Accept a handoff of the scope: it is TRANSITIONING once this returns."""
        refuse_scripts(principal)  # people hand control over; an algorithm does not take it
        trigger = _trigger(asked.trigger)
        if self._locks is None:
            return await self._request(principal, asked, trigger, None)
        async with self._uow() as uow:  # a stranger takes no lock (NOT_FOUND), and spends none
            await visible_account(uow, principal, asked.account_id)
        holder = new_ulid()
        token = await self._locks.acquire(asked.account_id, holder, SCOPE_LOCK_SECONDS)
        if token is None:
            raise _busy(asked.account_id, None)
        try:
            return await self._request(principal, asked, trigger, token)
        finally:
            await self._locks.release(asked.account_id, holder, token)

    async def _request(
        self,
        principal: Principal,
        asked: HandoffRequest,
        trigger: ControlTrigger,
        token: int | None,
    ) -> Handoff:
        async with self._uow() as uow:
            await visible_account(uow, principal, asked.account_id)  # a stranger's: NOT_FOUND
            await uow.handoffs.lock_scope(asked.account_id, asked.strategy_id)
            await _fence(uow, asked.account_id, token)
            await self._clear_the_way(uow, asked)
            account = await visible_account(uow, principal, asked.account_id)  # under the lock
            strategy = await _strategy_of(uow, account, asked.strategy_id)
            handoff = self._new(principal, asked, trigger, _mode_of(account, strategy))
            handoff.step(HANDOFF_REQUESTED, handoff.created_at, trigger=trigger.value)
            await _set_mode(uow, handoff, ControlMode.TRANSITIONING)
            try:
                await uow.handoffs.add(handoff)
                await _event(uow, handoff, HANDOFF_REQUESTED, handoff.steps[-1].data)
                await uow.commit()
            except Conflict as exc:  # the unique index: a request that got past no lock
                raise _busy(asked.account_id, None) from exc
        return handoff

    async def get(self, principal: Principal, handoff_id: HandoffId) -> Handoff:
        async with self._uow() as uow:
            handoff = await uow.handoffs.get(handoff_id)
            if handoff is None or not await granted(uow, principal, handoff.account_id):
                raise NotFound(
                    f"handoff {handoff_id} not found", details={"handoff_id": handoff_id}
                )
        return handoff

    async def accounts_unfinished(self) -> list[AccountId]:
        async with self._uow() as uow:
            return await uow.handoffs.accounts_unfinished()

    async def finish_account(self, account_id: AccountId) -> int:
        """Move each unfinished handoff of the account on; return how many are still open."""
        async with self._uow() as uow:
            open_ = await uow.handoffs.unfinished(account_id)
        still = 0
        for handoff in open_:
            try:
                still += not await self._advance(handoff)
            except StaleWrite:  # another finisher moved it meanwhile: its next pass sees that
                still += 1
        return still

    def _new(
        self, principal: Principal, asked: HandoffRequest, trigger: ControlTrigger,
        current: ControlMode,
    ) -> Handoff:  # fmt: skip
        if current is ControlMode.TRANSITIONING:  # an emergency stop is under way
            raise OwnershipConflict(
                "this scope's orders are being cancelled; retry once it is done",
                details={"account_id": asked.account_id, "control_mode": current.value},
            )
        move(current, trigger)  # the table: MANUAL → to_script, SCRIPT → to_manual
        now = self._clock.now()
        return Handoff(
            handoff_id=HandoffId(new_ulid()), account_id=asked.account_id,
            strategy_id=asked.strategy_id, trigger=trigger, from_mode=current,
            target_mode=TARGETS[trigger], status=HandoffStatus.PENDING, force=asked.force,
            requested_by=principal.user_id, created_at=now, updated_at=now,
            deadline=now + self._timeout,
        )  # fmt: skip

    async def _clear_the_way(self, uow: UnitOfWork, asked: HandoffRequest) -> None:
        """Refuse a request overlapping an unfinished handoff, unless forced past its deadline
        (that one is settled FAILED, its scope given back the mode it left)."""
        now = self._clock.now()
        for other in await uow.handoffs.unfinished(asked.account_id):
            if not other.overlaps(asked.strategy_id):
                continue
            if not (asked.force and other.is_stale(now)):
                raise _busy(asked.account_id, other)
            reason = f"forced aside after its deadline by a new request for {asked.trigger}"
            await _settle(uow, other, HandoffStatus.FAILED, now, reason)

    async def _advance(self, handoff: Handoff) -> bool:
        """One step of the handoff: cancel what is still working, settle it when all are
        settled, or fail it. Return True once it is finished."""
        async with self._uow() as uow:
            unsettled = _in_scope(handoff, await uow.orders.list_unsettled(handoff.account_id))
        requested = handoff.cancel_requested()
        to_cancel = [o for o in unsettled if o.status.is_working and o.order_id not in requested]
        sent = await cancel_each(self._amendments, FINISHER, to_cancel) if to_cancel else ()
        outcomes = [o for o in sent if o.error_code not in RETRY_LATER]
        refused = [o for o in outcomes if o.error_code is not None and not o.status.is_terminal]
        async with self._uow() as uow:
            now = self._clock.now()
            for outcome in outcomes:
                await _record_cancel(uow, handoff, outcome, now)
            if refused:
                why = ", ".join(f"{o.order.order_id} ({o.error_code})" for o in refused)
                await _settle(uow, handoff, HandoffStatus.FAILED, now, f"cancel refused: {why}")
            elif not await _still_open(uow, handoff):
                await _settle(uow, handoff, HandoffStatus.COMPLETED, now)
            elif handoff.is_stale(now):
                why = "timed out waiting for its orders to be confirmed cancelled"
                await _settle(uow, handoff, HandoffStatus.FAILED, now, why)
            elif outcomes or handoff.status is HandoffStatus.PENDING:  # not to write idle passes
                handoff.status = HandoffStatus.CANCELLING
                handoff.updated_at = now
                await uow.handoffs.save(handoff)
            await uow.commit()
        return handoff.is_finished


async def override_unfinished(uow: UnitOfWork, account_id: AccountId, now: datetime) -> None:
    """Fail every unfinished handoff of the account: an emergency stop overrides them (the stop
    then sets every scope MANUAL in the same transaction)."""
    for handoff in await uow.handoffs.unfinished(account_id):
        await _settle(uow, handoff, HandoffStatus.FAILED, now, "overridden by an emergency stop")
        if handoff.strategy_id is not None:  # the default strategy's own mode too
            await uow.control_modes.set_strategy_mode(handoff.strategy_id, ControlMode.MANUAL)


def _trigger(value: str) -> ControlTrigger:
    try:
        trigger = ControlTrigger(value)
    except ValueError:
        trigger = None
    if trigger not in HANDOFF_TRIGGERS:
        allowed = sorted(t.value for t in HANDOFF_TRIGGERS)
        raise ValidationError(
            f"trigger must be one of {allowed}", details={"field": "trigger", "allowed": allowed}
        )
    assert trigger is not None
    return trigger


async def _strategy_of(
    uow: UnitOfWork, account: Account, strategy_id: StrategyId | None
) -> Strategy | None:
    if strategy_id is None:
        return None
    strategy = await uow.strategies.get(strategy_id)
    if strategy is None or strategy.is_deleted or strategy.account_id != account.account_id:
        raise ValidationError(
            f"strategy {strategy_id} is not a strategy of account {account.account_id}",
            details={"field": "strategy_id", "strategy_id": strategy_id},
        )
    return strategy


def _mode_of(account: Account, strategy: Strategy | None) -> ControlMode:
    if strategy is None:
        return account.control_mode
    return scope_mode(
        account.control_mode, strategy_mode(strategy.control_mode, strategy.is_default)
    )


def _busy(account_id: AccountId, other: Handoff | None) -> OwnershipConflict:
    if other is None:
        return OwnershipConflict(
            "another handoff of this scope is in progress", details={"account_id": account_id}
        )
    scope = f"strategy {other.strategy_id}" if other.strategy_id else f"account {account_id}"
    return OwnershipConflict(
        f"handoff {other.handoff_id} of {scope} is in progress ({other.status.value});"
        " retry once it is done",
        details={"handoff_id": other.handoff_id, "account_id": account_id,
                 "strategy_id": other.strategy_id},
    )  # fmt: skip


def _in_scope(handoff: Handoff, orders: list[Order]) -> list[Order]:
    if handoff.strategy_id is None:
        return list(orders)
    return [o for o in orders if o.strategy_id == handoff.strategy_id]


async def _still_open(uow: UnitOfWork, handoff: Handoff) -> bool:
    """Whether any order of the scope is not yet settled in our books."""
    return bool(_in_scope(handoff, await uow.orders.list_unsettled(handoff.account_id)))


async def _fence(uow: UnitOfWork, account_id: AccountId, token: int | None) -> None:
    """Refuse a request whose scope lock another request took since (a newer token written)."""
    if token is not None and not await uow.control_modes.fence_scope(account_id, token):
        raise OwnershipConflict(
            "this request's scope lock expired and another request took it; retry",
            details={"account_id": account_id, "lock_token": token},
        )


async def _set_mode(uow: UnitOfWork, handoff: Handoff, mode: ControlMode) -> None:
    if handoff.strategy_id is not None:
        await uow.control_modes.set_strategy_mode(handoff.strategy_id, mode)
        return
    await uow.control_modes.set_account_mode(handoff.account_id, mode)
    if mode is ControlMode.MANUAL and handoff.status is HandoffStatus.COMPLETED:
        # An account handed to its people: its strategies' algorithms stop too.
        await uow.control_modes.set_strategy_modes(handoff.account_id, mode)


async def _settle(
    uow: UnitOfWork, handoff: Handoff, status: HandoffStatus, now: datetime, why: str | None = None
) -> None:
    handoff.settle(status, now, why)
    mode = move(ControlMode.TRANSITIONING, settle_trigger(handoff.settled_mode()))
    await _set_mode(uow, handoff, mode)
    await uow.handoffs.save(handoff)
    step = handoff.steps[-1]
    await _event(uow, handoff, step.name, step.data | {"control_mode": mode.value})


async def _record_cancel(
    uow: UnitOfWork, handoff: Handoff, outcome: CancelOutcome, now: datetime
) -> None:
    order = outcome.order
    data: dict[str, object] = {
        "order_id": order.order_id,
        "status": order.status.value,
        "error_code": outcome.error_code,
        "fill_kept": order.status is OrderStatus.COMPLETE,
    }
    handoff.step(ORDER_CANCEL_REQUESTED, now, **data)
    await _event(uow, handoff, ORDER_CANCEL_REQUESTED, data)


async def _event(uow: UnitOfWork, handoff: Handoff, name: str, data: dict[str, object]) -> None:
    scope = {"handoff_id": handoff.handoff_id, "strategy_id": handoff.strategy_id}
    await uow.account_events.add(
        AccountEvent(handoff.account_id, name, scope | data, handoff.updated_at)
    )
