"""Start the demo processes in one event loop and keep them running."""

from __future__ import annotations

import socket
from pathlib import Path

from rich.console import Console

from order_service.bootstrap import bootstrap
from order_service.config import Settings
from order_service.entrypoints.demo import prepare_demo, secure_var_dir
from order_service.entrypoints.server import bind_api, run_process, serve_api


def run_demo(settings: Settings, console: Console) -> None:
    """Take the API's port, migrate, start the paper broker, prepare PAPER1, then serve.

    The port comes first: a second demo started while one runs must stop before it logs PAPER1
    into a paper broker of its own (which would replace the running demo's stored session).
    """
    api_socket = bind_api(settings)
    try:
        _run(settings, console, api_socket)
    finally:
        api_socket.close()


def _run(settings: Settings, console: Console, api_socket: socket.socket) -> None:
    from order_service.adapters.db.migrate import upgrade
    from paper_broker.config import PaperBrokerConfig
    from paper_broker.server import PaperBrokerServer

    secure_var_dir(settings)  # before the database, the secrets and the key are written there
    upgrade(settings.database_url)
    api = f"http://{settings.host}:{settings.port}"
    broker = PaperBrokerServer(
        PaperBrokerConfig.from_env(
            port=settings.paper_broker_port,
            redirect_url=f"{api}/api/v1/accounts/login/callback",
            postback_url=f"{api}/api/v1/broker/postback",
            # The broker's books outlive a restart, like the service's database beside them.
            state_file=Path(settings.var_dir) / "paper-broker.json",
        )
    )
    broker_url = broker.start()
    try:
        run_process(_serve(settings, console, broker_url, api_socket))
    finally:
        broker.stop()


async def _serve(
    settings: Settings, console: Console, broker_url: str, api_socket: socket.socket
) -> None:
    services = bootstrap(settings)
    key = await prepare_demo(services, settings)
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"[bold]paper broker[/bold] {broker_url}   [bold]API[/bold] {base}/docs")
    console.print(f"[bold]demo API key[/bold] {key}  (also in {settings.var_dir}/demo-api-key)")
    console.print(
        f"try: curl -s -X POST {base}/api/v1/orders -H 'Authorization: Bearer {key}' "
        "-H 'Idempotency-Key: my-first-order' "
        '-H \'Content-Type: application/json\' -d \'{"account_id":"PAPER1","exchange":"NSE",'
        '"tradingsymbol":"INFY","transaction_type":"BUY","quantity":1,"product":"CNC",'
        '"order_type":"MARKET"}\''
    )
    await serve_api(services, settings, with_workers=True, sockets=[api_socket])
