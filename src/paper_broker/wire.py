"""Kite's wire formats: the JSON envelopes, CSV dumps and gateway HTML pages."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from .errors import KiteError, invalid

_HTML_TITLES = {
    429: "429 Too Many Requests",
    502: "502 Bad Gateway",
    503: "503 Service Temporarily Unavailable",
    504: "504 Gateway Time-out",
}


def _default(value: Any) -> Any:
    # The one place where exact Decimals become JSON numbers, as Kite sends them: whole
    # amounts without a fraction (`"price": 300`), the others as floats.
    if isinstance(value, Decimal):
        whole = value.to_integral_value()
        return int(whole) if value == whole else float(value)
    raise TypeError(f"cannot serialise {type(value).__name__}")


def dumps(content: Any) -> bytes:
    """JSON bytes; views format timestamps themselves, so a datetime here is a bug."""
    return orjson.dumps(content, default=_default, option=orjson.OPT_PASSTHROUGH_DATETIME)


class JSONResponse(Response):
    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return dumps(content)


def success(data: Any) -> Response:
    return JSONResponse({"status": "success", "data": data})


def error(exc: KiteError) -> Response:
    body = {"status": "error", "message": exc.message, "data": None, "error_type": exc.error_type}
    return JSONResponse(body, status_code=exc.http_status)


def csv_response(text: str) -> Response:
    return Response(text, media_type="text/csv")


def html_error(status: int) -> Response:
    title = _HTML_TITLES.get(status, f"{status} Error")
    page = f"<html><head><title>{title}</title></head><body><h1>{title}</h1></body></html>"
    return Response(page, status_code=status, media_type="text/html")


class AbortResponse(Response):
    """Start a response and drop the connection mid-way: the client sees a broken read."""

    def __init__(self) -> None:
        super().__init__(b"", media_type="application/json")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"status":', "more_body": True})


async def form(request: Request) -> dict[str, str]:
    """A form or JSON-object body as a flat dict; repeated keys keep the last value."""
    body = await request.body()
    if not body:
        return {}
    if "json" in request.headers.get("content-type", ""):
        return _json_object(body)
    try:
        return dict(parse_qsl(body.decode(), keep_blank_values=True))
    except UnicodeDecodeError as exc:
        raise invalid("body") from exc


def _json_object(body: bytes) -> dict[str, str]:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise invalid("body") from exc
    if not isinstance(parsed, Mapping):
        raise invalid("body")
    return {str(key): str(value) for key, value in parsed.items() if value is not None}


async def json_body(request: Request) -> Any:
    body = await request.body()
    try:
        return orjson.loads(body) if body else {}
    except orjson.JSONDecodeError as exc:
        raise invalid("body") from exc
