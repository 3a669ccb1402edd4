"""The lines of the books: whose figures (a book key) and the portfolio roll-up.

A position is one strategy's (or one account's); a portfolio's positions are its strategies',
and its P&L their sum, since a position is per strategy (DESIGN.md section 8): a strategy in
two portfolios counts in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import StrEnum

from order_service.domain.charges import Charges
from order_service.domain.ids import AccountId, PortfolioId, StrategyId
from order_service.domain.pnl import PnlFigures
from order_service.domain.portfolio import Portfolio
from order_service.domain.position import PositionPair


class GroupBy(StrEnum):
    ACCOUNT = "account"
    STRATEGY = "strategy"
    PORTFOLIO = "portfolio"


@dataclass(frozen=True, slots=True)
class BookKey:
    """Whose figures: an account's, one of its strategies' (``strategy_id`` set), or a
    portfolio's (``portfolio_id`` set: with a strategy for its positions, alone for its P&L,
    which spans accounts)."""

    account_id: AccountId | None
    strategy_id: StrategyId | None = None
    portfolio_id: PortfolioId | None = None


@dataclass(frozen=True, slots=True)
class PositionLine:
    key: BookKey
    pair: PositionPair


@dataclass(frozen=True, slots=True)
class PnlLine:
    key: BookKey
    figures: PnlFigures
    charges: Charges

    @property
    def net(self) -> Decimal:
        return self.figures.gross - self.charges.total


def portfolio_positions(
    lines: list[PositionLine], portfolios: Sequence[Portfolio]
) -> list[PositionLine]:
    """Each portfolio's strategies' positions, under the portfolio's key."""
    return [
        PositionLine(replace(line.key, portfolio_id=portfolio.portfolio_id), line.pair)
        for portfolio in portfolios
        for line in lines
        if line.key.strategy_id in portfolio.strategy_ids
    ]


def portfolio_pnl(lines: list[PnlLine], portfolios: Sequence[Portfolio]) -> list[PnlLine]:
    """Sum each portfolio's strategies' lines (figures and charges); one line per portfolio."""
    rolled: list[PnlLine] = []
    for portfolio in portfolios:
        held = [line for line in lines if line.key.strategy_id in portfolio.strategy_ids]
        if not held:
            continue
        figures, charges = held[0].figures, held[0].charges
        for line in held[1:]:
            figures, charges = added(figures, line.figures), charges + line.charges
        rolled.append(PnlLine(BookKey(None, None, portfolio.portfolio_id), figures, charges))
    return rolled


def added(left: PnlFigures, right: PnlFigures) -> PnlFigures:
    return PnlFigures(
        realised=left.realised + right.realised,
        unrealised=left.unrealised + right.unrealised,
        open_quantity=left.open_quantity + right.open_quantity,
        mark=None,  # the marks of several instruments: each instrument's is in its position
    )
