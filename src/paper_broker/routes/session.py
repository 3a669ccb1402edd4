"""Login and sessions: /connect/login, /session/token, /session/refresh_token."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from ..errors import InputError, KiteError, TokenError, invalid
from ..views import session_view
from ..wire import error, form, success
from .guard import broker_of, durable


@durable
async def login(request: Request) -> Response:
    """Kite's login page, already logged in: redirect at once with a request token."""
    broker = broker_of(request)
    params = request.query_params
    try:
        user = broker.sessions.user_for_key(params.get("api_key", ""), params.get("user_id"))
    except KiteError as exc:
        return error(exc)
    token = broker.sessions.issue_request_token(user, broker.clock.timestamp())
    extra = parse_qsl(params.get("redirect_params", ""), keep_blank_values=True)
    query = [
        *extra,
        ("request_token", token),
        ("action", "login"),
        ("type", "login"),
        ("status", "success"),
    ]
    location = _with_query(user.redirect_url, query)
    return RedirectResponse(location, status_code=302, headers={"content-type": "text/html"})


def _with_query(url: str, pairs: list[tuple[str, str]]) -> str:
    parts = urlsplit(url)
    query = urlencode(parse_qsl(parts.query, keep_blank_values=True) + pairs)
    return urlunsplit(parts._replace(query=query))


@durable
async def create_session(request: Request) -> Response:
    """Exchange a request token (a stale Authorization header is ignored, as on Kite)."""
    broker = broker_of(request)
    try:
        fields = await form(request)
        for name in ("api_key", "request_token", "checksum"):
            if not fields.get(name):
                raise invalid(name)
        session = broker.sessions.exchange(
            fields["api_key"], fields["request_token"], fields["checksum"], broker.clock.now()
        )
    except KiteError as exc:
        return error(exc)
    return success(session_view(broker.sessions.users[session.user_id], session))


@durable
async def delete_session(request: Request) -> Response:
    broker = broker_of(request)
    params = request.query_params
    api_key = params.get("api_key")
    if not api_key:
        return error(invalid("api_key"))
    access_token = params.get("access_token")
    if access_token:
        broker.sessions.invalidate(api_key, access_token)
    elif not params.get("refresh_token"):
        return error(InputError("Invalid `access_token` or `refresh_token`."))
    return success(True)


async def renew_session(request: Request) -> Response:
    # Refresh tokens exist only for approved platforms; the paper broker never issues one.
    return error(TokenError("Invalid refresh token."))


ROUTES = [
    Route("/connect/login", login, methods=["GET"]),
    Route("/session/token", create_session, methods=["POST"]),
    Route("/session/token", delete_session, methods=["DELETE"]),
    Route("/session/refresh_token", renew_session, methods=["POST"]),
]
