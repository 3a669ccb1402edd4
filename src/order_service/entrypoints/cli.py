"""``order-service``: serve, worker, demo, paper-broker, migrate, users, keys, accounts,
orders, kill-switch."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from order_service.bootstrap import Services, bootstrap
from order_service.config import DEFAULT_DATABASE_URL, Mode, load_settings
from order_service.domain.account import Account, Role
from order_service.domain.halt import HaltScope
from order_service.domain.ids import AccountId, ApiKeyId, StrategyId, UserId
from order_service.entrypoints.cli_orders import orders_app
from order_service.entrypoints.cli_positions import positions_app
from order_service.entrypoints.cli_secrets import secrets_app
from order_service.entrypoints.cli_support import console
from order_service.entrypoints.cli_support import settings as _settings
from order_service.entrypoints.cli_support import with_services as _with_services
from order_service.errors import OrderServiceError
from order_service.observability.metrics import EMERGENCY_STOPS
from order_service.services.emergency_stops import EmergencyStop
from order_service.services.flattening import Flattening
from order_service.services.logins import LoginLink

app = typer.Typer(help="Order Service: order management through Zerodha Kite Connect.")
users_app = typer.Typer(help="Manage users.")
keys_app = typer.Typer(help="Manage API keys.")
accounts_app = typer.Typer(help="Manage trading accounts.")
kill_switch_app = typer.Typer(help="Halt and release trading (new orders and modifications).")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
app.add_typer(accounts_app, name="accounts")
app.add_typer(orders_app, name="orders")
app.add_typer(positions_app, name="positions")
app.add_typer(kill_switch_app, name="kill-switch")
app.add_typer(secrets_app, name="secrets")


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
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="API processes on the port (over 1: PostgreSQL)")
    ] = 1,
    with_workers: Annotated[
        bool, typer.Option("--with-workers", help="also run the background workers, once")
    ] = False,
) -> None:
    """Run the API: one process, or --workers N sharing the port (PostgreSQL only).

    With --with-workers the background workers run too: inside the one API process, or with
    several in one process of their own beside them (never once per API process).
    """
    from order_service.entrypoints.api_processes import refuse_sqlite, serve_processes
    from order_service.entrypoints.server import run_process, serve_api

    settings = _settings(host=host, port=port)
    refuse_sqlite(settings, workers)
    if workers > 1:
        serve_processes(settings, workers, with_workers=with_workers)
        return
    run_process(serve_api(bootstrap(settings), settings, with_workers=with_workers))


@app.command()
def worker() -> None:
    """Run the supervised background workers."""
    from order_service.entrypoints.server import run_process, run_workers

    settings = _settings()
    run_process(run_workers(bootstrap(settings)))


@app.command()
def demo(
    port: Annotated[int | None, typer.Option(help="the API's port (default 8000)")] = None,
    broker_port: Annotated[
        int | None, typer.Option(help="the paper broker's port (default 8001)")
    ] = None,
    var_dir: Annotated[
        Path | None, typer.Option(help="keep the demo's database, keys and books here (./var)")
    ] = None,
) -> None:
    """Paper broker + API + workers on the embedded default, with a logged-in PAPER1."""
    from order_service.entrypoints.demo_runner import run_demo

    settings = _settings(
        mode=Mode.DEMO, port=port, paper_broker_port=broker_port, **_demo_folder(var_dir)
    )
    run_demo(settings, console)


def _demo_folder(var_dir: Path | None) -> dict[str, str]:
    """A second demo's folder holds its own SQLite database too, unless a database is named."""
    if var_dir is None:
        return {}
    folder = {"var_dir": str(var_dir)}
    if load_settings().database_url == DEFAULT_DATABASE_URL:
        folder["database_url"] = f"sqlite+aiosqlite:///{var_dir}/order-service.db"
    return folder


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


@users_app.command("list")
def list_users() -> None:
    """Every user: id, name, roles, created (never a key or a secret)."""
    users = _with_services(_settings(), lambda s: s.users.list_users())
    table = Table()
    table.add_column("user_id", no_wrap=True, min_width=26)  # whole, to be copied
    for name in ("name", "roles", "created"):
        table.add_column(name)
    for user in users:
        roles = ",".join(sorted(role.value for role in user.roles))
        table.add_row(user.user_id, user.name, roles, user.created_at.isoformat(timespec="seconds"))
    console.print(table)


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


@accounts_app.command("login")
def login_account(
    account_id: str,
    user_id: Annotated[str, typer.Option("--user", help="the user logging it in")],
    browser: Annotated[
        bool, typer.Option("--browser/--no-browser", help="open the link in a browser, if any")
    ] = True,
) -> None:
    """Print a one-time link to the account's Kite login (and open it where a browser is).

    The link works once, for ten minutes; after the Kite login the service's callback stores
    the day's session. Kite's callback must reach this service: register its
    /api/v1/accounts/login/callback as the Kite app's redirect URL.
    """

    async def job(services: Services) -> LoginLink:
        principal = await services.users.get_user(UserId(user_id))
        return await services.logins.start(principal, AccountId(account_id.upper()))

    link = _with_services(_settings(), job)
    console.print(link.url)
    console.print(f"valid once, until {link.expires_at.isoformat(timespec='seconds')}")
    if browser and webbrowser.open(link.url):
        console.print("opened in the browser")


@app.callback()
def _options(
    debug: Annotated[bool, typer.Option("--debug", help="show an error's traceback")] = False,
) -> None:
    _Run.debug = debug


class _Run:
    """What the global options chose for this run."""

    debug = False


@accounts_app.command("list")
def list_accounts(
    user_id: Annotated[str, typer.Option("--user", help="the user whose accounts to list")],
) -> None:
    """The accounts the user may act on, with their session state."""

    async def job(services: Services) -> list[Account]:
        return await services.accounts.list_accounts(await services.users.get_user(UserId(user_id)))

    for account in _with_services(_settings(), job):
        until = account.token_expires_at.isoformat() if account.token_expires_at else "-"
        console.print(f"{account.account_id}  {account.session_state.value}  until {until}")


@accounts_app.command("remove")
def remove_account(
    account_id: str,
    user_id: Annotated[str, typer.Option("--user", help="the user removing it")],
) -> None:
    """Remove an account: its session is forgotten, its orders keep their history."""

    async def job(services: Services) -> None:
        principal = await services.users.get_user(UserId(user_id))
        await services.accounts.remove_account(principal, AccountId(account_id.upper()))

    _with_services(_settings(), job)
    console.print(f"removed {account_id.upper()}")


@accounts_app.command("stop")
def stop_account(
    account_id: str,
    user_id: Annotated[str, typer.Option("--user", help="the user stopping it")],
) -> None:
    """Emergency stop: cancel every working order at the broker, every scope to MANUAL."""

    async def job(services: Services) -> EmergencyStop:
        principal = await services.users.get_user(UserId(user_id))
        return await services.emergency_stops.stop(principal, AccountId(account_id.upper()))

    stop = _with_services(_settings(), job)
    EMERGENCY_STOPS.inc()
    for outcome in stop.outcomes:
        failed = f"  cancel failed: {outcome.error_code}" if outcome.error_code else ""
        console.print(f"{outcome.order.order_id}  {outcome.status.value}{failed}")
    console.print(f"stopped {stop.account_id}: every scope {stop.control_mode.value}")
    if any(outcome.error_code for outcome in stop.outcomes):
        raise typer.Exit(1)


AccountOption = Annotated[str | None, typer.Option("--account", help="halt this account")]
UserOption = Annotated[str | None, typer.Option("--user", help="halt this user's accounts")]
AsOption = Annotated[str, typer.Option("--as", help="the user acting (an admin for everything)")]
FlattenOption = Annotated[
    bool,
    typer.Option(
        "--flatten", help="also cancel working orders and square off MIS positions in the scope"
    ),
]


def _scope(account: str | None, user: str | None) -> HaltScope:
    if account is not None and user is not None:
        raise typer.BadParameter("name --account or --user, not both")
    return HaltScope.of(
        AccountId(account.upper()) if account else None, UserId(user) if user else None
    )


@kill_switch_app.command("on")
def kill_switch_on(
    account: AccountOption = None,
    user: UserOption = None,
    *,
    acting: AsOption,
    flatten: FlattenOption = False,
) -> None:
    """Halt new orders and modifications on an account, a user's accounts or (neither) all."""
    scope = _scope(account, user)
    flattened: list[Flattening] = []

    async def job(services: Services) -> None:
        principal = await services.users.get_user(UserId(acting))
        halt = await services.kill_switch.engage(principal, scope, flatten)
        if flatten:
            flattened.append(await services.flattening.flatten(principal, halt))

    _with_services(_settings(), job)
    console.print(f"halted {scope.key or 'everything'}")
    if flattened and not _print_flattening(flattened[0]):
        raise typer.Exit(1)


def _print_flattening(flattening: Flattening) -> bool:
    """Print each cancel and square-off; return True if every one succeeded."""
    for outcome in flattening.cancels:
        failed = f"  cancel failed: {outcome.error_code}" if outcome.error_code else ""
        console.print(f"cancel {outcome.order.order_id}  {outcome.status.value}{failed}")
    for close in flattening.square_offs:
        where = f"{close.account_id} {close.exchange}:{close.tradingsymbol} {close.net_quantity}"
        error = close.error.error_code if close.error else "unknown"
        done = close.order.order_id if close.order else f"failed: {error}"
        console.print(f"square off {where}  {done}")
    failures = [c for c in flattening.cancels if c.error_code]
    return not failures and all(c.error is None for c in flattening.square_offs)


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
    """Run the command; a refusal to start (configuration, an unreachable database or port) is
    one line on stderr and exit status 1, with the traceback only under ``--debug``."""
    try:
        app()
    except OrderServiceError as exc:
        if _Run.debug:
            raise
        Console(stderr=True, soft_wrap=True).print(f"[red]{exc.error_code}[/red]: {exc.message}")
        raise SystemExit(1) from None
