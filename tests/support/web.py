"""Real HTTP servers on 127.0.0.1 for the loom_http tests, each in a thread: plain HTTP, HTTPS with the fixtures'
test PKI (TLSNotary's test-server.io certificate, signed by its test root; see fixtures/NOTICE.md), and routes that
redirect, answer slowly, trickle, send too much, or echo back everything they received (headers included)."""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from tests.support import FIXTURES

PKI = FIXTURES / "tlsn" / "test-server-pki"
TLS_NAME = "test-server.io"  # the name in the test certificate
DOCUMENT = {"pair": "ETH/USD", "price": {"usd": 3125.5}, "note": "ünï 🦊"}


@dataclass
class Seen:
    """What a server received, for the tests to check what left the host."""

    requests: list[dict[str, object]] = field(default_factory=list)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: Seen

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _route(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.seen.requests.append(
            {"method": self.command, "path": self.path, "headers": dict(self.headers.items()), "body": body.decode()}
        )
        if url.path == "/json":
            self._send(200, json.dumps(DOCUMENT, ensure_ascii=False).encode(), {"Content-Type": "application/json"})
        elif url.path == "/echo":  # everything the server received, as the guest would then see it
            echoed = {"method": self.command, "headers": dict(self.headers.items()), "body": body.decode()}
            self._send(200, json.dumps(echoed).encode(), {"X-Echo": self.headers.get("Authorization", "")})
        elif url.path == "/redirect":
            self._send(int(query.get("code", "302")), b"", {"Location": query["to"]})
        elif url.path == "/big":
            self._send(200, b"a" * int(query["n"]))
        elif url.path == "/big-unsized":  # no Content-Length: the size shows only while reading
            self.send_response(200)
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(b"a" * int(query["n"]))
            self.close_connection = True
        elif url.path == "/slow":
            time.sleep(float(query["s"]))
            self._send(200, b'{"late": true}')
        elif url.path == "/trickle":  # headers at once, then a byte every 0.2 s, for ever
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(100000):
                    self.wfile.write(b"a")
                    self.wfile.flush()
                    time.sleep(0.2)
            except OSError:
                pass
        elif url.path == "/binary":
            self._send(200, bytes(range(256)))
        else:
            self._send(404, b'{"error": "not found"}')

    do_GET = do_POST = do_PUT = do_DELETE = _route


@dataclass(frozen=True)
class Server:
    port: int
    seen: Seen
    scheme: str

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"{self.scheme}://{host}:{self.port}{path}"


@contextmanager
def serve(*, tls: bool = False) -> Iterator[Server]:
    """A server on 127.0.0.1 (an ephemeral port) for the duration of the block."""
    seen = Seen()
    handler = type("Handler", (_Handler,), {"seen": seen})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    if tls:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(PKI / "test_server.crt", PKI / "test_server.key")
        httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name="test-web", daemon=True)
    thread.start()
    try:
        yield Server(httpd.server_address[1], seen, "https" if tls else "http")
    finally:
        httpd.shutdown()
        httpd.server_close()


def root_pem() -> str:
    """The test PKI's root certificate, which signs test-server.io's."""
    return (PKI / "root_ca.crt").read_text()
