"""A tiny Kite-shaped HTTP server on loopback: canned replies, and a record of every request."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

BOOK_REPLY = b'{"status":"success","data":[]}'
PLACED_REPLY = b'{"status":"success","data":{"order_id":"250302000000001"}}'


@dataclass(frozen=True, slots=True)
class Seen:
    """One request: what its caller meant it for, the token it carried, its TCP connection."""

    intended: str  # the order id of a read, the tag of a placement
    authorization: str
    connection: int  # the client's port: one per TCP connection


@dataclass(slots=True)
class Reply:
    body: bytes
    content_type: str | None = "application/json"


@dataclass
class LocalKite:
    """Answers GET /orders/{id} with ``history`` and POST /orders/{variety} with ``place``."""

    history: Reply = field(default_factory=lambda: Reply(BOOK_REPLY))
    place: Reply = field(default_factory=lambda: Reply(PLACED_REPLY))
    seen: list[Seen] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    def start(self) -> str:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        serve = partial(self._server.serve_forever, poll_interval=0.05)
        threading.Thread(target=serve, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.seen.append(seen)


def _handler(kite: LocalKite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, so the client's pool is observable
        disable_nagle_algorithm = True  # headers and body go out as two writes

        def do_GET(self) -> None:
            self._record(self.path.rsplit("/", 1)[-1])
            self._answer(kite.history)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = parse_qs(self.rfile.read(length).decode())
            self._record(form.get("tag", [""])[0])
            self._answer(kite.place)

        def _record(self, intended: str) -> None:
            authorization = self.headers.get("Authorization", "")
            kite.record(Seen(intended, authorization, self.client_address[1]))

        def _answer(self, reply: Reply) -> None:
            self.send_response(200)
            if reply.content_type is not None:
                self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: object) -> None:
            """Stay quiet: the test reads ``seen``, not a log."""

    return Handler
