"""The broker login's one-time state: who asked to log which account in, and until when.

The login callback is reached by a browser redirect, with no bearer token. What makes it safe
is the ``state`` we hand to the broker's login page (Kite echoes ``redirect_params`` back): it is
random, bound to the user and the account that asked, usable once, and short-lived. Only its
hash is stored, so a database read does not yield a usable state.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from order_service.domain.ids import AccountId, UserId

LOGIN_STATE_LIFETIME = timedelta(minutes=10)


def new_login_state() -> str:
    """Return a fresh state value (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def hash_login_state(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class LoginState:
    """One pending login: created by ``GET /accounts/{id}/login``, spent by the callback."""

    state_hash: str
    account_id: AccountId
    user_id: UserId
    created_at: datetime
    expires_at: datetime

    @classmethod
    def issue(cls, state: str, account_id: AccountId, user_id: UserId, now: datetime) -> LoginState:
        return cls(hash_login_state(state), account_id, user_id, now, now + LOGIN_STATE_LIFETIME)

    def is_live(self, now: datetime) -> bool:
        return now < self.expires_at
