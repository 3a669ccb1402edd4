"""Accounts: adding them (with their default strategy), and the broker login flow."""

from __future__ import annotations

from datetime import datetime

from order_service.domain.account import Account, AccountScope, Principal
from order_service.domain.ids import AccountId, UserId
from order_service.domain.reports import SegmentMargins
from order_service.errors import (
    Conflict,
    NotFound,
    PermissionDenied,
)
from order_service.services.access import session_for, visible_account
from order_service.services.ports import Broker, Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.strategies import ensure_defaults


class AccountService:
    """Adds accounts and keeps their broker sessions."""

    def __init__(self, uow_factory: UnitOfWorkFactory, broker: Broker, clock: Clock) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock

    async def add_account(
        self,
        principal: Principal,
        account_id: AccountId,
        api_key: str,
        api_secret: str,
        name: str = "",
    ) -> Account:
        """Add an account with its default strategy and portfolio; let the adding user act on it.

        An id that exists and is not the caller's answers as any id they cannot see; a removed
        account comes back only for one of its previous users or an admin.
        """
        now = self._clock.now()
        async with self._uow() as uow:
            existing = await uow.accounts.get(account_id)
            if existing is None:
                account = Account(account_id, api_key, api_secret, now, name=name or account_id)
                await self._create(uow, account, now)
            else:
                account = await self._reclaim(uow, principal, existing)
                await self._restore(uow, principal, account, (api_key, api_secret))
                account.restore(api_key, api_secret, name or account_id)
                await uow.accounts.save(account)
                await ensure_defaults(uow, account_id, now)
            await uow.users.grant(principal.user_id, account_id)
            await uow.commit()
        return account

    async def _reclaim(self, uow: UnitOfWork, principal: Principal, existing: Account) -> Account:
        account_id = existing.account_id
        previous_user = principal.is_admin or await uow.users.has_grant(
            principal.user_id, account_id
        )
        if not previous_user:
            raise NotFound(f"account {account_id} not found", details={"account_id": account_id})
        if not existing.is_removed:
            raise Conflict(f"account {account_id} exists", details={"account_id": account_id})
        return existing

    async def _restore(
        self,
        uow: UnitOfWork,
        principal: Principal,
        account: Account,
        credentials: tuple[str, str],
    ) -> None:
        """A previous user restores the account as it was; other credentials are an admin's call.

        New Kite credentials make a new owner: every other user's grant goes with the old ones,
        so whoever held the id before cannot trade the restored account.
        """
        if credentials == (account.api_key, account.api_secret):
            return
        if not principal.is_admin:
            raise PermissionDenied(
                "only an admin may restore an account with other Kite credentials",
                details={"account_id": account.account_id},
            )
        await uow.users.revoke_other_grants(account.account_id, keep=principal.user_id)

    async def remove_account(self, principal: Principal, account_id: AccountId) -> None:
        """Remove an account with no unsettled orders; its orders keep their history."""
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
            unsettled = await uow.orders.list_unsettled(account_id)
            if unsettled:
                raise Conflict(
                    f"account {account_id} has {len(unsettled)} unsettled orders",
                    details={"account_id": account_id, "unsettled_orders": len(unsettled)},
                )
            account.remove(self._clock.now())
            await uow.accounts.save(account)
            await uow.commit()

    async def _create(self, uow: UnitOfWork, account: Account, now: datetime) -> None:
        await uow.accounts.add(account)
        await ensure_defaults(uow, account.account_id, now)

    async def revoke(self, principal: Principal, user_id: UserId, account_id: AccountId) -> None:
        """Take a user's access to an account away (admins); every process within 5 s."""
        if not principal.is_admin:
            raise PermissionDenied("only an admin may revoke account access")
        async with self._uow() as uow:
            await visible_account(uow, principal, account_id)
            if not await uow.users.revoke_grant(user_id, account_id):
                raise NotFound(
                    f"user {user_id} has no access to account {account_id}",
                    details={"user_id": user_id, "account_id": account_id},
                )
            await uow.commit()

    async def grant(self, principal: Principal, user_id: UserId, account_id: AccountId) -> None:
        if not principal.is_admin:
            raise PermissionDenied("only an admin may grant account access")
        async with self._uow() as uow:
            await visible_account(uow, principal, account_id)
            if await uow.users.get(user_id) is None:
                raise NotFound(f"user {user_id} not found")
            await uow.users.grant(user_id, account_id)
            await uow.commit()

    async def get_account(self, principal: Principal, account_id: AccountId) -> Account:
        async with self._uow() as uow:
            return await visible_account(uow, principal, account_id)

    async def list_accounts(self, principal: Principal) -> list[Account]:
        async with self._uow() as uow:
            accounts = await uow.accounts.list(AccountScope.of(principal))
            return [a for a in accounts if not a.is_removed]

    async def margins(self, principal: Principal, account_id: AccountId) -> list[SegmentMargins]:
        """Return the account's funds as the broker reports them now."""
        account = await self.get_account(principal, account_id)
        return await self._broker.margins(session_for(account, self._clock.now()))
