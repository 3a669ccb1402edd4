"""An idle connection outlives a client pool's own keep-alive: a request sent on it is answered."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

from paper_broker.server import PaperBrokerServer
from tests.keep_alive import answer_on


def test_an_idle_connection_is_still_answered_after_uvicorns_default_keep_alive(
    server: PaperBrokerServer,
) -> None:
    # The SDK's requests session reuses its connection: a server closing it after uvicorn's
    # default 5 s idle, just as an order was sent on it, left the order's outcome unknown.
    address = urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        assert answer_on(sock, "/_admin/state") == b"HTTP/1.1 200 OK"
        time.sleep(5.5)
        again = answer_on(sock, "/_admin/state")
    assert again == b"HTTP/1.1 200 OK"
