"""The kill switch's halts: which scope is stopped, who may stop or release it, what it stops.

A halt covers one account, one user's accounts, or everything. While one covers an account,
no new order or modification is sent for it; cancels stay allowed (they reduce risk).

Who may do what, and why:

- an admin engages and releases any scope;
- a trader engages a halt on an account it may act on, or on its own user (its accounts); a
  script's key (bound to a strategy) may halt its own account too, a runaway algorithm
  stopping itself is welcome;
- a trader releases only a halt on its own scope that no admin engaged, and a script's key
  releases nothing: a halt an operator set is lifted by an operator;
- everything, and another user's scope, are for admins alone.

An account the caller may not act on is ``NotFound`` for it (elsewhere), so a halt never tells
a trader which other accounts exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from order_service.domain.account import Principal
from order_service.domain.ids import AccountId, UserId
from order_service.errors import PermissionDenied, TradingHalted


class HaltKind(StrEnum):
    ACCOUNT = "account"
    USER = "user"
    EVERYTHING = "everything"


@dataclass(frozen=True, slots=True)
class HaltScope:
    """What a halt covers; ``key`` is the account or user id, empty for everything."""

    kind: HaltKind
    key: str = ""

    @classmethod
    def of(cls, account_id: AccountId | None, user_id: UserId | None) -> HaltScope:
        """The scope a request names: an account, a user, or (neither) everything."""
        if account_id is not None and user_id is not None:
            raise ValueError("a halt names an account or a user, not both")
        if account_id is not None:
            return cls(HaltKind.ACCOUNT, account_id)
        if user_id is not None:
            return cls(HaltKind.USER, user_id)
        return EVERYTHING

    def as_details(self) -> dict[str, str]:
        return {"scope": self.kind.value, "key": self.key} if self.key else {"scope": "everything"}


EVERYTHING = HaltScope(HaltKind.EVERYTHING)


@dataclass(frozen=True, slots=True)
class Halt:
    """One engaged halt: its scope, who engaged it and when."""

    scope: HaltScope
    engaged_by: UserId
    engaged_at: datetime
    by_admin: bool


def check_may_engage(principal: Principal, scope: HaltScope) -> None:
    """Refuse a scope beyond the caller's own (an account's access is checked by the caller)."""
    if principal.is_admin or scope.kind is HaltKind.ACCOUNT:
        return
    if scope.kind is HaltKind.USER and scope.key == principal.user_id:
        return
    raise PermissionDenied(
        "only an admin may halt everything or another user's accounts", details=scope.as_details()
    )


def check_may_release(principal: Principal, halt: Halt) -> None:
    """Refuse a release of a halt an admin engaged, or by a script's key, unless an admin."""
    if principal.is_admin:
        return
    check_may_engage(principal, halt.scope)
    if principal.is_script or halt.by_admin:
        raise PermissionDenied(
            "this halt was engaged by an admin (or the key is a script's): an admin releases it",
            details=halt.scope.as_details(),
        )


@dataclass(frozen=True, slots=True)
class HaltView:
    """The halts in force, resolved to the accounts and users they stop (looked up in memory)."""

    everything: Halt | None
    accounts: dict[AccountId, Halt]
    users: dict[UserId, Halt]

    def halt_for(self, user_id: UserId, account_id: AccountId) -> Halt | None:
        """The halt that stops this user trading this account, if any."""
        return self.everything or self.accounts.get(account_id) or self.users.get(user_id)

    def refuse(self, user_id: UserId, account_id: AccountId) -> None:
        """Raise ``TradingHalted`` if a halt covers the account (or the caller's user)."""
        halt = self.halt_for(user_id, account_id)
        if halt is not None:
            raise TradingHalted(
                f"trading on account {account_id} is halted by the kill switch",
                details={"account_id": account_id, **halt.scope.as_details()},
            )


def resolve(halts: list[Halt], accounts_of: dict[UserId, frozenset[AccountId]]) -> HaltView:
    """Resolve halts to a view; a user's halt stops every account that user may act on."""
    everything = next((h for h in halts if h.scope.kind is HaltKind.EVERYTHING), None)
    accounts: dict[AccountId, Halt] = {}
    users: dict[UserId, Halt] = {}
    for halt in halts:
        if halt.scope.kind is HaltKind.ACCOUNT:
            accounts[AccountId(halt.scope.key)] = halt
        elif halt.scope.kind is HaltKind.USER:
            user = UserId(halt.scope.key)
            users[user] = halt
            for account_id in accounts_of.get(user, frozenset()):
                accounts.setdefault(account_id, halt)
    return HaltView(everything, accounts, users)
