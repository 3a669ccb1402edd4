"""FastAPI dependencies: the services bundle and the authenticated principal."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from order_service.bootstrap import Services
from order_service.domain.account import Principal
from order_service.errors import AuthenticationRequired

_bearer = HTTPBearer(auto_error=False, description="An API key (os_…) or an HS256 JWT")


def services_of(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


async def get_services(request: Request) -> Services:
    """The services bundle (async: FastAPI would run a plain function in its thread pool)."""
    return services_of(request)


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Authenticate the bearer credential; anything missing or doubtful is 401."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise AuthenticationRequired("send Authorization: Bearer <api key or JWT>")
    principal = await services_of(request).directory.authenticate(credentials.credentials)
    request.scope.setdefault("state", {})["user_id"] = principal.user_id
    return principal


ServicesDep = Annotated[Services, Depends(get_services)]
PrincipalDep = Annotated[Principal, Depends(get_principal)]
