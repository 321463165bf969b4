"""Throwaway HTTP servers on 127.0.0.1 (port 0) that play a FHIR or JWKS server and count hits.

Each server runs in a daemon thread; a handler may sleep, reset the connection or stream a huge
body. Sleeping handlers wait on the server's stop event, so closing the server ends them at once.
"""

from __future__ import annotations

import contextlib
import json
import socket
import struct
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

# A reply is a status, headers and a body: bytes, or an iterable of chunks sent as they come.
Body = bytes | Iterable[bytes]


@dataclass
class Reply:
    """What a loopback route answers."""

    status: int = 200
    body: Body = b""
    headers: dict[str, str] = field(default_factory=dict)
    sleep: float = 0.0  # seconds to stall before answering (bounded by the server's stop event)
    reset: bool = False  # close the TCP connection with RST instead of answering
    chunked: bool = False  # send without Content-Length, in chunked transfer encoding


def json_reply(data: Any, status: int = 200, **extra: Any) -> Reply:
    """Answer ``data`` as application/fhir+json."""
    body = json.dumps(data).encode()
    return Reply(status, body, {"Content-Type": "application/fhir+json"}, **extra)


Route = Callable[[str], Reply]


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        """Count the hit and play the route's reply."""
        self.server.owner.record(self.path)
        reply = self.server.owner.route(self.path)
        if reply.sleep:
            self.server.owner.stopped.wait(reply.sleep)
        if reply.reset:
            # SO_LINGER 0: close() sends RST, which the client sees as "connection reset".
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        # The client may give up (timeout, size cap) mid-answer: expected in these tests.
        with contextlib.suppress(OSError):
            self._send(reply)

    def _send(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if isinstance(reply.body, bytes) and not reply.chunked:
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        chunks = [reply.body] if isinstance(reply.body, bytes) else reply.body
        for chunk in chunks:
            if self.server.owner.stopped.is_set():
                return
            self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
        self.wfile.write(b"0\r\n\r\n")

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: test output is for failures."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    owner: LoopbackServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore client disconnects; the test asserts on what the service did."""


class LoopbackServer:
    """One HTTP server on 127.0.0.1 with a route function and a hit log."""

    def __init__(self, route: Route | None = None) -> None:
        self.route: Route = route or (lambda path: Reply(404))
        self.hits: list[str] = []
        self.stopped = threading.Event()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        # A short poll keeps shutdown (and so every test's teardown) quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base(self) -> str:
        """Return ``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def record(self, path: str) -> None:
        """Remember one request path."""
        with self._lock:
            self.hits.append(path)

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def serving(route: Route | None = None) -> Iterator[LoopbackServer]:
    """Yield a running loopback server (for fixtures)."""
    with LoopbackServer(route) as server:
        yield server
