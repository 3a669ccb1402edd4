"""``order-service``: serve, worker, demo, paper-broker, migrate, users, keys, accounts,
kill-switch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.console import Console

from order_service.bootstrap import Services, bootstrap
from order_service.config import Mode, Settings, load_settings
from order_service.domain.account import Role
from order_service.domain.halt import HaltScope
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId
from order_service.errors import OrderServiceError
from order_service.observability.logging import configure_logging

app = typer.Typer(help="Order Service: order management through Zerodha Kite Connect.")
users_app = typer.Typer(help="Manage users.")
keys_app = typer.Typer(help="Manage API keys.")
accounts_app = typer.Typer(help="Manage trading accounts.")
kill_switch_app = typer.Typer(help="Halt and release trading (new orders and modifications).")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
app.add_typer(kill_switch_app, name="kill-switch")
console = Console(soft_wrap=True)  # keys and URLs must stay copyable on one line
T = TypeVar("T")


def _settings(**overrides: object) -> Settings:
    settings = load_settings(**{k: v for k, v in overrides.items() if v is not None})
    configure_logging(settings.log_level, settings.log_json)
    return settings


def _with_services(settings: Settings, job: Callable[[Services], Awaitable[T]]) -> T:
    async def run() -> T:
        services = bootstrap(settings)
        try:
            return await job(services)
        finally:
            await services.close()

    try:
        return asyncio.run(run())
    except OrderServiceError as exc:
        console.print(f"[red]{exc.error_code}[/red]: {exc.message}")
        raise typer.Exit(1) from exc


@app.command()
def migrate() -> None:
    """Apply every database migration (idempotent)."""
    from order_service.adapters.db.migrate import upgrade

    settings = _settings()
    upgrade(settings.database_url)
    console.print("database is at the latest migration")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="bind address")] = None,
    port: Annotated[int | None, typer.Option(help="bind port")] = None,
    workers: Annotated[bool, typer.Option(help="also run the background workers")] = False,
) -> None:
    """Run the API (production: several of these behind a load balancer)."""
    from order_service.entrypoints.server import run_process, serve_api

    settings = _settings(host=host, port=port)
    run_process(serve_api(bootstrap(settings), settings, with_workers=workers))


@app.command()
def worker() -> None:
    """Run the supervised background workers."""
    from order_service.entrypoints.server import run_process, run_workers

    settings = _settings()
    run_process(run_workers(bootstrap(settings)))


@app.command()
def demo() -> None:
    """Paper broker + API + workers on the embedded default, with a logged-in PAPER1."""
    from order_service.entrypoints.demo_runner import run_demo

    settings = _settings(mode=Mode.DEMO)
    run_demo(settings, console)


@app.command("paper-broker")
def paper_broker(
    host: Annotated[str | None, typer.Option(help="default 127.0.0.1")] = None,
    port: Annotated[int | None, typer.Option(help="default 8001")] = None,
    seed: Annotated[int | None, typer.Option(help="default 1")] = None,
    clock: Annotated[str | None, typer.Option(help="simulated (default) | real")] = None,
    clock_start: Annotated[
        str | None, typer.Option(help="start the clock at this ISO moment (IST if naive)")
    ] = None,
    state_file: Annotated[Path | None, typer.Option(help="load/save state here")] = None,
    rate_limits: Annotated[
        bool | None, typer.Option("--rate-limits/--no-rate-limits", help="Kite's limits (on)")
    ] = None,
    postback_url: Annotated[str | None, typer.Option(help="POST order updates here")] = None,
    price_replay: Annotated[Path | None, typer.Option(help="replay prices from this CSV")] = None,
    fault: Annotated[
        list[str] | None,
        typer.Option(metavar="SPEC", help="a fault: kind=http_429,route=orders,… (repeatable)"),
    ] = None,
) -> None:
    """Run the Kite-compatible paper broker alone (any Kite SDK program can use it).

    Each flag overrides its PAPER_BROKER_* variable; see docs/paper-broker.md.
    """
    from paper_broker.config import PaperBrokerConfig
    from paper_broker.errors import ConfigError
    from paper_broker.faults import parse_fault_spec
    from paper_broker.server import serve as serve_paper

    try:
        faults = tuple(parse_fault_spec(spec) for spec in fault) if fault else None
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from exc
    try:
        config = PaperBrokerConfig.from_env(
            host=host,
            port=port,
            seed=seed,
            clock=clock,
            clock_start=clock_start,
            state_file=state_file,
            rate_limits=rate_limits,
            postback_url=postback_url,
            price_replay=price_replay,
            faults=faults,
        )
        serve_paper(config)
    except ConfigError as exc:
        typer.echo(f"paper broker not started: {exc}", err=True)
        raise typer.Exit(2) from exc


@users_app.command("create")
def create_user(
    name: str, admin: Annotated[bool, typer.Option(help="grant the admin role")] = False
) -> None:
    """Create a user and print its id."""
    roles = frozenset({Role.ADMIN} if admin else {Role.TRADER})
    principal = _with_services(_settings(), lambda s: s.users.create_user(name, roles))
    console.print(principal.user_id)


@keys_app.command("create")
def create_key(
    user_id: str,
    strategy: Annotated[
        str | None,
        typer.Option("--strategy", help="bind the key to this strategy (a script's key)"),
    ] = None,
) -> None:
    """Issue an API key for a user and print it (shown once; only its hash is stored).

    With --strategy (a strategy of one of the user's accounts) the key is a script's: its
    orders go to that strategy as SCRIPT orders and may name no other.
    """
    strategy_id = StrategyId(strategy) if strategy else None
    key = _with_services(
        _settings(), lambda s: s.users.create_api_key(UserId(user_id), strategy_id)
    )
    console.print(key)


@keys_app.command("list")
def list_keys(user_id: str) -> None:
    """List a user's API keys: id, created, revoked (the keys themselves are never stored)."""
    keys = _with_services(_settings(), lambda s: s.users.api_keys(UserId(user_id)))
    for key in keys:
        revoked = key.revoked_at.isoformat() if key.revoked_at else "live"
        bound = f"  strategy {key.strategy_id}" if key.strategy_id else ""
        console.print(f"{key.key_id}  {key.created_at.isoformat()}  {revoked}{bound}")


@keys_app.command("revoke")
def revoke_key(user_id: str, key_id: str) -> None:
    """Revoke one of a user's API keys; every process refuses it within 5 s."""
    _with_services(_settings(), lambda s: s.users.revoke_api_key(UserId(user_id), ApiKeyId(key_id)))
    console.print(f"revoked {key_id}")


@accounts_app.command("add")
def add_account(
    account_id: str,
    api_key: Annotated[str, typer.Option(help="the Kite app's api_key")],
    api_secret: Annotated[str, typer.Option(prompt=True, hide_input=True)],
    user_id: Annotated[str, typer.Option("--user", help="the user who may act on it")],
    name: Annotated[str, typer.Option()] = "",
) -> None:
    """Add a Kite account for a user (the secret is stored encrypted)."""

    async def job(services: Services) -> str:
        principal = await services.users.get_user(UserId(user_id))
        account = await services.accounts.add_account(
            principal, AccountId(account_id.upper()), api_key, api_secret, name
        )
        return account.account_id

    console.print(f"added {_with_services(_settings(), job)}")


AccountOption = Annotated[str | None, typer.Option("--account", help="halt this account")]
UserOption = Annotated[str | None, typer.Option("--user", help="halt this user's accounts")]
AsOption = Annotated[str, typer.Option("--as", help="the user acting (an admin for everything)")]


def _scope(account: str | None, user: str | None) -> HaltScope:
    if account is not None and user is not None:
        raise typer.BadParameter("name --account or --user, not both")
    return HaltScope.of(
        AccountId(account.upper()) if account else None, UserId(user) if user else None
    )


@kill_switch_app.command("on")
def kill_switch_on(
    account: AccountOption = None, user: UserOption = None, *, acting: AsOption
) -> None:
    """Halt new orders and modifications on an account, a user's accounts or (neither) all."""
    scope = _scope(account, user)

    async def job(services: Services) -> None:
        principal = await services.users.get_user(UserId(acting))
        await services.kill_switch.engage(principal, scope)

    _with_services(_settings(), job)
    console.print(f"halted {scope.key or 'everything'}")


@kill_switch_app.command("off")
def kill_switch_off(
    account: AccountOption = None, user: UserOption = None, *, acting: AsOption
) -> None:
    """Release the halt on an account, a user's accounts or (neither) everything."""
    scope = _scope(account, user)

    async def job(services: Services) -> None:
        principal = await services.users.get_user(UserId(acting))
        await services.kill_switch.release(principal, scope)

    _with_services(_settings(), job)
    console.print(f"released {scope.key or 'everything'}")


def main() -> None:
    app()
