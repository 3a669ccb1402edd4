"""The order event feed: a caller's events (only their accounts'), in commit order."""

from __future__ import annotations

from dataclasses import dataclass, replace

from order_service.domain.account import AccountScope, Principal
from order_service.domain.feed import FeedEvent, TypeFilter
from order_service.domain.ids import AccountId, OrderId
from order_service.services.access import visible_account, visible_order
from order_service.services.ports import FeedQuery, UnitOfWorkFactory

EVERY_TYPE = TypeFilter(None)


@dataclass(frozen=True, slots=True)
class FeedFilter:
    """What a caller asks of the feed; the service adds the scope it may see."""

    after: int = 0
    limit: int = 100
    account_id: AccountId | None = None
    order_id: OrderId | None = None
    types: TypeFilter = EVERY_TYPE


class OrderFeedService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def query_for(self, principal: Principal, wanted: FeedFilter) -> FeedQuery:
        """Return the query of ``wanted`` within the caller's accounts; another user's account
        or order is ``NotFound``."""
        async with self._uow_factory() as uow:
            if wanted.account_id is not None:
                await visible_account(uow, principal, wanted.account_id)
            if wanted.order_id is not None:
                await visible_order(uow, principal, wanted.order_id)
            fresh = await uow.users.get(principal.user_id)
        scope = AccountScope.of(fresh if fresh is not None else principal)
        return FeedQuery(
            scope=scope,
            after=wanted.after,
            limit=wanted.limit,
            account_id=wanted.account_id,
            order_id=wanted.order_id,
            names=wanted.types.names,
        )

    async def page(self, principal: Principal, wanted: FeedFilter) -> list[FeedEvent]:
        """Return the caller's events after ``wanted.after``, oldest first."""
        return await self.read(await self.query_for(principal, wanted))

    async def read(self, query: FeedQuery) -> list[FeedEvent]:
        async with self._uow_factory() as uow:
            return await uow.feed.page(query)

    async def read_until(self, query: FeedQuery, until: int) -> list[FeedEvent]:
        """Return a page of ``query`` that stops at the feed sequence ``until``."""
        return await self.read(replace(query, until=until))

    async def last_sequence(self) -> int:
        async with self._uow_factory() as uow:
            return await uow.feed.last_sequence()
