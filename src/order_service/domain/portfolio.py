"""Portfolios: named groups of strategies across accounts, for P&L roll-up.

A portfolio a user makes belongs to that user (admins see every one). Each account also has a
default portfolio, made with the account, which holds the account's default strategy and
nothing else: it belongs to the account, so everyone granted the account sees it, and no one
may rename, delete or regroup it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from order_service.domain.account import AccountScope
from order_service.domain.ids import AccountId, PortfolioId, StrategyId, UserId
from order_service.errors import Conflict

DEFAULT_PORTFOLIO_NAME = "default"


@dataclass(frozen=True, slots=True)
class Portfolio:
    """A named group of strategies; ``default_for`` is set only on an account's default one."""

    portfolio_id: PortfolioId
    name: str
    owner_id: UserId | None  # None for a default portfolio: it belongs to its account
    created_at: datetime
    default_for: AccountId | None = None
    archived_at: datetime | None = None
    strategy_ids: frozenset[StrategyId] = frozenset()

    @property
    def is_default(self) -> bool:
        return self.default_for is not None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    def renamed(self, name: str) -> Portfolio:
        self.refuse_if_default("renamed")
        return replace(self, name=name)

    def archived(self, at: datetime) -> Portfolio:
        self.refuse_if_default("archived")
        return self if self.is_archived else replace(self, archived_at=at)

    def restored(self) -> Portfolio:
        return replace(self, archived_at=None)

    def check_regroupable(self) -> None:
        """Refuse a change of members to a default or archived portfolio (``Conflict``)."""
        self.refuse_if_default("regrouped")
        if self.is_archived:
            raise Conflict(
                f"portfolio {self.portfolio_id} is archived; restore it to change its strategies",
                details={"portfolio_id": self.portfolio_id, "reason": "archived"},
            )

    def refuse_if_default(self, change: str) -> None:
        if self.is_default:
            raise Conflict(
                f"portfolio {self.portfolio_id} is account {self.default_for}'s default"
                f" portfolio and cannot be {change}: it holds the account's default strategy",
                details={"portfolio_id": self.portfolio_id, "reason": "default"},
            )


@dataclass(frozen=True, slots=True)
class PortfolioScope:
    """The portfolios a query may read: one user's own and the defaults of some accounts.

    ``owner_id`` None with every account is an admin's view: every portfolio.
    """

    owner_id: UserId | None
    accounts: AccountScope

    def includes(self, portfolio: Portfolio) -> bool:
        if portfolio.default_for is not None:
            return self.accounts.includes(portfolio.default_for)
        return self.owner_id is None or portfolio.owner_id == self.owner_id
