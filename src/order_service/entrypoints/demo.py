"""The demo: paper broker + API + workers in one process, a demo user and account PAPER1."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx

from order_service.bootstrap import Services
from order_service.config import Settings
from order_service.domain.account import Principal, Role
from order_service.domain.ids import AccountId, UserId
from order_service.errors import AuthenticationRequired, NotFound, UpstreamServiceError

DEMO_ACCOUNT = AccountId("PAPER1")
DEMO_API_KEY = "paper"
DEMO_API_SECRET = "paper-secret"  # noqa: S105 - the paper broker's published default
DEMO_USER = "demo"


def secure_var_dir(settings: Settings) -> None:
    """Make the demo's folder 0700 and its files 0600, creating the SQLite database empty.

    Call it before anything writes there: the secrets, the API key and the database are
    created inside a folder only this user can open, and the database (whose journal and WAL
    files SQLite creates with the database's own mode) never exists readable by others.
    """
    var = Path(settings.var_dir)
    var.mkdir(mode=0o700, parents=True, exist_ok=True)
    var.chmod(0o700)  # an older demo may have made it with the default umask
    for path in var.iterdir():
        if path.is_file() and not path.is_symlink():
            path.chmod(0o600)
    database = sqlite_path(settings.database_url)
    if database is not None:
        database.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(database, os.O_WRONLY | os.O_CREAT, 0o600)
        _owner_only(fd)  # an existing file keeps its mode through O_CREAT
        os.close(fd)


def _owner_only(fd: int) -> None:
    """Make an open file readable and writable by its owner alone (POSIX modes).

    Windows has no POSIX modes (and ``os.fchmod`` only from Python 3.13): there the files are
    as private as the user's folder they are in.
    """
    if sys.platform != "win32":
        os.fchmod(fd, 0o600)


def sqlite_path(database_url: str) -> Path | None:
    """Return the file behind a SQLite URL, or None (in memory, or another database)."""
    prefix = "sqlite+aiosqlite:///"
    if not database_url.startswith(prefix):
        return None
    name = database_url[len(prefix) :].split("?", 1)[0]
    return Path(name) if name and name != ":memory:" else None


async def prepare_demo(services: Services, settings: Settings) -> str:
    """Make sure the demo user, its key and PAPER1 exist, log PAPER1 in; return the API key."""
    key_file = Path(settings.var_dir) / "demo-api-key"
    principal, key = await _demo_user(services, key_file)
    try:
        await services.accounts.get_account(principal, DEMO_ACCOUNT)
    except NotFound:
        await services.accounts.add_account(
            principal, DEMO_ACCOUNT, DEMO_API_KEY, DEMO_API_SECRET, "Paper account"
        )
    await log_in(services, principal, DEMO_ACCOUNT)
    return key


async def log_in(services: Services, principal: Principal, account_id: AccountId) -> None:
    """Log the account in through the broker's login redirect, as a browser would."""
    query = await callback_query((await services.logins.start(principal, account_id)).url)
    await services.logins.complete(query.get("state"), query.get("request_token"))


async def _demo_user(services: Services, key_file: Path) -> tuple[Principal, str]:
    key = await asyncio.to_thread(_read_key, key_file)
    if key:
        try:
            return await services.directory.authenticate(key), key
        except AuthenticationRequired:
            pass  # a key from another database: issue a fresh one
    principal = await services.users.create_user(DEMO_USER, frozenset({Role.TRADER}))
    key = await services.users.create_api_key(principal.user_id)
    await asyncio.to_thread(_write_key, key_file, key)
    return await services.users.get_user(UserId(principal.user_id)), key


def _read_key(path: Path) -> str | None:
    return path.read_text().strip() if path.exists() else None


def _write_key(path: Path, key: str) -> None:
    """Write the key into a file that is 0600 from the moment it exists."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    _owner_only(fd)  # an existing file keeps its mode through O_CREAT
    with os.fdopen(fd, "w") as handle:
        handle.write(key + "\n")


async def request_token_from(login_url: str) -> str:
    """Walk the broker's login redirect as a browser would and return its request token."""
    return (await callback_query(login_url))["request_token"]


async def callback_query(login_url: str) -> dict[str, str]:
    """Follow the broker's login redirect; return the query it sends to our callback."""
    async with httpx.AsyncClient(timeout=10) as client:
        try:
            response = await client.get(login_url, follow_redirects=False)
        except httpx.HTTPError as exc:
            raise UpstreamServiceError(
                f"cannot reach the broker login page: {exc}", details={"service": "broker-login"}
            ) from exc
    location = str(response.headers.get("location", ""))
    query = {key: values[0] for key, values in parse_qs(urlparse(location).query).items()}
    if response.status_code != 302 or not query.get("request_token"):
        raise UpstreamServiceError(
            "the broker login did not redirect with a request token",
            details={"service": "broker-login", "status": response.status_code},
        )
    return query
