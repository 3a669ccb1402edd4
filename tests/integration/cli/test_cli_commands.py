"""The administrative CLI against a real SQLite database: migrate, users, keys, accounts."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from order_service.bootstrap import bootstrap
from order_service.config import load_settings
from order_service.entrypoints.cli import app


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("ORDER_SERVICE_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/cli.db")
    monkeypatch.setenv("ORDER_SERVICE_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("ORDER_SERVICE_LOG_JSON", "false")
    return tmp_path


def _run(*args: str, input_text: str | None = None) -> str:
    result = CliRunner().invoke(app, list(args), input=input_text)
    assert result.exit_code == 0, result.output
    return result.output.strip()


def test_a_user_gets_a_key_and_an_account(env: Path) -> None:
    assert "latest migration" in _run("migrate")
    user_id = _run("users", "create", "alice")
    key = _run("keys", "create", user_id)
    assert key.startswith("os_")
    added = _run(
        "accounts",
        "add",
        "ab1234",
        "--api-key",
        "kite-key",
        "--user",
        user_id,
        input_text="kite-secret\n",
    )
    assert "AB1234" in added

    async def check() -> None:
        services = bootstrap(load_settings())
        try:
            principal = await services.directory.authenticate(key)
            account = await services.accounts.get_account(principal, "AB1234")  # type: ignore[arg-type]
            assert account.api_secret == "kite-secret"
            assert account.session_state.value == "login_required"
        finally:
            await services.close()

    asyncio.run(check())


def test_errors_are_reported_with_their_code(env: Path) -> None:
    _run("migrate")
    result = CliRunner().invoke(app, ["keys", "create", "01NOSUCHUSER"])
    assert result.exit_code == 1
    assert "NOT_FOUND" in result.output


def test_an_admin_user_is_created(env: Path) -> None:
    _run("migrate")
    user_id = _run("users", "create", "root", "--admin")

    async def roles() -> set[str]:
        services = bootstrap(load_settings())
        try:
            principal = await services.users.get_user(user_id)  # type: ignore[arg-type]
            return {role.value for role in principal.roles}
        finally:
            await services.close()

    assert asyncio.run(roles()) == {"admin"}


def test_a_key_bound_to_a_strategy_is_a_scripts_key(env: Path) -> None:
    _run("migrate")
    user_id = _run("users", "create", "alice")
    _run("accounts", "add", "ab1234", "--api-key", "k", "--user", user_id, input_text="s\n")

    async def add_strategy() -> str:
        services = bootstrap(load_settings())
        try:
            principal = await services.users.get_user(user_id)  # type: ignore[arg-type]
            created = await services.strategies.create_strategy(
                principal,
                "AB1234",  # type: ignore[arg-type]
                "momentum",
            )
            return created.strategy_id
        finally:
            await services.close()

    strategy_id = asyncio.run(add_strategy())
    key = _run("keys", "create", user_id, "--strategy", strategy_id)
    assert f"strategy {strategy_id}" in _run("keys", "list", user_id)

    async def bound() -> str | None:
        services = bootstrap(load_settings())
        try:
            return (await services.directory.authenticate(key)).strategy_id
        finally:
            await services.close()

    assert asyncio.run(bound()) == strategy_id
    refused = CliRunner().invoke(app, ["keys", "create", user_id, "--strategy", "01JNOSUCH"])
    assert refused.exit_code == 1
    assert "NOT_FOUND" in refused.output


def test_the_kill_switch_halts_and_releases_as_the_user_named(env: Path) -> None:
    _run("migrate")
    admin_id = _run("users", "create", "root", "--admin")
    trader_id = _run("users", "create", "alice")
    _run("accounts", "add", "ab1234", "--api-key", "k", "--user", trader_id, input_text="s\n")
    assert "halted AB1234" in _run("kill-switch", "on", "--account", "ab1234", "--as", trader_id)
    assert "halted everything" in _run("kill-switch", "on", "--as", admin_id)

    async def halted() -> list[str]:
        services = bootstrap(load_settings())
        try:
            principal = await services.users.get_user(admin_id)  # type: ignore[arg-type]
            return sorted(h.scope.key or "*" for h in await services.kill_switch.list(principal))
        finally:
            await services.close()

    assert asyncio.run(halted()) == ["*", "AB1234"]
    refused = CliRunner().invoke(app, ["kill-switch", "off", "--as", trader_id])
    assert refused.exit_code == 1
    assert "FORBIDDEN" in refused.output
    _run("kill-switch", "off", "--as", admin_id)
    _run("kill-switch", "off", "--account", "AB1234", "--as", trader_id)
    assert asyncio.run(halted()) == []
