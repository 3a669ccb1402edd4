"""Order placements/s through the official SDK: the paper broker against a bare reference server.

Both servers run in their own processes so that the client threads do not share a GIL with them.
The bare server answers every `POST /orders/regular` with Kite's success envelope and nothing else;
it is the physical ceiling of SDK + HTTP on this machine. Target: paper >= 70 % of bare. With
`--postbacks`, a third server is measured: a paper broker posting every fill to a sink (the bare
server's `/hook`), to show what delivering postbacks costs placement.

    python benchmarks/paper_broker.py [--orders 2000] [--clients 1 8] [--postbacks]
"""

from __future__ import annotations

import argparse
import importlib
import multiprocessing
import socket
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.synchronize import Event
from pathlib import Path
from types import ModuleType
from urllib.parse import parse_qs, urlsplit

import requests
import uvicorn
from kiteconnect import KiteConnect
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

API_KEY = "paper"
API_SECRET = "paper-secret"  # noqa: S105 - the paper broker's documented demo secret
WARMUP_ORDERS = 100


def _paper_broker() -> ModuleType:
    # This script shares its name with the package: keep its own folder off the import path.
    here = Path(__file__).resolve().parent
    sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != here]
    return importlib.import_module("paper_broker")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _bare_place(request: Request) -> Response:
    return Response(b'{"status":"success","data":{"order_id":"1"}}', media_type="application/json")


async def _sink(request: Request) -> Response:
    await request.body()
    return Response(b"ok")


def _run_bare(port: int, ready: Event, stop: Event) -> None:
    routes = [
        Route("/orders/regular", _bare_place, methods=["POST"]),
        Route("/hook", _sink, methods=["POST"]),
    ]
    app = Starlette(routes=routes)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        http="httptools",
        loop="uvloop",
        access_log=False,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    ready.set()
    stop.wait()
    server.should_exit = True
    thread.join()


def _run_paper(port: int, ready: Event, stop: Event, postback_url: str | None = None) -> None:
    package = _paper_broker()
    config = package.PaperBrokerConfig(
        port=port, rate_limits=False, funds=Decimal("1e12"), postback_url=postback_url
    )
    server = package.PaperBrokerServer(config)
    server.start()
    ready.set()
    stop.wait()
    server.stop()


@dataclass(frozen=True)
class Result:
    rate: float
    p50_ms: float
    p99_ms: float


def _login(url: str) -> str:
    reply = requests.get(
        f"{url}/connect/login",
        params={"api_key": API_KEY, "v": "3"},
        allow_redirects=False,
        timeout=5,
    )
    token = parse_qs(urlsplit(reply.headers["location"]).query)["request_token"][0]
    kite = KiteConnect(API_KEY, root=url)
    session = kite.generate_session(token, API_SECRET)
    access_token: str = session["access_token"]
    return access_token


def _place(kite: KiteConnect) -> None:
    kite.place_order(
        variety="regular",
        exchange="NSE",
        tradingsymbol="INFY",
        transaction_type="BUY",
        quantity=1,
        product="CNC",
        order_type="MARKET",
        market_protection=-1,
        tag="bench",
    )


def _measure(url: str, access_token: str, orders: int, clients: int) -> Result:
    kites = [KiteConnect(API_KEY, access_token=access_token, root=url) for _ in range(clients)]
    for kite in kites:
        for _ in range(WARMUP_ORDERS // clients + 1):
            _place(kite)
    latencies: list[list[float]] = [[] for _ in kites]
    share = orders // clients

    def worker(index: int) -> None:
        own = latencies[index]
        for _ in range(share):
            started = time.perf_counter()
            _place(kites[index])
            own.append(time.perf_counter() - started)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    flat = sorted(value for own in latencies for value in own)
    return Result(
        rate=len(flat) / elapsed,
        p50_ms=statistics.median(flat) * 1000,
        p99_ms=flat[int(len(flat) * 0.99) - 1] * 1000,
    )


def _serve(
    target: Callable[..., None], *extra: object
) -> tuple[str, Event, multiprocessing.Process]:
    port = _free_port()
    ready, stop = multiprocessing.Event(), multiprocessing.Event()
    process = multiprocessing.Process(target=target, args=(port, ready, stop, *extra), daemon=True)
    process.start()
    if not ready.wait(30):
        raise RuntimeError(f"{target.__name__} did not start")
    return f"http://127.0.0.1:{port}", stop, process


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--orders", type=int, default=2000, help="placements per measurement")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8], help="client threads")
    parser.add_argument("--postbacks", action="store_true", help="also measure with postbacks")
    args = parser.parse_args()
    bare_url, bare_stop, bare = _serve(_run_bare)
    servers = {"paper": _serve(_run_paper)}
    if args.postbacks:
        servers["paper+pb"] = _serve(_run_paper, f"{bare_url}/hook")
    try:
        tokens = {name: _login(url) for name, (url, _, _) in servers.items()}
        print(f"{'server':<10}{'clients':>8}{'orders/s':>11}{'p50 ms':>9}{'p99 ms':>9}")
        for clients in args.clients:
            results = {"bare": _measure(bare_url, "bench", args.orders, clients)}
            for name, (url, _, _) in servers.items():
                results[name] = _measure(url, tokens[name], args.orders, clients)
            for name, result in results.items():
                print(
                    f"{name:<10}{clients:>8}{result.rate:>11.0f}"
                    f"{result.p50_ms:>9.2f}{result.p99_ms:>9.2f}"
                )
            for name in servers:
                ratio = results[name].rate / results["bare"].rate
                print(f"{name}/bare with {clients} client(s): {ratio:.0%}")
    finally:
        for _, stop, process in [*servers.values(), (bare_url, bare_stop, bare)]:
            stop.set()
            process.join(10)


if __name__ == "__main__":
    main()
