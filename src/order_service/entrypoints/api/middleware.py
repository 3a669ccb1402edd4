"""Pure ASGI middleware: request ids in and out, the body size limit, strict JSON bodies."""

from __future__ import annotations

import re

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from order_service.domain.ids import new_ulid
from order_service.entrypoints.api.errors import error_response
from order_service.entrypoints.api.json_body import loads_strict
from order_service.errors import OrderServiceError, PayloadTooLarge, ValidationError
from order_service.observability.logging import get_logger

log = get_logger(__name__)
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
# The rest of such a path is a credential.
SECRET_PATH_PREFIX = "/api/v1/signals/"  # noqa: S105 (a path, no secret)


class RequestContextMiddleware:
    """Gives every request an id (the caller's ``X-Request-ID`` if sane) and caps its body.

    It is also where a bug ends: an exception no handler took is logged once, at CRITICAL with
    its traceback, and answered with the 500 envelope. Starlette's own last resort would answer
    and then re-raise, so the server logs it a second time and drops the keep-alive connection.
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        outgoing = _Outgoing(send, request_id)
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._too_large(request_id, scope, receive, outgoing)
            return
        try:
            await self.app(scope, _capped(receive, self.max_body_bytes), outgoing)
        except Exception:
            if outgoing.started:
                raise  # half sent: only the server can end it, by closing the connection
            log.critical("unhandled error", path=_loggable(scope.get("path")), exc_info=True)
            await error_response(request_id, OrderServiceError())(scope, receive, outgoing)

    async def _too_large(self, request_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        error = PayloadTooLarge(details={"max_bytes": self.max_body_bytes})
        await error_response(request_id, error)(scope, receive, send)


def _loggable(path: str | None) -> str | None:
    """The path without the secret a signal's path carries (tokens never reach the logs)."""
    if path is not None and path.startswith(SECRET_PATH_PREFIX):
        return SECRET_PATH_PREFIX + "…"
    return path


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return new_ulid()


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


def _capped(receive: Receive, limit: int) -> Receive:
    """Count streamed body bytes too: a chunked body has no Content-Length to check."""
    seen = 0

    async def wrapped() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(details={"max_bytes": limit})
        return message

    return wrapped


# Every response: no MIME sniffing, no referrer, never framed. A JSON API loads nothing, so its
# policy allows nothing; a route serving a page of its own (/docs) sends a policy for that page.
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (
        b"content-security-policy",
        b"default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    ),
)


class _Outgoing:
    """The send channel: the request id and security headers on every response."""

    def __init__(self, send: Send, request_id: str) -> None:
        self._send = send
        self._header = (b"x-request-id", request_id.encode("latin-1"))
        self.started = False  # once a response began, an error can no longer replace it

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            headers = [h for h in message.get("headers", []) if h[0] != b"x-request-id"]
            present = {name.lower() for name, _ in headers}
            missing = [h for h in SECURITY_HEADERS if h[0] not in present]
            message = {**message, "headers": [*headers, *missing, self._header]}
        await self._send(message)


class StrictJsonMiddleware:
    """Refuses a JSON body with repeated keys or non-finite numbers before any route reads it.

    FastAPI parses bodies with plain ``json.loads`` (the last of two equal keys wins, ``NaN``
    passes), and routes are declared on routers this module does not own; checking here holds
    for every route, including ones added later. The body is read once and replayed.
    """

    def __init__(
        self,
        app: ASGIApp,
        own_parsers: frozenset[str] = frozenset(),
        own_prefixes: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.own_parsers = own_parsers  # paths whose route parses (and refuses) its body itself
        self.own_prefixes = own_prefixes  # and path prefixes (a credential in the path)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["path"] in self.own_parsers
            or scope["path"].startswith(self.own_prefixes)
            or not _declares_json(scope)
        ):
            await self.app(scope, receive, send)
            return
        try:
            body = await _read_body(receive)
            if body:
                loads_strict(body)
        except ValidationError as exc:  # the body is over the cap, or not strict JSON
            request_id = str(scope.get("state", {}).get("request_id", ""))
            await error_response(request_id, exc)(scope, receive, send)
            return
        await self.app(scope, _replay(body, receive), send)


def _declares_json(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            media_type: str = value.decode("latin-1").split(";", 1)[0].strip().lower()
            kind, _, subtype = media_type.partition("/")
            return kind == "application" and (subtype == "json" or subtype.endswith("+json"))
    return False


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":  # the client left: nothing to check
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """Hand the route the body already read, then the live channel (for disconnects)."""
    pending = True

    async def replayed() -> Message:
        nonlocal pending
        if pending:
            pending = False
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed
