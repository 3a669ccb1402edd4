"""The login callback's answer to a browser: a page saying which account is logged in, or why not.

A person finishes the daily Kite login in a browser, which would otherwise show raw JSON. The
page loads nothing (the API's policy allows nothing: no script, no style, no image), so nothing
on it can leak the callback's address, which carries the request token, to anyone else; every
value on it is escaped.
"""

from __future__ import annotations

from datetime import datetime
from html import escape

from fastapi import Request
from fastapi.responses import HTMLResponse

from order_service.domain.account import IST, Account
from order_service.entrypoints.api.errors import status_for
from order_service.errors import OrderServiceError
from order_service.observability.metrics import ERRORS

NOT_CACHED = {"Cache-Control": "no-store"}


def wants_page(request: Request) -> bool:
    """True for a browser (it asks for HTML first); API clients keep the JSON answer."""
    accept = request.headers.get("accept", "")
    return accept.split(",", 1)[0].strip().lower().startswith("text/html")


def logged_in_page(account: Account) -> HTMLResponse:
    until = _in_ist(account.token_expires_at)
    body = (
        f"<h1>{escape(account.account_id)} is logged in</h1>"
        f"<p>Its Kite session lasts until {escape(until)}. You can close this page.</p>"
    )
    return HTMLResponse(_page("Logged in", body), headers=NOT_CACHED)


def failed_page(error: OrderServiceError) -> HTMLResponse:
    ERRORS.labels(error.error_code).inc()  # counted as the JSON answer would be
    body = (
        "<h1>The login did not complete</h1>"
        f"<p>{escape(error.message)}</p>"
        f"<p>Error code: <code>{escape(error.error_code)}</code></p>"
    )
    return HTMLResponse(
        _page("Login failed", body), status_code=status_for(error), headers=NOT_CACHED
    )


def _in_ist(moment: datetime | None) -> str:
    if moment is None:
        return "the broker ends it"
    return moment.astimezone(IST).strftime("%d %b %Y %H:%M IST")


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} · Order Service</title></head><body>{body}</body></html>"
    )
