"""The kill switch's scopes: who may engage or release which halt, and what a halt stops."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from order_service.domain.account import Principal, Role
from order_service.domain.halt import (
    EVERYTHING,
    Halt,
    HaltKind,
    HaltScope,
    check_may_engage,
    check_may_release,
    resolve,
)
from order_service.domain.ids import AccountId, StrategyId, UserId
from order_service.errors import PermissionDenied, TradingHalted

AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
OWN, OTHER = AccountId("AB1234"), AccountId("CD5678")
TRADER = Principal(UserId("U1"), "t", frozenset({Role.TRADER}), frozenset({OWN}))
SCRIPT = Principal(UserId("U1"), "s", frozenset({Role.TRADER}), frozenset({OWN}), StrategyId("S1"))
ADMIN = Principal(UserId("A1"), "a", frozenset({Role.ADMIN}))


def halt(scope: HaltScope, *, by_admin: bool = False) -> Halt:
    return Halt(scope, UserId("A1" if by_admin else "U1"), AT, by_admin)


def test_a_request_names_an_account_a_user_or_everything() -> None:
    assert HaltScope.of(OWN, None) == HaltScope(HaltKind.ACCOUNT, OWN)
    assert HaltScope.of(None, UserId("U1")) == HaltScope(HaltKind.USER, "U1")
    assert HaltScope.of(None, None) is EVERYTHING
    with pytest.raises(ValueError, match="not both"):
        HaltScope.of(OWN, UserId("U1"))


@pytest.mark.parametrize("scope", [EVERYTHING, HaltScope(HaltKind.USER, "U2")])
def test_a_trader_may_not_halt_everything_or_another_user(scope: HaltScope) -> None:
    with pytest.raises(PermissionDenied) as refused:
        check_may_engage(TRADER, scope)
    assert refused.value.code == "FORBIDDEN"
    check_may_engage(ADMIN, scope)  # an admin may


@pytest.mark.parametrize("who", [TRADER, SCRIPT])
def test_a_trader_or_its_script_may_halt_its_own_user_and_accounts(who: Principal) -> None:
    check_may_engage(who, HaltScope(HaltKind.USER, "U1"))
    check_may_engage(who, HaltScope(HaltKind.ACCOUNT, OWN))


def test_a_trader_may_not_release_an_admins_halt_even_on_its_own_account() -> None:
    for scope in (EVERYTHING, HaltScope(HaltKind.ACCOUNT, OWN), HaltScope(HaltKind.USER, "U1")):
        with pytest.raises(PermissionDenied):
            check_may_release(TRADER, halt(scope, by_admin=True))
        check_may_release(ADMIN, halt(scope, by_admin=True))


def test_a_trader_releases_its_own_halt_and_a_script_releases_none() -> None:
    own = halt(HaltScope(HaltKind.ACCOUNT, OWN))
    check_may_release(TRADER, own)
    with pytest.raises(PermissionDenied):
        check_may_release(SCRIPT, own)


def test_a_trader_may_not_release_another_users_halt() -> None:
    with pytest.raises(PermissionDenied):
        check_may_release(TRADER, halt(HaltScope(HaltKind.USER, "U2")))


def test_an_account_halt_stops_that_account_alone() -> None:
    view = resolve([halt(HaltScope(HaltKind.ACCOUNT, OWN))], {})
    with pytest.raises(TradingHalted) as refused:
        view.refuse(UserId("U9"), OWN)
    assert refused.value.code == "TRADING_HALTED"
    assert isinstance(refused.value, PermissionDenied)
    assert refused.value.details == {"account_id": OWN, "scope": "account", "key": OWN}
    view.refuse(UserId("U9"), OTHER)


def test_a_user_halt_stops_every_account_of_the_user_for_every_caller() -> None:
    view = resolve([halt(HaltScope(HaltKind.USER, "U1"))], {UserId("U1"): frozenset({OWN})})
    with pytest.raises(TradingHalted):
        view.refuse(UserId("U7"), OWN)  # another user sharing the account
    with pytest.raises(TradingHalted):
        view.refuse(UserId("U1"), OTHER)  # the halted user, on an account granted since
    view.refuse(UserId("U7"), OTHER)


def test_halting_everything_stops_every_account() -> None:
    view = resolve([halt(EVERYTHING, by_admin=True)], {})
    for account_id in (OWN, OTHER):
        with pytest.raises(TradingHalted) as refused:
            view.refuse(UserId("U1"), account_id)
        assert refused.value.details["scope"] == "everything"


def test_no_halt_stops_nothing() -> None:
    view = resolve([], {UserId("U1"): frozenset({OWN})})
    assert view.halt_for(UserId("U1"), OWN) is None
