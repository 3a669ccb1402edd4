"""Events out: commit-to-client delay of the live stream, and webhook deliveries per second.

Stream: the service (its own process, workers on) and the paper broker with Kite's rate limits;
100 clients hold the SSE stream open while orders are placed one at a time at the broker's
pace (10/s). Each client notes when each event arrives; the delay is that instant minus the
event's ``occurred_at``, stamped just before its transaction commits (one machine, one clock).
Prints the p50, p99 and max delay and whether every client got every event (DESIGN.md
section 13: p50 < 20 ms, p99 < 100 ms).

Webhooks: a second service without rate limits, ``--endpoints`` webhooks pointing to one local
receiver (its own process), and orders placed by 8 concurrent clients; prints the deliveries
the receiver got per second, from the first to the last, and whether each event reached each
endpoint.

Usage: python -m benchmarks.events [--clients 100] [--orders 100] [--webhook-orders 200]
       [--endpoints 10] [--postgres-url postgresql+asyncpg://…]
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
import orjson

from benchmarks.harness import MARKET_ORDER, Stack, free_port, keyed, start_stack, wait_http

ORDER = {"account_id": "PAPER1", **MARKET_ORDER}
STREAM = "/api/v1/order-events/stream"


@dataclass
class StreamReport:
    clients: int
    orders: int
    events: int = 0
    delays: list[float] = field(default_factory=list)
    complete: bool = False

    def lines(self) -> list[str]:
        ordered = sorted(self.delays)
        p50 = statistics.median(ordered) * 1000
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000
        return [
            f"stream: {self.clients} clients, {self.orders} orders, {self.events} events each",
            f"  commit -> client delay p50 {p50:.1f} ms, p99 {p99:.1f} ms,"
            f" max {ordered[-1] * 1000:.1f} ms over {len(ordered)} receipts",
            f"  every client got every event once, in order: {self.complete}",
        ]


async def _client(
    api_url: str, key: str, ready: asyncio.Event, got: list[tuple[int, float]]
) -> None:
    """Hold the stream open; note each event's sequence and its delay at arrival.

    A bare HTTP/1.1 client on asyncio streams: a hundred httpx streams in one process cost
    more CPU than the service's side of the fan-out, and their queueing would be measured.
    """
    host, port = api_url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    request = f"GET {STREAM} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\n\r\n"
    writer.write(request.encode())
    try:
        await reader.readuntil(b"\r\n\r\n")  # the status line and headers
        while True:  # chunked transfer coding: one chunk per frame
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            arrived = time.time()
            for frame in chunk.split(b"\n\n"):
                if frame.startswith(b":"):
                    ready.set()
                elif frame.strip():
                    event = orjson.loads(frame.rpartition(b"data: ")[2])
                    stamped = datetime.fromisoformat(event["occurred_at"]).timestamp()
                    got.append((event["sequence"], arrived - stamped))
    finally:
        writer.close()


async def run_stream(stack: Stack, clients: int, orders: int) -> StreamReport:
    report = StreamReport(clients, orders)
    received: list[list[tuple[int, float]]] = [[] for _ in range(clients)]
    readies = [asyncio.Event() for _ in range(clients)]
    tasks = [
        asyncio.create_task(_client(stack.api_url, stack.api_key, readies[i], received[i]))
        for i in range(clients)
    ]
    await asyncio.gather(*(ready.wait() for ready in readies))
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60) as api:
        start = await _last_sequence(api)
        for _ in range(orders):
            paced = asyncio.create_task(asyncio.sleep(0.1))  # the broker's 10 orders/s
            placed = await api.post("/api/v1/orders", json=ORDER, headers=keyed())
            assert placed.status_code in (201, 202), placed.text  # 202: outcome unknown
            await paced
        await asyncio.sleep(1.0)
        expected = await _sequences_after(api, start)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report.events = len(expected)
    report.complete = all([s for s, _ in got if s > start] == expected for got in received)
    report.delays = [delay for got in received for s, delay in got if s > start]
    return report


async def _last_sequence(api: httpx.AsyncClient) -> int:
    after = 0
    while True:
        page = (
            await api.get("/api/v1/order-events", params={"after": after, "limit": 1000})
        ).json()
        if not page["items"]:
            return after
        after = page["next"]


async def _sequences_after(api: httpx.AsyncClient, start: int) -> list[int]:
    found: list[int] = []
    after = start
    while True:
        page = (
            await api.get("/api/v1/order-events", params={"after": after, "limit": 1000})
        ).json()
        if not page["items"]:
            return found
        found += [item["sequence"] for item in page["items"]]
        after = page["next"]


def _run_receiver(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    arrivals: list[tuple[str, str, float]] = []

    async def hook(request: Request) -> Response:
        await request.body()
        endpoint = request.path_params["endpoint"]
        arrivals.append((endpoint, request.headers["webhook-id"], time.time()))
        return Response(status_code=204)

    async def stats(_: Request) -> JSONResponse:
        return JSONResponse({"arrivals": arrivals})

    app = Starlette(
        routes=[Route("/hook/{endpoint}", hook, methods=["POST"]), Route("/stats", stats)]
    )
    uvicorn.run(app, host="127.0.0.1", port=port, log_level="error")


async def run_webhooks(stack: Stack, orders: int, endpoints: int) -> list[str]:
    port = free_port()
    receiver = mp.get_context("spawn").Process(target=_run_receiver, args=(port,), daemon=True)
    receiver.start()
    wait_http(f"http://127.0.0.1:{port}/stats")
    headers = {"Authorization": f"Bearer {stack.api_key}"}
    try:
        async with httpx.AsyncClient(base_url=stack.api_url, headers=headers, timeout=60) as api:
            start = await _last_sequence(api)
            for endpoint in range(endpoints):
                url = f"http://127.0.0.1:{port}/hook/{endpoint}"
                body = {"url": url, "event_types": ["order.*"]}
                assert (await api.post("/api/v1/webhooks", json=body)).status_code == 201
            await _place_concurrently(api, orders, 8)
            expected = len(await _sequences_after(api, start)) * endpoints
            arrivals = await _wait_for(port, expected)
    finally:
        receiver.terminate()
        receiver.join(10)
    times = sorted(at for _, _, at in arrivals)
    span = max(times[-1] - times[0], 1e-9)
    distinct = {(endpoint, message) for endpoint, message, _ in arrivals}
    return [
        f"webhooks: {endpoints} endpoints, {orders} orders, {expected} deliveries expected",
        f"  received {len(arrivals)} in {span:.2f} s: {len(arrivals) / span:.0f} deliveries/s",
        f"  each event reached each endpoint: {len(distinct) >= expected},"
        f" sent twice: {len(arrivals) - len(distinct)}",
    ]


async def _place_concurrently(api: httpx.AsyncClient, orders: int, concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            placed = await api.post("/api/v1/orders", json=ORDER, headers=keyed())
            assert placed.status_code == 201, placed.text

    await asyncio.gather(*(one() for _ in range(orders)))


async def _wait_for(port: int, expected: int, within: float = 120) -> list[Any]:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=30) as client:
        while True:
            arrivals: list[Any] = (await client.get(f"http://127.0.0.1:{port}/stats")).json()[
                "arrivals"
            ]
            if len(arrivals) >= expected or time.monotonic() > deadline:
                return arrivals
            await asyncio.sleep(0.2)


async def _empty_postgres(url: str) -> None:
    from sqlalchemy import text

    from order_service.adapters.db.engine import create_engine

    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.execute(text("DROP SCHEMA public CASCADE"))
        await connection.execute(text("CREATE SCHEMA public"))
    await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--orders", type=int, default=100)
    parser.add_argument("--webhook-orders", type=int, default=200)
    parser.add_argument("--endpoints", type=int, default=10)
    parser.add_argument("--postgres-url", help="run the service on PostgreSQL (emptied first)")
    parser.add_argument("--skip-webhooks", action="store_true")
    args = parser.parse_args()
    service: dict[str, Any] = {}
    if args.postgres_url:
        service["database_url"] = args.postgres_url
        asyncio.run(_empty_postgres(args.postgres_url))
    stack = start_stack(rate_limits=True, **service)
    try:
        print("\n".join(asyncio.run(run_stream(stack, args.clients, args.orders)).lines()))
    finally:
        stack.stop()
    if args.skip_webhooks:
        return
    if args.postgres_url:
        asyncio.run(_empty_postgres(args.postgres_url))
    stack = start_stack(rate_limits=False, **service)
    try:
        print("\n".join(asyncio.run(run_webhooks(stack, args.webhook_orders, args.endpoints))))
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
