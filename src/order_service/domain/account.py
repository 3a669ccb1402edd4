"""Trading accounts, their broker sessions, strategies and the users who act on them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from order_service.domain.control import ControlMode
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId
from order_service.errors import Conflict

IST = ZoneInfo("Asia/Kolkata")
TOKEN_EXPIRY_TIME = time(6, 0)  # Kite access tokens expire at 06:00 IST (regulatory)
DEFAULT_STRATEGY_NAME = "default"


class SessionState(StrEnum):
    ACTIVE = "active"
    LOGIN_REQUIRED = "login_required"


class Role(StrEnum):
    TRADER = "trader"
    ADMIN = "admin"


def access_token_expiry(login_at: datetime) -> datetime:
    """Return when a token issued at ``login_at`` expires: the next 06:00 IST, in UTC (as
    every instant is stored and answered, whoever reads it and however)."""
    local = login_at.astimezone(IST)
    expiry = datetime.combine(local.date(), TOKEN_EXPIRY_TIME, tzinfo=IST)
    if local >= expiry:
        expiry += timedelta(days=1)
    return expiry.astimezone(UTC)


@dataclass(slots=True)
class Account:
    """One Kite trading account, addressed by its broker user id (``AB1234``)."""

    account_id: AccountId
    api_key: str
    api_secret: str
    created_at: datetime
    access_token: str | None = None
    token_expires_at: datetime | None = None
    session_state: SessionState = SessionState.LOGIN_REQUIRED
    name: str = ""
    removed_at: datetime | None = None
    # Set when the account's books must be reconciled with the broker before it takes new
    # orders (a new session, a process taking over its background work); None once done.
    reconcile_since: datetime | None = None
    # Who trades the account scope (read with the row; only a handoff writes it).
    control_mode: ControlMode = ControlMode.MANUAL

    @property
    def is_removed(self) -> bool:
        return self.removed_at is not None

    def has_live_session(self, now: datetime) -> bool:
        return (
            self.session_state is SessionState.ACTIVE
            and self.access_token is not None
            and self.token_expires_at is not None
            and now < self.token_expires_at
        )

    def start_session(self, access_token: str, login_at: datetime) -> None:
        self.access_token = access_token
        self.token_expires_at = access_token_expiry(login_at)
        self.session_state = SessionState.ACTIVE
        self.reconcile_since = login_at  # orders may have changed while we had no session

    def remove(self, at: datetime) -> None:
        """Hide the account and forget its session; its orders keep their history."""
        self.removed_at = at
        self.require_login()

    def restore(self, api_key: str, api_secret: str, name: str) -> None:
        self.api_key, self.api_secret, self.name = api_key, api_secret, name
        self.removed_at = None

    def require_login(self) -> None:
        self.access_token = None
        self.session_state = SessionState.LOGIN_REQUIRED


@dataclass(frozen=True, slots=True)
class Strategy:
    """A named owner of orders inside one account; each account has one default strategy.

    The default strategy holds what no other does (orders placed without a strategy, external
    orders, orphaned positions), so it can never be archived or deleted. An archived strategy
    takes no new orders; a deleted one is hidden, its orders and fills keep referring to it.
    """

    strategy_id: StrategyId
    account_id: AccountId
    name: str
    is_default: bool
    created_at: datetime
    archived_at: datetime | None = None
    deleted_at: datetime | None = None
    # Set by a handoff of this strategy's scope; until then it follows ``strategy_mode``.
    control_mode: ControlMode | None = None

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def renamed(self, name: str) -> Strategy:
        return replace(self, name=name)

    def archived(self, at: datetime) -> Strategy:
        """Return the strategy archived (since ``at``, or since it was archived before)."""
        self._refuse_if_default("archived")
        return self if self.is_archived else replace(self, archived_at=at)

    def restored(self) -> Strategy:
        return replace(self, archived_at=None)

    def deleted(self, at: datetime) -> Strategy:
        self._refuse_if_default("deleted")
        return replace(self, deleted_at=at)

    def check_takes_orders(self) -> None:
        """Refuse new orders for an archived strategy (``Conflict``, with the reason)."""
        if self.is_archived:
            raise Conflict(
                f"strategy {self.strategy_id} is archived and takes no new orders",
                details={"strategy_id": self.strategy_id, "reason": "archived"},
            )

    def _refuse_if_default(self, change: str) -> None:
        if self.is_default:
            raise Conflict(
                f"strategy {self.strategy_id} is its account's default strategy and cannot be"
                f" {change}: it holds the orders placed without a strategy and external orders",
                details={"strategy_id": self.strategy_id, "reason": "default"},
            )


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: a user, its roles and the accounts it may act on."""

    user_id: UserId
    name: str
    roles: frozenset[Role] = field(default_factory=frozenset)
    account_ids: frozenset[AccountId] = field(default_factory=frozenset)
    # Set when the caller used an API key bound to a strategy: a script, trading only for it.
    strategy_id: StrategyId | None = None

    @property
    def is_admin(self) -> bool:
        return Role.ADMIN in self.roles

    @property
    def is_script(self) -> bool:
        return self.strategy_id is not None

    def can_act_on(self, account_id: AccountId) -> bool:
        return self.is_admin or account_id in self.account_ids


@dataclass(frozen=True, slots=True)
class AccountScope:
    """The accounts a query may read: always stated, never defaulted to everything.

    ``of(principal)`` is a caller's own accounts (every account for an admin); ``EVERY_ACCOUNT``
    is for the service's own work (workers, readiness), spelled out where it is used.
    """

    account_ids: frozenset[AccountId] | None

    @classmethod
    def of(cls, principal: Principal) -> AccountScope:
        return EVERY_ACCOUNT if principal.is_admin else cls(principal.account_ids)

    def includes(self, account_id: AccountId) -> bool:
        return self.account_ids is None or account_id in self.account_ids


EVERY_ACCOUNT = AccountScope(None)


@dataclass(frozen=True, slots=True)
class UserInfo:
    """What an operator sees of a user: who, with which roles, since when (no key, no grant)."""

    user_id: UserId
    name: str
    roles: frozenset[Role]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ApiKeyInfo:
    """What a user may see of one of their API keys (never the key itself)."""

    key_id: ApiKeyId
    user_id: UserId
    created_at: datetime
    revoked_at: datetime | None = None
    strategy_id: StrategyId | None = None  # the strategy the key's orders go to, if bound
