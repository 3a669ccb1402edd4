"""The control-mode check of an order already stored: a modification is checked as a placement."""

from __future__ import annotations

from order_service.domain.account import Account, Principal
from order_service.domain.control import check_origin, scope_mode, strategy_mode
from order_service.domain.ids import StrategyId
from order_service.domain.order import OrderOrigin
from order_service.services.ports import UnitOfWork


def origin_of(principal: Principal) -> OrderOrigin:
    """A key bound to a strategy decides as a script; anyone else as a person."""
    return OrderOrigin.SCRIPT if principal.is_script else OrderOrigin.MANUAL


async def check_may_trade(
    uow: UnitOfWork,
    principal: Principal,
    account: Account,
    strategy_id: StrategyId | None,
    force: bool,
) -> None:
    """Refuse the principal trading the strategy's scope in its mode (``OWNERSHIP_CONFLICT``)."""
    strategy = await uow.strategies.get(strategy_id) if strategy_id is not None else None
    own = strategy_mode(strategy.control_mode, strategy.is_default) if strategy else None
    check_origin(scope_mode(account.control_mode, own), origin_of(principal), force)
