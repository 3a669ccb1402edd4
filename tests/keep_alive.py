"""One HTTP/1.1 request on a raw kept-alive connection: whether a server still answers on it."""

from __future__ import annotations

import socket


def answer_on(sock: socket.socket, path: str) -> bytes:
    """Send ``GET path`` on the open connection; return the status line, b"" if it was closed.

    The whole answer is read, so the next request on the connection starts clean.
    """
    try:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
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
    except ConnectionResetError:
        return b""
    return head.split(b"\r\n", 1)[0]
