"""Accounts and principals: Kite's 06:00 IST token expiry, live sessions, who may act."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from order_service.domain.account import (
    IST,
    Principal,
    Role,
    SessionState,
    access_token_expiry,
)
from order_service.domain.ids import AccountId, UserId
from tests.factories import ACCOUNT, NOW, make_account


@pytest.mark.parametrize(
    ("login_at", "expires_at"),
    [
        # 09:30 IST: the token lives until 06:00 IST the next morning.
        (datetime(2026, 11, 30, 4, 0, tzinfo=UTC), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
        # 05:59 IST: it dies one minute later, the same morning.
        (datetime(2026, 11, 30, 0, 29, tzinfo=UTC), datetime(2026, 11, 30, 6, 0, tzinfo=IST)),
        # 06:00 IST sharp: a fresh token, valid for a whole day.
        (datetime(2026, 11, 30, 0, 30, tzinfo=UTC), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
        # 23:00 IST on the 30th is 17:30 UTC: the next IST day's 06:00.
        (datetime(2026, 11, 30, 17, 30, tzinfo=UTC), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
        # 01:00 IST on Dec 1st is still Nov 30th in UTC.
        (datetime(2026, 11, 30, 19, 30, tzinfo=UTC), datetime(2026, 12, 1, 6, 0, tzinfo=IST)),
    ],
)
def test_a_token_expires_at_the_next_0600_ist(login_at: datetime, expires_at: datetime) -> None:
    expiry = access_token_expiry(login_at)
    assert expiry == expires_at
    assert expiry.tzinfo is not None
    assert expiry.tzinfo is UTC  # as every instant is stored and answered


def test_a_new_account_needs_a_login() -> None:
    account = make_account()
    assert account.session_state is SessionState.LOGIN_REQUIRED
    assert not account.has_live_session(NOW)


def test_a_started_session_is_live_until_0600_ist() -> None:
    account = make_account()
    account.start_session("token", NOW)
    expiry = datetime(2026, 12, 1, 0, 30, tzinfo=UTC)
    assert account.has_live_session(NOW)
    assert account.has_live_session(expiry - timedelta(seconds=1))
    assert not account.has_live_session(expiry)


def test_requiring_a_login_drops_the_token() -> None:
    account = make_account()
    account.start_session("token", NOW)
    account.require_login()
    assert account.access_token is None
    assert account.session_state is SessionState.LOGIN_REQUIRED
    assert not account.has_live_session(NOW)


def test_an_active_state_without_a_token_is_not_live() -> None:
    account = make_account(session_state=SessionState.ACTIVE, token_expires_at=NOW + timedelta(1))
    assert not account.has_live_session(NOW)


def test_a_trader_acts_only_on_granted_accounts_and_an_admin_on_all() -> None:
    trader = Principal(UserId("U1"), "t", frozenset({Role.TRADER}), frozenset({ACCOUNT}))
    admin = Principal(UserId("U2"), "a", frozenset({Role.ADMIN}))
    assert trader.can_act_on(ACCOUNT)
    assert not trader.can_act_on(AccountId("PAPER2"))
    assert not trader.is_admin
    assert admin.can_act_on(AccountId("PAPER2"))
