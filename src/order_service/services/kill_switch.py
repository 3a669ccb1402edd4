"""The kill switch: engage, release and list halts, and refuse what a halt in force stops.

Every process reads the halts in force at most ``REFRESH_SECONDS`` old, so a halt engaged in
one process stops orders in every other within a second; the process that engaged (or
released) it sees the change at once. With a ``HaltSignal`` (Redis, when configured) each check
first reads the shared change counter and re-reads the halts from the database when it moved,
so every process sees a change at once; without one, or while it cannot be read, the refresh
alone keeps the bound.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from order_service.domain.account import AccountScope, Principal
from order_service.domain.halt import (
    Halt,
    HaltKind,
    HaltScope,
    HaltView,
    check_may_engage,
    check_may_release,
    resolve,
)
from order_service.domain.ids import AccountId, UserId
from order_service.errors import NotFound
from order_service.services.access import visible_account
from order_service.services.ports import Clock, HaltSignal, UnitOfWork, UnitOfWorkFactory

# Half the one-second bound across processes, so a read in flight cannot push it past.
REFRESH_SECONDS = 0.5

# Told the view's halts each time it is re-read (the metrics gauge, at the edge).
HaltsObserver = Callable[[list[Halt]], None]


class HaltGuard(Protocol):
    async def refuse(
        self, principal: Principal, account_id: AccountId, uow: UnitOfWork | None = None
    ) -> None:
        """Raise ``TradingHalted`` if a halt in force covers the account or the caller."""
        ...


class NoHalts:
    """The guard of a use case built without a kill switch: it refuses nothing."""

    async def refuse(
        self, principal: Principal, account_id: AccountId, uow: UnitOfWork | None = None
    ) -> None:
        return None


class KillSwitchService:
    """Engages and releases halts for a principal; answers whether an account is halted."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        observe: HaltsObserver | None = None,
        signal: HaltSignal | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._observe = observe
        self._signal = signal
        self._view: HaltView | None = None
        self._read_at: datetime | None = None
        self._version: int | None = None  # the signal's count when the view was read

    async def engage(self, principal: Principal, scope: HaltScope, flatten: bool = False) -> Halt:
        """Engage a halt on ``scope``; engaging an engaged scope keeps the first halt.
        ``flatten`` is recorded with the event (the caller then flattens the scope)."""
        check_may_engage(principal, scope)
        halt = Halt(scope, principal.user_id, self._clock.now(), principal.is_admin)
        async with self._uow() as uow:
            await _check_visible(uow, principal, scope)
            held = await uow.kill_switches.engage(halt, flatten=flatten)
            await uow.commit()
        await self._changed()
        return held

    async def release(self, principal: Principal, scope: HaltScope) -> None:
        """Release the halt on ``scope``; a scope not halted is ``NotFound``."""
        check_may_engage(principal, scope)
        async with self._uow() as uow:
            await _check_visible(uow, principal, scope)
            halt = await uow.kill_switches.get(scope)
            if halt is None:
                raise NotFound("no halt is engaged on this scope", details=scope.as_details())
            check_may_release(principal, halt)
            await uow.kill_switches.release(scope, principal.user_id, self._clock.now())
            await uow.commit()
        await self._changed()

    async def list(self, principal: Principal) -> list[Halt]:
        """The halts in force that stop any of the caller's accounts (every one for an admin)."""
        async with self._uow() as uow:
            halts = await uow.kill_switches.in_force()
            if principal.is_admin:
                return halts
            view = await _resolve(uow, halts)
        mine = AccountScope.of(principal).account_ids or frozenset()
        return [h for h in halts if _stops_any(view, h, principal.user_id, mine)]

    async def refuse(
        self, principal: Principal, account_id: AccountId, uow: UnitOfWork | None = None
    ) -> None:
        """Raise ``TradingHalted`` if a halt in force covers the account or the caller.

        A caller inside a unit of work passes it: the view is re-read through it, since a
        second one could wait on the first's connection (SQLite has one writer).
        """
        view = await self._current(uow)
        view.refuse(principal.user_id, account_id)

    async def close(self) -> None:
        if self._signal is not None:
            await self._signal.close()

    async def _current(self, uow: UnitOfWork | None = None) -> HaltView:
        now = self._clock.now()
        fresh = self._read_at is not None and now - self._read_at < _REFRESH
        version = await self._signal.version() if self._signal is not None else None
        unchanged = version is None or version == self._version
        if self._view is not None and fresh and unchanged:
            return self._view
        self._version = version
        if uow is None:
            async with self._uow() as own:
                halts, self._view = await _read(own)
        else:
            halts, self._view = await _read(uow)
        self._read_at = now
        if self._observe is not None:
            self._observe(halts)
        return self._view

    async def _changed(self) -> None:
        """Tell the other processes (through the signal), then read the view again here."""
        if self._signal is not None:
            await self._signal.changed()
        await self._forget()

    async def _forget(self) -> None:
        """Drop the view after a change here, and read it again (its observer sees the change)."""
        self._view, self._read_at = None, None
        await self._current()


_REFRESH = timedelta(seconds=REFRESH_SECONDS)


async def _check_visible(uow: UnitOfWork, principal: Principal, scope: HaltScope) -> None:
    if scope.kind is HaltKind.ACCOUNT:
        await visible_account(uow, principal, AccountId(scope.key))


async def _read(uow: UnitOfWork) -> tuple[list[Halt], HaltView]:
    halts = await uow.kill_switches.in_force()
    return halts, await _resolve(uow, halts)


async def _resolve(uow: UnitOfWork, halts: list[Halt]) -> HaltView:
    """Resolve halts, reading the accounts of each user a halt names."""
    accounts_of: dict[UserId, frozenset[AccountId]] = {}
    for halt in halts:
        if halt.scope.kind is HaltKind.USER:
            user = UserId(halt.scope.key)
            principal = await uow.users.get(user)
            if principal is not None:
                accounts_of[user] = principal.account_ids
    return resolve(halts, accounts_of)


def _stops_any(view: HaltView, halt: Halt, user_id: UserId, accounts: frozenset[AccountId]) -> bool:
    if halt.scope.kind is HaltKind.EVERYTHING or halt.scope.key == user_id:
        return True
    return any(view.accounts.get(a) is halt for a in accounts)
