"""Strategies and portfolios as values: what a default refuses, what archiving means."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from order_service.domain.account import EVERY_ACCOUNT, AccountScope, Strategy
from order_service.domain.ids import AccountId, PortfolioId, StrategyId, UserId
from order_service.domain.portfolio import Portfolio, PortfolioScope
from order_service.errors import Conflict

AT = datetime(2026, 11, 30, 4, 0, tzinfo=UTC)
ACCOUNT = AccountId("PAPER1")
ALICE, BOB = UserId("alice"), UserId("bob")
DEFAULT = Strategy(StrategyId("S0"), ACCOUNT, "default", True, AT)
SWING = Strategy(StrategyId("S1"), ACCOUNT, "swing", False, AT)
MINE = Portfolio(PortfolioId("P1"), "mine", ALICE, AT)
ACCOUNTS = Portfolio(PortfolioId("P0"), "default", None, AT, default_for=ACCOUNT)


@pytest.mark.parametrize("change", [lambda s: s.archived(AT), lambda s: s.deleted(AT)])
def test_the_default_strategy_is_never_archived_or_deleted(change: object) -> None:
    with pytest.raises(Conflict) as caught:
        change(DEFAULT)  # type: ignore[operator]
    assert caught.value.details == {"strategy_id": "S0", "reason": "default"}


def test_archiving_keeps_the_first_moment_and_restoring_clears_it() -> None:
    archived = SWING.archived(AT).archived(AT + timedelta(hours=1))

    assert archived.archived_at == AT
    with pytest.raises(Conflict):
        archived.check_takes_orders()
    restored = archived.restored()
    assert not restored.is_archived
    restored.check_takes_orders()


@pytest.mark.parametrize(
    "change",
    [
        lambda p: p.renamed("x"),
        lambda p: p.archived(AT),
        lambda p: p.check_regroupable(),
        lambda p: p.refuse_if_default("deleted"),
    ],
)
def test_a_default_portfolio_refuses_every_change(change: object) -> None:
    with pytest.raises(Conflict) as caught:
        change(ACCOUNTS)  # type: ignore[operator]
    assert caught.value.details["reason"] == "default"
    change(MINE)  # type: ignore[operator]  # a user's portfolio takes each


def test_an_archived_portfolio_takes_no_new_members_until_restored() -> None:
    with pytest.raises(Conflict) as caught:
        MINE.archived(AT).check_regroupable()
    assert caught.value.details["reason"] == "archived"
    MINE.archived(AT).restored().check_regroupable()


def test_a_portfolio_scope_is_its_owners_and_its_accounts_defaults() -> None:
    alice = PortfolioScope(ALICE, AccountScope(frozenset({ACCOUNT})))
    bob = PortfolioScope(BOB, AccountScope(frozenset()))
    admin = PortfolioScope(None, EVERY_ACCOUNT)

    assert alice.includes(MINE)
    assert alice.includes(ACCOUNTS)
    assert not bob.includes(MINE)
    assert not bob.includes(ACCOUNTS)
    assert admin.includes(MINE)
    assert admin.includes(ACCOUNTS)
