"""The administrative CLI against a real SQLite database: migrate, users, keys, accounts."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from order_service.adapters.db.crypto import SecretCipher
from order_service.adapters.db.engine import create_engine
from order_service.adapters.db.unit_of_work import sql_uow_factory
from order_service.bootstrap import bootstrap
from order_service.config import load_settings
from order_service.domain.ids import AccountId, BrokerOrderId, OrderId, UserId
from order_service.domain.status import OrderStatus, OrderTrigger
from order_service.entrypoints import cli_orders
from order_service.entrypoints.cli import app
from order_service.entrypoints.cli_support import console
from order_service.services.ports import UnitOfWorkFactory
from tests.factories import make_order
from tests.moments import PAPER_CLOCK_START


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


def _user_with_account(account: str = "ab1234") -> str:
    _run("migrate")
    user_id = _run("users", "create", "alice")
    _run("accounts", "add", account, "--api-key", "kite-key", "--user", user_id, input_text="s\n")
    return user_id


def test_accounts_login_prints_a_one_time_link_and_opens_it_where_a_browser_is(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = _user_with_account()
    opened = env / "opened"
    # Python's webbrowser runs $BROWSER with the link for %s: a browser that notes what it got.
    opener = env / "browser.py"
    opener.write_text(
        f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {opener} %s")
    output = _run("accounts", "login", "ab1234", "--user", user_id).splitlines()
    link = output[0]
    assert "api_key=kite-key" in link
    assert parse_qs(parse_qs(urlsplit(link).query)["redirect_params"][0])["state"][0]
    assert output[1].startswith("valid once, until ")
    assert _waited_for(opened) == link


def test_accounts_login_without_a_browser_only_prints_and_needs_a_user_of_the_account(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id = _user_with_account()
    opened = _fake_browser(env, monkeypatch)
    assert "opened" not in _run("accounts", "login", "AB1234", "--user", user_id, "--no-browser")
    assert not opened.exists()
    other = _run("users", "create", "mallory")
    refused = CliRunner().invoke(app, ["accounts", "login", "AB1234", "--user", other])
    assert refused.exit_code == 1
    assert "NOT_FOUND" in refused.output


def _fake_browser(directory: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Python's webbrowser runs $BROWSER with the link for %s: a browser noting what it got."""
    opened = directory / "opened"
    opener = directory / "browser.py"
    opener.write_text(
        f"import sys, pathlib\npathlib.Path({str(opened)!r}).write_text(sys.argv[1])\n"
    )
    monkeypatch.setenv("BROWSER", f"{sys.executable} {opener} %s")
    return opened


def _waited_for(path: Path) -> str:
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return path.read_text()


@contextlib.asynccontextmanager
async def _uow() -> AsyncIterator[UnitOfWorkFactory]:
    engine = create_engine(load_settings().database_url)
    factory = sql_uow_factory(engine, SecretCipher("orders-need-no-secret"))
    try:
        yield factory
    finally:
        await factory.close()
        await engine.dispose()


def _store_open_order(user_id: str, account: str = "AB1234") -> str:
    """An order of the account resting OPEN at a broker (none runs here to cancel it)."""

    async def store() -> str:
        async with _uow() as factory:
            async with factory() as uow:
                default = await uow.strategies.get_default(AccountId(account))
                assert default is not None
                order = make_order(
                    account_id=AccountId(account),
                    strategy_id=default.strategy_id,
                    user_id=UserId(user_id),
                    status=OrderStatus.OPEN,
                    broker_order_id=BrokerOrderId("2611290000001"),
                )
                await uow.orders.add(order)
                await uow.commit()
            return str(order.order_id)

    return asyncio.run(store())


def test_accounts_list_and_remove_act_as_the_user(env: Path) -> None:
    user_id = _user_with_account()
    assert _run("accounts", "list", "--user", user_id).startswith("AB1234  login_required")
    other = _run("users", "create", "mallory")
    assert _run("accounts", "list", "--user", other) == ""
    refused = CliRunner().invoke(app, ["accounts", "remove", "AB1234", "--user", other])
    assert (refused.exit_code, "NOT_FOUND" in refused.output) == (1, True)
    assert _run("accounts", "remove", "ab1234", "--user", user_id) == "removed AB1234"
    assert _run("accounts", "list", "--user", user_id) == ""


def test_orders_list_shows_the_users_orders_only(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 160)  # a terminal's width, not the test runner's 80
    user_id = _user_with_account()
    order_id = _store_open_order(user_id)
    listed = _run("orders", "list", "--user", user_id, "--account", "ab1234")
    assert order_id in listed
    assert "NSE:INFY" in listed
    assert "OPEN" in listed
    other = _run("users", "create", "mallory")
    assert order_id not in _run("orders", "list", "--user", other)


def test_cancel_all_reports_each_cancel_and_fails_when_one_did(env: Path) -> None:
    user_id = _user_with_account()
    order_id = _store_open_order(user_id)
    done = CliRunner().invoke(
        app, ["orders", "cancel-all", "--account", "AB1234", "--user", user_id]
    )
    assert done.exit_code == 1  # the account has no session: the cancel is refused, and said so
    assert f"{order_id}  OPEN  cancel failed: BROKER_SESSION_EXPIRED" in done.output
    assert "1 working orders" in done.output


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


def test_the_kill_switch_flattens_on_asking_and_reports_each_cancel(env: Path) -> None:
    user_id = _user_with_account()
    order_id = _store_open_order(user_id)
    done = CliRunner().invoke(
        app, ["kill-switch", "on", "--account", "ab1234", "--as", user_id, "--flatten"]
    )
    assert done.exit_code == 1  # halted, but the cancel was refused (no session), and said so
    assert "halted AB1234" in done.output
    assert f"cancel {order_id}  OPEN  cancel failed: BROKER_SESSION_EXPIRED" in done.output


def test_users_list_shows_every_user_and_no_secret(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 160)
    _run("migrate")
    trader_id = _run("users", "create", "alice")
    admin_id = _run("users", "create", "root", "--admin")
    key = _run("keys", "create", trader_id)
    rows = [line for line in _run("users", "list").splitlines() if "01" in line]
    assert [trader_id in rows[0], admin_id in rows[1]] == [True, True]  # oldest first
    assert ["alice" in rows[0], "trader" in rows[0]] == [True, True]
    assert ["root" in rows[1], "admin" in rows[1]] == [True, True]
    assert rows[0].split("│")[4].strip()[:4].isdigit()  # created, a date
    listed = _run("users", "list")
    assert key not in listed
    assert key.removeprefix("os_")[:12] not in listed


def test_orders_watch_once_prints_the_table_and_exits(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 160)
    user_id = _user_with_account()
    order_id = _store_open_order(user_id)
    shown = _run("orders", "watch", "--user", user_id, "--once")
    assert order_id in shown
    assert "OPEN" in shown
    done_only = _run("orders", "watch", "--user", user_id, "--once", "--status", "COMPLETE")
    assert order_id not in done_only
    other = _run("users", "create", "mallory")
    assert order_id not in _run("orders", "watch", "--user", other, "--once")
    refused = CliRunner().invoke(
        app, ["orders", "watch", "--user", other, "--account", "AB1234", "--once"]
    )
    assert (refused.exit_code, "NOT_FOUND" in refused.output) == (1, True)


def _waits_doing(monkeypatch: pytest.MonkeyPatch, step: Callable[[], Awaitable[None]]) -> list[int]:
    """The watch's waits do ``step`` once (what another process commits) instead of sleeping."""
    calls: list[int] = []

    def wait_factory(*_: object) -> Callable[[], Awaitable[None]]:
        async def wait() -> None:
            calls.append(len(calls))
            if len(calls) == 1:
                await step()

        return wait

    monkeypatch.setattr(cli_orders, "signal_wait", wait_factory)
    return calls


def test_orders_watch_shows_a_status_committed_while_it_watches(
    env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(console, "width", 160)
    user_id = _user_with_account()
    order_id = _store_open_order(user_id)

    async def complete() -> None:
        async with _uow() as factory, factory() as uow:
            order = await uow.orders.get(OrderId(order_id))
            assert order is not None
            order.move(OrderTrigger.REPORT_COMPLETE, PAPER_CLOCK_START)
            await uow.orders.save(order)
            await uow.commit()

    calls = _waits_doing(monkeypatch, complete)
    shown = _run("orders", "watch", "--user", user_id, "--iterations", "2")
    assert calls == [0, 1]
    row = next(line for line in shown.splitlines() if order_id in line)
    assert "COMPLETE" in row
    assert "OPEN" not in row


def test_orders_watch_ends_cleanly_on_ctrl_c(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user_id = _user_with_account()

    async def interrupted() -> None:
        raise KeyboardInterrupt

    _waits_doing(monkeypatch, interrupted)
    done = CliRunner().invoke(app, ["orders", "watch", "--user", user_id])
    assert done.exit_code == 0, done.output
    assert "Traceback" not in done.output


def test_positions_close_acts_as_the_user_and_reports_what_it_refused(env: Path) -> None:
    user_id = _user_with_account()
    refusals = {
        # Nothing open in our books, but what the broker holds needs the day's login to read.
        (): "BROKER_SESSION_EXPIRED",
        ("--instrument", "INFY"): "INVALID_INPUT",  # no exchange
        ("--instrument", "NSE:INFY", "--limit", "abc"): "INVALID_INPUT",
        ("--instrument", "NSE:INFY", "--limit", "-5"): "INVALID_INPUT",
        ("--instrument", "NSE:INFY"): "NOT_FOUND",  # nothing open in it
        ("--key", "a key with spaces"): "INVALID_INPUT",
    }
    for extra, code in refusals.items():
        done = CliRunner().invoke(app, ["positions", "close", "ab1234", "--user", user_id, *extra])
        assert (done.exit_code, code in done.output) == (1, True), (extra, done.output)
    other = _run("users", "create", "mallory")
    refused = CliRunner().invoke(app, ["positions", "close", "ab1234", "--user", other])
    assert (refused.exit_code, "NOT_FOUND" in refused.output) == (1, True)
