"""Users of the paper broker and their Kite Connect sessions (request and access tokens)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from .clock import next_token_expiry
from .errors import INVALID_SESSION, InputError, TokenError

REQUEST_TOKEN_SECONDS = 300
EXPIRED_TOKEN = "Token is invalid or has expired."  # noqa: S105 - a message, not a secret


@dataclass(frozen=True, slots=True)
class User:
    user_id: str
    api_key: str
    api_secret: str
    funds: Decimal
    redirect_url: str
    user_name: str = "Paper Trader"
    email: str = "paper@example.com"
    postback_url: str | None = None


@dataclass(frozen=True, slots=True)
class Session:
    user_id: str
    api_key: str
    access_token: str
    public_token: str
    enctoken: str
    login_time: datetime
    expires_at: float


class Sessions:
    """Who may call: request tokens are single-use; access tokens die at 06:00 IST.

    `revision` moves with every change of the three tables, for the journal to notice.
    """

    def __init__(self) -> None:
        self.users: dict[str, User] = {}
        self.request_tokens: dict[str, tuple[str, float]] = {}
        self.access: dict[str, Session] = {}
        self.revision = 0

    def add_user(self, user: User) -> None:
        if user.user_id in self.users:
            raise InputError(f"User {user.user_id} already exists.")
        self.users[user.user_id] = user
        self.revision += 1

    def replace_user(self, user: User) -> None:
        """Swap a user's settings (URLs); keys and books stay."""
        self.users[user.user_id] = user
        self.revision += 1

    def user_for_key(self, api_key: str, user_id: str | None = None) -> User:
        for user in self.users.values():
            if user.api_key == api_key and user_id in (None, user.user_id):
                return user
        raise InputError("Invalid `api_key`.")

    def issue_request_token(self, user: User, now: float) -> str:
        token = secrets.token_hex(16)
        self.request_tokens[token] = (user.user_id, now + REQUEST_TOKEN_SECONDS)
        self.revision += 1
        return token

    def exchange(self, api_key: str, request_token: str, checksum: str, now: datetime) -> Session:
        """Swap a request token for an access token, checking Kite's SHA-256 checksum."""
        entry = self.request_tokens.get(request_token)
        if entry is None or entry[1] < now.timestamp():
            raise TokenError(EXPIRED_TOKEN)
        user = self.users[entry[0]]
        if user.api_key != api_key:
            raise TokenError("Invalid `api_key`.")
        expected = hashlib.sha256((api_key + request_token + user.api_secret).encode()).hexdigest()
        if not hmac.compare_digest(expected, checksum.lower()):
            raise TokenError("Invalid `checksum`.")
        del self.request_tokens[request_token]
        return self._open(user, now)

    def _open(self, user: User, now: datetime) -> Session:
        session = Session(
            user_id=user.user_id,
            api_key=user.api_key,
            access_token=secrets.token_hex(16),
            public_token=secrets.token_hex(16),
            enctoken=secrets.token_urlsafe(48),
            login_time=now,
            expires_at=next_token_expiry(now).timestamp(),
        )
        self.access[session.access_token] = session
        self.revision += 1
        return session

    def authenticate(self, header: str | None, now: float) -> Session:
        """The session behind `Authorization: token api_key:access_token`, or TokenError."""
        if not header or not header.startswith("token "):
            raise TokenError(INVALID_SESSION)
        api_key, _, access_token = header[6:].strip().partition(":")
        session = self.access.get(access_token)
        if session is None or session.api_key != api_key:
            raise TokenError(INVALID_SESSION)
        if session.expires_at <= now:
            del self.access[access_token]
            self.revision += 1
            raise TokenError(INVALID_SESSION)
        return session

    def invalidate(self, api_key: str, access_token: str) -> None:
        session = self.access.get(access_token)
        if session is not None and session.api_key == api_key:
            del self.access[access_token]
            self.revision += 1

    def revoke_user(self, user_id: str) -> None:
        for token, session in list(self.access.items()):
            if session.user_id == user_id:
                del self.access[token]
                self.revision += 1
