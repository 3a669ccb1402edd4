"""An idle connection outlives a client pool's own keep-alive: a request sent on it is answered."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from paper_broker.server import PaperBrokerServer

REQUEST = b"GET /_admin/state HTTP/1.1\r\nHost: paper\r\n\r\n"


def _answer(sock: socket.socket) -> bytes:
    """Send one keep-alive request on the connection; return its status line ('' if closed)."""
    sock.sendall(REQUEST)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return b""
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head.split(b"\r\n", 1)[0]


def test_an_idle_connection_is_still_answered_after_uvicorns_default_keep_alive(
    server: PaperBrokerServer,
) -> None:
    # The SDK's requests session reuses its connection: a server closing it after uvicorn's
    # default 5 s idle, just as an order was sent on it, left the order's outcome unknown.
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        assert _answer(sock) == b"HTTP/1.1 200 OK"
        time.sleep(5.5)
        try:
            again = _answer(sock)
        except ConnectionResetError:
            again = b""
    assert again == b"HTTP/1.1 200 OK"
