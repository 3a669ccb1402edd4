"""Accounts: add, list, show, and the broker login redirect and callback."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response

from order_service.domain.ids import AccountId, UserId
from order_service.entrypoints.api.deps import PrincipalDep, ServicesDep
from order_service.entrypoints.api.login_page import failed_page, logged_in_page, wants_page
from order_service.entrypoints.api.schemas import (
    AccountIn,
    AccountOut,
    ErrorBody,
    GrantIn,
    LoginLinkOut,
    LoginOut,
    SegmentMarginsOut,
)
from order_service.errors import OrderServiceError, ValidationError

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])
ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody} for code in (401, 403, 404, 409, 422, 502, 503)
}
Token = Annotated[str, Query(min_length=1, max_length=128)]


@router.get("", response_model=list[AccountOut], responses=ERRORS)
async def list_accounts(services: ServicesDep, principal: PrincipalDep) -> list[AccountOut]:
    return [
        AccountOut.of(a, services.settings)
        for a in await services.accounts.list_accounts(principal)
    ]


@router.post("", status_code=201, response_model=AccountOut, responses=ERRORS)
async def add_account(
    body: AccountIn, services: ServicesDep, principal: PrincipalDep
) -> AccountOut:
    """Add a Kite account (its secret is stored encrypted); then log it in via /login."""
    account = await services.accounts.add_account(
        principal, AccountId(body.account_id), body.api_key, body.api_secret, body.name
    )
    return AccountOut.of(account, services.settings)


# Declared before /{account_id} so the callback path is not taken for an account id.
@router.get(
    "/login/callback",
    response_model=LoginOut,
    responses={**ERRORS, 200: {"content": {"text/html": {}}, "description": "Logged in"}},
)
async def login_callback(
    request: Request,
    services: ServicesDep,
    request_token: Annotated[str | None, Query(max_length=128)] = None,
    state: Annotated[str | None, Query(max_length=128)] = None,
    status: Annotated[str, Query(max_length=32)] = "success",
    action: Annotated[str, Query(max_length=32)] = "login",
) -> Response | LoginOut:
    """Kite redirects here after login; only with the one-time ``state`` of a login link.

    No bearer token (a browser redirect brings it), so it trusts nothing but the state, and
    answers one 401 for a missing, unknown, used or expired one. A browser gets a page saying
    which account is logged in until when, or what went wrong; an API client gets JSON.
    """
    if status != "success" or action != "login":
        request_token = None  # a cancelled login still spends its state, then is refused
    try:
        account = await services.logins.complete(state, request_token)
    except OrderServiceError as exc:
        if wants_page(request):
            return failed_page(exc)
        raise
    if wants_page(request):
        return logged_in_page(account)
    return LoginOut.of(account)


@router.get("/{account_id}", response_model=AccountOut, responses=ERRORS)
async def get_account(
    account_id: str, services: ServicesDep, principal: PrincipalDep
) -> AccountOut:
    account = await services.accounts.get_account(principal, AccountId(account_id))
    return AccountOut.of(account, services.settings)


@router.delete("/{account_id}", status_code=204, responses=ERRORS)
async def remove_account(account_id: str, services: ServicesDep, principal: PrincipalDep) -> None:
    """Remove an account with no unsettled orders (409 otherwise); its history stays."""
    await services.accounts.remove_account(principal, AccountId(account_id))


@router.post("/{account_id}/users", status_code=204, responses=ERRORS)
async def grant_access(
    account_id: str, body: GrantIn, services: ServicesDep, principal: PrincipalDep
) -> None:
    """Let another user act on this account (admins only)."""
    await services.accounts.grant(principal, UserId(body.user_id), AccountId(account_id))


@router.delete("/{account_id}/users/{user_id}", status_code=204, responses=ERRORS)
async def revoke_access(
    account_id: str, user_id: str, services: ServicesDep, principal: PrincipalDep
) -> None:
    """Take a user's access to this account away (admins only)."""
    await services.accounts.revoke(principal, UserId(user_id), AccountId(account_id))
    services.directory.forget_all()  # at once here; other processes within their 5 s cache


@router.get("/{account_id}/margins", response_model=list[SegmentMarginsOut], responses=ERRORS)
async def margins(
    account_id: str, services: ServicesDep, principal: PrincipalDep
) -> list[SegmentMarginsOut]:
    """The account's funds by segment, read from the broker now."""
    found = await services.accounts.margins(principal, AccountId(account_id))
    return [SegmentMarginsOut.model_validate(segment) for segment in found]


@router.post(
    "/{account_id}/login-link", status_code=201, response_model=LoginLinkOut, responses=ERRORS
)
async def login_link(
    account_id: str, services: ServicesDep, principal: PrincipalDep
) -> LoginLinkOut:
    """A one-time link to the broker's login page for this account, bound to the caller.

    Open it in a browser (no bearer token needed there): after the Kite login the callback logs
    the account in. It works once, expires after ten minutes, and a newer link for the same
    account replaces it.
    """
    link = await services.logins.start(principal, AccountId(account_id))
    return LoginLinkOut(login_url=_http_url(link.url), expires_at=link.expires_at)


@router.get(
    "/{account_id}/login",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {
            "description": "to the broker's login page, in `Location`",
            "headers": {"Location": {"description": "the login URL", "schema": {"type": "string"}}},
        },
        **ERRORS,
    },
)
async def login(
    account_id: str, services: ServicesDep, principal: PrincipalDep
) -> RedirectResponse:
    """Redirect to the broker's login page for this account (a client holding the bearer
    token; a browser uses ``POST …/login-link``)."""
    link = await services.logins.start(principal, AccountId(account_id))
    return RedirectResponse(_http_url(link.url), status_code=302)


def _http_url(url: str) -> str:
    if not url.startswith(("http://", "https://")):
        raise ValidationError("the broker login URL is not http(s)")
    return url
