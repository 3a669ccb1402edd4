"""The broker login: a redirect bound to the user who asked, and a callback that trusts only that.

``start`` issues a one-time state for (the signed-in user, an account they may act on) and sends
it through the broker's login page; ``complete`` accepts a request token only with a live,
unspent state, spends it before any broker call (so an outsider's flood of callbacks costs the
account no rate budget), and stores the session only if the broker says it is the account's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from order_service.domain.account import Account, Principal
from order_service.domain.ids import AccountId
from order_service.domain.login import LoginState, hash_login_state, new_login_state
from order_service.errors import (
    BROKER_REFUSALS,
    AuthenticationError,
    AuthenticationRequired,
    DataFormatError,
    NotFound,
    OrderServiceError,
    PermissionDenied,
    ValidationError,
)
from order_service.services.access import visible_account
from order_service.services.instruments import InstrumentService
from order_service.services.ports import Broker, Clock, SessionGrant, UnitOfWorkFactory
from order_service.services.startup import StartupReconciliation

_INSTRUMENTS_UNREAD: tuple[type[OrderServiceError], ...] = (*BROKER_REFUSALS, DataFormatError)

_MAX_STATE = 128


def _refused() -> AuthenticationRequired:
    return AuthenticationRequired(
        "this login is unknown, expired or already used; get a new link from "
        "POST /api/v1/accounts/{account_id}/login-link"
    )


@dataclass(frozen=True, slots=True)
class LoginLink:
    """The broker's login page for one account, usable once, until ``expires_at``.

    A newer link for the same user and account replaces it.
    """

    url: str
    expires_at: datetime


class LoginService:
    """Starts and completes the broker login of an account."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        broker: Broker,
        clock: Clock,
        startup: StartupReconciliation,
        instruments: InstrumentService | None = None,
    ) -> None:
        self._uow = uow_factory
        self._broker = broker
        self._clock = clock
        self._startup = startup
        self._instruments = instruments

    async def start(self, principal: Principal, account_id: AccountId) -> LoginLink:
        """Return the broker's login page for this account, carrying a fresh one-time state."""
        state = new_login_state()
        async with self._uow() as uow:
            account = await visible_account(uow, principal, account_id)
            pending = LoginState.issue(state, account_id, principal.user_id, self._clock.now())
            await uow.login_states.add(pending)
            await uow.commit()
        url = self._broker.login_url(account.api_key, {"state": state})
        return LoginLink(url, pending.expires_at)

    async def complete(self, state: str | None, request_token: str | None) -> Account:
        """Exchange the request token for a session of the account the state was issued for."""
        pending = await self._spend(state)
        if not request_token:
            raise ValidationError("the callback has no request_token", field="request_token")
        account = await self._account_for(pending)
        grant = await self._exchange(account, request_token)
        if grant.broker_user_id != account.account_id:
            raise PermissionDenied(
                f"the broker session is not account {account.account_id}'s; log in with that "
                "account's own Kite credentials",
                details={"account_id": account.account_id},
            )
        stored = await self._store(account.account_id, grant)
        await self._reconcile(stored)
        await self._load_instruments(stored)
        return stored

    async def _load_instruments(self, account: Account) -> None:
        """The day's first login can read the day's instruments: read them now if they are due,
        so orders are checked from the first one; else the instruments worker will."""
        if self._instruments is None:
            return
        try:
            await self._instruments.follow()
            if self._instruments.is_due():
                await self._instruments.refresh(account)
        except _INSTRUMENTS_UNREAD:
            return  # the login stands; the instruments worker reads the list, and says why not

    async def _reconcile(self, account: Account) -> None:
        """Reconcile the books now, so the account takes orders at once; else the worker will."""
        try:
            await self._startup.run(account.account_id)
        except BROKER_REFUSALS:
            return  # the hold stays: the startup worker retries, placements wait or are refused
        account.reconcile_since = None

    async def _spend(self, state: str | None) -> LoginState:
        if not state or len(state) > _MAX_STATE:
            raise _refused()
        async with self._uow() as uow:
            pending = await uow.login_states.get(hash_login_state(state))
            if pending is None:
                raise _refused()
            await uow.login_states.spend(pending, _refused())
            await uow.commit()
        if not pending.is_live(self._clock.now()):
            raise _refused()
        return pending

    async def _account_for(self, pending: LoginState) -> Account:
        """The state's account, if the user who asked may still act on it."""
        async with self._uow() as uow:
            principal = await uow.users.get(pending.user_id)
            if principal is None:
                raise _refused()
            try:
                return await visible_account(uow, principal, pending.account_id)
            except NotFound as exc:
                raise _refused() from exc

    async def _exchange(self, account: Account, request_token: str) -> SessionGrant:
        try:
            return await self._broker.create_session(
                account.account_id, account.api_key, account.api_secret, request_token
            )
        except AuthenticationError as exc:  # a used, expired or forged request token
            raise ValidationError(
                "the broker refused the request token; log in again",
                field="request_token",
                details=exc.details,
            ) from exc

    async def _store(self, account_id: AccountId, grant: SessionGrant) -> Account:
        async with self._uow() as uow:
            account = await uow.accounts.get(account_id)
            if account is None or account.is_removed:  # removed during the login
                raise _refused()
            account.start_session(grant.access_token, grant.login_at)
            await uow.accounts.save(account)
            await uow.commit()
        return account
