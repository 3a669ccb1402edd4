"""The risk limits of accounts and strategies: read by whoever may see the scope, changed by
admins (or, when configuration allows it, by the account's owner), every change an account
event naming who changed what, and when."""

from __future__ import annotations

from dataclasses import dataclass

from order_service.domain.account import Principal
from order_service.domain.account_events import AccountEvent
from order_service.domain.ids import AccountId, StrategyId
from order_service.domain.risk import NO_LIMITS, RiskLimits, RiskScope
from order_service.errors import NotFound, PermissionDenied
from order_service.services.access import visible_account
from order_service.services.ports import Clock, UnitOfWork, UnitOfWorkFactory
from order_service.services.risk import LimitsCache

# An account event: the limits of one of its scopes (itself or one of its strategies) changed.
RISK_LIMITS_CHANGED = "RiskLimitsChanged"


@dataclass(frozen=True, slots=True)
class ScopedLimits:
    """A scope's limits as stored (unset ones None) and the account the scope belongs to."""

    scope: RiskScope
    scope_id: str
    account_id: AccountId
    limits: RiskLimits


class RiskLimitService:
    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        clock: Clock,
        owners_may_set: bool,
        cache: LimitsCache | None = None,
    ) -> None:
        self._uow = uow_factory
        self._clock = clock
        self._owners_may_set = owners_may_set
        self._cache = cache  # the checks' copy of the stored limits, dropped on each change

    async def get_limits(
        self, principal: Principal, scope: RiskScope, scope_id: str
    ) -> ScopedLimits:
        """The scope's stored limits (none set: every one None); another user's is NOT_FOUND."""
        async with self._uow() as uow:
            account_id = await _account_of(uow, principal, scope, scope_id)
            stored = await uow.risk_limits.get(scope, scope_id)
        return ScopedLimits(scope, scope_id, account_id, stored or NO_LIMITS)

    async def set_limits(
        self, principal: Principal, scope: RiskScope, scope_id: str, limits: RiskLimits
    ) -> ScopedLimits:
        """Replace the scope's limits and record the change as an account event."""
        async with self._uow() as uow:
            account_id = await _account_of(uow, principal, scope, scope_id)
            self._check_may_set(principal)
            previous = await uow.risk_limits.get(scope, scope_id) or NO_LIMITS
            now = self._clock.now()
            await uow.risk_limits.put(scope, scope_id, account_id, limits, now, principal.user_id)
            await uow.account_events.add(
                AccountEvent(account_id, RISK_LIMITS_CHANGED, {
                    "scope": scope.value, "scope_id": scope_id, "by": principal.user_id,
                    "limits": limits.as_dict(), "previous": previous.as_dict(),
                }, now)
            )  # fmt: skip
            await uow.commit()
        if self._cache is not None:
            self._cache.forget()
        return ScopedLimits(scope, scope_id, account_id, limits)

    def _check_may_set(self, principal: Principal) -> None:
        if principal.is_admin:
            return
        if not self._owners_may_set or principal.is_script:
            raise PermissionDenied(
                "only an admin may change risk limits"
                if not self._owners_may_set
                else "a strategy's API key may not change risk limits",
                details={"required_role": "admin"},
            )


async def _account_of(
    uow: UnitOfWork, principal: Principal, scope: RiskScope, scope_id: str
) -> AccountId:
    """The account of the scope, if the principal may see it; else ``NotFound``."""
    if scope is RiskScope.ACCOUNT:
        return (await visible_account(uow, principal, AccountId(scope_id))).account_id
    strategy = await uow.strategies.get(StrategyId(scope_id))
    if strategy is None or strategy.is_deleted:
        raise NotFound(f"strategy {scope_id} not found", details={"strategy_id": scope_id})
    try:
        await visible_account(uow, principal, strategy.account_id)
    except NotFound as exc:
        raise NotFound(f"strategy {scope_id} not found", details={"strategy_id": scope_id}) from exc
    return strategy.account_id
