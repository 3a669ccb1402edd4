"""Security at the edge: headers on every response, self-hosted docs, bounded JWTs."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from order_service.config import Settings
from tests.unit.conftest import World

pytestmark = pytest.mark.asyncio

ISSUER = "https://login.example.test"
AUDIENCE = "order-service"
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The shared settings, with an issuer and an audience that JWTs must name."""
    return settings.model_copy(update={"jwt_issuer": ISSUER, "jwt_audience": AUDIENCE})


@pytest.fixture
def client(anonymous_api: httpx.AsyncClient) -> httpx.AsyncClient:
    return anonymous_api


def assert_secured(response: httpx.Response) -> None:
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.url, name)
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy
    assert "http" not in policy  # nothing from another origin


# Security headers on every response, whatever produced it.


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/health", None, 200),
        ("GET", "/openapi.json", None, 200),
        ("GET", "/api/v1/orders", None, 401),
        ("GET", "/no/such/route", None, 404),
        ("POST", "/api/v1/orders", b'{"a": 1, "a": 2}', 422),
        ("POST", "/api/v1/orders", b"x" * 70_000, 413),
        ("GET", "/static/swagger-ui/swagger-ui.css", None, 200),
    ],
)
async def test_every_response_carries_the_security_headers(
    client: httpx.AsyncClient, method: str, path: str, body: bytes | None, status: int
) -> None:
    headers = {"Content-Type": "application/json"} if body else {}
    response = await client.request(method, path, content=body, headers=headers)
    assert response.status_code == status, response.text
    assert_secured(response)
    assert response.headers["content-security-policy"].startswith("default-src 'none'")


# /docs: the Swagger UI from the package, under a policy that allows nothing else.


async def test_the_docs_load_only_assets_the_service_serves(client: httpx.AsyncClient) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert_secured(page)
    html = page.text
    assert not re.search(r"cdn|jsdelivr|unpkg|https?://", html, re.IGNORECASE), html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(assets) == 3  # script, stylesheet, icon
    for asset in assets:
        assert asset.startswith("/static/swagger-ui/"), asset
        served = await client.get(asset)
        assert served.status_code == 200, asset
        assert len(served.content) > 100
        assert_secured(served)


async def test_the_docs_policy_allows_the_pages_own_script_by_hash_only(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/docs")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    (script,) = re.findall(r"<script>(.*?)</script>", page.text, re.DOTALL)
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    assert policy["script-src"] == f"'self' 'sha256-{digest}'"
    assert policy["default-src"] == "'none'"
    assert policy["style-src"] == "'self'"
    assert policy["connect-src"] == "'self'"  # "Try it out" calls this API, nothing else


@pytest.mark.parametrize("path", ["/redoc", "/docs/oauth2-redirect"])
async def test_no_page_that_would_load_a_cdn_is_served(
    client: httpx.AsyncClient, path: str
) -> None:
    assert (await client.get(path)).status_code == 404


# JWTs: a bounded lifetime, and the configured issuer and audience.


def claims(world: World, **overrides: Any) -> dict[str, Any]:
    now = int(world.clock.now().timestamp())
    base = {"sub": world.trader.user_id, "iat": now, "exp": now + 3600}
    return {**base, "iss": ISSUER, "aud": AUDIENCE, **overrides}


async def orders_with(client: httpx.AsyncClient, settings: Settings, body: dict[str, Any]) -> int:
    assert settings.jwt_secret is not None
    token = jwt.encode(
        {key: value for key, value in body.items() if value is not None},
        settings.jwt_secret.get_secret_value(),
        algorithm="HS256",
    )
    response = await client.get("/api/v1/orders", headers={"Authorization": f"Bearer {token}"})
    if response.status_code == 401:
        assert response.json()["error"]["code"] == "UNAUTHENTICATED"
    return response.status_code


async def test_a_jwt_within_its_lifetime_from_the_issuer_for_us_is_accepted(
    world: World, client: httpx.AsyncClient, settings: Settings
) -> None:
    assert await orders_with(client, settings, claims(world)) == 200
    now = int(world.clock.now().timestamp())
    a_day = claims(world, sub=world.trader.user_id, iat=now - 60, exp=now - 60 + 24 * 3600)
    assert await orders_with(client, settings, a_day) == 200


HOUR = 3600


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda now: {"exp": None}, id="no-exp"),
        pytest.param(lambda now: {"exp": "in an hour"}, id="exp-not-a-number"),
        pytest.param(lambda now: {"exp": 10**400}, id="exp-huge"),
        pytest.param(lambda now: {"iat": now - 24 * HOUR}, id="lifetime-over-24h-from-iat"),
        pytest.param(lambda now: {"iat": None, "exp": now + 25 * HOUR}, id="over-24h-from-now"),
        pytest.param(lambda now: {"iat": now + HOUR, "exp": now + 2 * HOUR}, id="issued-later"),
        pytest.param(lambda now: {"nbf": now + HOUR}, id="not-yet-valid"),
        pytest.param(lambda now: {"iat": now - 2 * HOUR, "exp": now - HOUR}, id="expired"),
        pytest.param(lambda now: {"iss": None}, id="no-issuer"),
        pytest.param(lambda now: {"iss": "https://evil.example.test"}, id="other-issuer"),
        pytest.param(lambda now: {"aud": None}, id="no-audience"),
        pytest.param(lambda now: {"aud": "another-service"}, id="other-audience"),
    ],
)
async def test_a_doubtful_jwt_is_refused_through_the_api(
    world: World,
    client: httpx.AsyncClient,
    settings: Settings,
    change: Callable[[int], dict[str, Any]],
) -> None:
    now = int(world.clock.now().timestamp())
    assert await orders_with(client, settings, claims(world, **change(now))) == 401
