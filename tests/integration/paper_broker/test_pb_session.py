"""Login, token exchange, authentication and session expiry, through the unmodified SDK."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from kiteconnect import KiteConnect
from kiteconnect.exceptions import TokenException

from tests.moments import PAPER_CLOCK_START

if TYPE_CHECKING:
    from conftest import Paper


def test_login_redirects_at_once_with_a_request_token_and_echoes_redirect_params(
    paper: Paper,
) -> None:
    reply = paper.redirect(redirect_params="account_id=acc-42&x=1")

    assert reply.status_code == 302
    assert reply.headers["content-type"].startswith("text/html")
    location = urlsplit(reply.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        "http://127.0.0.1:8000/api/v1/accounts/login/callback"
    )
    query = parse_qs(location.query)
    assert query["action"] == ["login"]
    assert query["type"] == ["login"]
    assert query["status"] == ["success"]
    assert query["account_id"] == ["acc-42"]
    assert query["x"] == ["1"]
    assert len(query["request_token"][0]) == 32


def test_login_with_an_unknown_api_key_is_an_input_error(paper: Paper) -> None:
    reply = paper.redirect(api_key="nobody")

    assert reply.status_code == 400
    assert reply.json() == {
        "status": "error",
        "message": "Invalid `api_key`.",
        "data": None,
        "error_type": "InputException",
    }


def test_generate_session_returns_the_full_session_object(paper: Paper) -> None:
    kite = KiteConnect("paper", root=paper.url)

    session = kite.generate_session(paper.request_token(), "paper-secret")

    assert isinstance(session["login_time"], datetime)
    assert session["user_id"] == "PAPER1"
    assert session["api_key"] == "paper"
    assert kite.access_token == session["access_token"]
    for field in ("public_token", "enctoken", "refresh_token", "silo", "avatar_url"):
        assert field in session
    assert session["exchanges"]
    assert session["products"]
    assert session["order_types"]
    assert session["meta"] == {"demat_consent": "physical"}
    assert kite.profile()["user_id"] == "PAPER1"


def test_a_wrong_checksum_is_a_token_exception(paper: Paper) -> None:
    kite = KiteConnect("paper", root=paper.url)

    with pytest.raises(TokenException) as raised:
        kite.generate_session(paper.request_token(), "wrong-secret")

    assert raised.value.code == 403


def test_a_request_token_works_once(paper: Paper) -> None:
    token = paper.request_token()
    KiteConnect("paper", root=paper.url).generate_session(token, "paper-secret")

    with pytest.raises(TokenException, match="invalid or has expired") as raised:
        KiteConnect("paper", root=paper.url).generate_session(token, "paper-secret")

    assert raised.value.code == 403


def test_generate_session_ignores_a_stale_authorization_header(paper: Paper) -> None:
    kite = KiteConnect("paper", access_token="stale-token", root=paper.url)

    kite.generate_session(paper.request_token(), "paper-secret")

    assert kite.profile()["user_id"] == "PAPER1"


def test_the_checksum_is_sha256_of_key_token_and_secret(paper: Paper) -> None:
    token = paper.request_token()
    checksum = hashlib.sha256(f"paper{token}paper-secret".encode()).hexdigest()

    reply = requests.post(
        f"{paper.url}/session/token",
        data={"api_key": "paper", "request_token": token, "checksum": checksum},
        timeout=5,
    )

    assert reply.status_code == 200
    assert len(reply.json()["data"]["login_time"]) == 19


@pytest.mark.parametrize(
    "authorization",
    [None, "token paper:nope", "token other:nope", "Bearer x", "token paper"],
)
def test_calls_without_a_valid_session_are_token_exceptions(
    paper: Paper, authorization: str | None
) -> None:
    headers = {"Authorization": authorization} if authorization else {}

    reply = requests.get(f"{paper.url}/user/profile", headers=headers, timeout=5)

    assert reply.status_code == 403
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {
        "status": "error",
        "message": "Incorrect `api_key` or `access_token`.",
        "data": None,
        "error_type": "TokenException",
    }


def test_invalidate_access_token_ends_the_session(kite: KiteConnect) -> None:
    assert kite.invalidate_access_token() is True

    with pytest.raises(TokenException):
        kite.profile()


def test_tokens_expire_at_six_in_the_morning_ist(paper: Paper, kite: KiteConnect) -> None:
    calls: list[None] = []
    kite.set_session_expiry_hook(lambda: calls.append(None))
    paper.post("clock", {"set": _next_morning("05:59:50")})
    fresh = paper.login()
    assert fresh.profile()["user_id"] == "PAPER1"

    paper.post("clock", {"advance_seconds": 10})

    with pytest.raises(TokenException) as raised:
        fresh.profile()
    assert raised.value.code == 403
    with pytest.raises(TokenException):
        kite.profile()
    assert len(calls) == 1


def test_a_session_survives_until_six_the_next_morning(paper: Paper) -> None:
    paper.post("clock", {"set": _next_morning("06:00:01")})
    kite = paper.login()

    paper.post("clock", {"set": _next_morning("05:59:00", days=2)})

    assert kite.profile()["user_id"] == "PAPER1"


def test_users_added_by_the_admin_api_have_their_own_books(paper: Paper) -> None:
    paper.post(
        "users",
        {"user_id": "PAPER2", "api_key": "second", "api_secret": "s2", "funds": "5000"},
    )
    first, second = paper.login(), paper.login("second", "s2")
    paper.place_market(first)

    assert second.profile()["user_id"] == "PAPER2"
    assert second.orders() == []
    assert len(first.orders()) == 1
    assert second.margins("equity")["available"]["cash"] == 5000


def _next_morning(at: str, days: int = 1) -> str:
    """The paper clock's start day plus ``days``, at ``at`` IST (a moment after the start)."""
    day = PAPER_CLOCK_START.date() + timedelta(days=days)
    return f"{day.isoformat()}T{at}+05:30"
