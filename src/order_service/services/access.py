"""Visibility rules shared by every use case: another user's object does not exist."""

from __future__ import annotations

from datetime import datetime

from order_service.domain.account import Account, Principal
from order_service.domain.ids import AccountId, OrderId
from order_service.domain.order import Order
from order_service.errors import AuthenticationError, NotFound
from order_service.services.ports import (
    BrokerSession,
    Clock,
    SessionSource,
    UnitOfWork,
    UnitOfWorkFactory,
)


async def visible_account(uow: UnitOfWork, principal: Principal, account_id: AccountId) -> Account:
    """Return the account if this principal may act on it, else raise ``NotFound``."""
    allowed = await granted(uow, principal, account_id)
    account = await uow.accounts.get(account_id) if allowed else None
    if account is None or account.is_removed:
        raise NotFound(f"account {account_id} not found", details={"account_id": account_id})
    return account


async def granted(uow: UnitOfWork, principal: Principal, account_id: AccountId) -> bool:
    """Return True if the principal may act on the account (its grants re-read if need be)."""
    return principal.can_act_on(account_id) or await _granted_since(uow, principal, account_id)


async def _granted_since(uow: UnitOfWork, principal: Principal, account_id: AccountId) -> bool:
    """Check the stored grants: the caller's principal may predate a grant (it is cached)."""
    fresh = await uow.users.get(principal.user_id)
    return fresh is not None and fresh.can_act_on(account_id)


async def visible_order(uow: UnitOfWork, principal: Principal, order_id: OrderId) -> Order:
    """Return the order if its account is visible to this principal, else raise ``NotFound``."""
    order = await uow.orders.get(order_id)
    if order is None or not await granted(uow, principal, order.account_id):
        raise NotFound(f"order {order_id} not found", details={"order_id": order_id})
    return order


def session_for(account: Account, now: datetime) -> BrokerSession:
    """Return the account's broker session, or fail fast if it must log in again."""
    if not account.has_live_session(now) or account.access_token is None:
        raise AuthenticationError(
            f"account {account.account_id} has no live broker session; log in again",
            details={"account_id": account.account_id, "session_state": "login_required"},
        )
    return BrokerSession(account.account_id, account.api_key, account.access_token)


def stored_sessions(uow_factory: UnitOfWorkFactory, clock: Clock) -> SessionSource:
    """Return a reader of each account's stored broker session (None when it must log in)."""

    async def current(account_id: AccountId) -> BrokerSession | None:
        async with uow_factory() as uow:
            account = await uow.accounts.get(account_id)
        if account is None:
            return None
        try:
            return session_for(account, clock.now())
        except AuthenticationError:
            return None

    return current
