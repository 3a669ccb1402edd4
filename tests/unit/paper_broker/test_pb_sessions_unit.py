"""Request tokens, checksums and access-token expiry."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from paper_broker.clock import IST
from paper_broker.errors import InputError, TokenError
from paper_broker.sessions import REQUEST_TOKEN_SECONDS, Sessions, User

NOW = datetime(2026, 12, 7, 10, 0, tzinfo=IST)


@pytest.fixture
def sessions() -> Sessions:
    sessions = Sessions()
    sessions.add_user(User("U1", "key", "secret", Decimal(1), "http://x/cb"))
    return sessions


def checksum(token: str) -> str:
    return hashlib.sha256(f"key{token}secret".encode()).hexdigest()


def test_a_request_token_becomes_an_access_token_once(sessions: Sessions) -> None:
    token = sessions.issue_request_token(sessions.users["U1"], NOW.timestamp())

    session = sessions.exchange("key", token, checksum(token), NOW)

    assert session.expires_at == datetime(2026, 12, 8, 6, 0, tzinfo=IST).timestamp()
    assert sessions.authenticate(f"token key:{session.access_token}", NOW.timestamp()) == session
    with pytest.raises(TokenError, match="invalid or has expired"):
        sessions.exchange("key", token, checksum(token), NOW)


def test_request_tokens_expire(sessions: Sessions) -> None:
    token = sessions.issue_request_token(sessions.users["U1"], NOW.timestamp())
    later = NOW + timedelta(seconds=REQUEST_TOKEN_SECONDS + 1)

    with pytest.raises(TokenError):
        sessions.exchange("key", token, checksum(token), later)


def test_a_bad_checksum_keeps_the_request_token(sessions: Sessions) -> None:
    token = sessions.issue_request_token(sessions.users["U1"], NOW.timestamp())

    with pytest.raises(TokenError, match="checksum"):
        sessions.exchange("key", token, "0" * 64, NOW)
    assert sessions.exchange("key", token, checksum(token), NOW).user_id == "U1"


def test_access_tokens_die_at_six(sessions: Sessions) -> None:
    token = sessions.issue_request_token(sessions.users["U1"], NOW.timestamp())
    session = sessions.exchange("key", token, checksum(token), NOW)
    header = f"token key:{session.access_token}"

    with pytest.raises(TokenError):
        sessions.authenticate(header, session.expires_at)
    with pytest.raises(TokenError):
        sessions.authenticate(header, NOW.timestamp())


def test_revoking_a_user_ends_all_their_sessions(sessions: Sessions) -> None:
    tokens = []
    for _ in range(2):
        request_token = sessions.issue_request_token(sessions.users["U1"], NOW.timestamp())
        tokens.append(sessions.exchange("key", request_token, checksum(request_token), NOW))

    sessions.revoke_user("U1")

    assert sessions.access == {}


def test_users_are_found_by_api_key(sessions: Sessions) -> None:
    sessions.add_user(User("U2", "key", "other", Decimal(1), "http://y/cb"))

    assert sessions.user_for_key("key").user_id == "U1"
    assert sessions.user_for_key("key", "U2").user_id == "U2"
    with pytest.raises(InputError):
        sessions.user_for_key("nope")
    with pytest.raises(InputError, match="already exists"):
        sessions.add_user(User("U2", "k", "s", Decimal(1), "http://z/cb"))
