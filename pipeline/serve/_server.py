"""Running the API: uvicorn on loopback by default, with TLS when given a certificate and key."""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
import warnings
from pathlib import Path

from pipeline import errors
from pipeline.serve._settings import Settings


class ExposedWithoutTls(UserWarning):
    """The server listens beyond this machine without TLS: API keys and everything sent cross the network as
    plain text."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve(
    settings: Settings,
    *,
    host: str = "127.0.0.1",
    port: int = 8787,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> None:
    """Serve until interrupted (SIGINT/SIGTERM end it cleanly: running requests finish first)."""
    try:
        import uvicorn

        from pipeline.serve._app import create_app
    except ImportError:
        raise errors.InvalidInput("loom serve needs the serve extra: pip install 'loom-verifiable[serve]'") from None
    if (tls_cert is None) != (tls_key is None):
        raise errors.InvalidInput("give both --tls-cert and --tls-key, or neither")
    if not is_loopback(host) and tls_cert is None:
        warnings.warn(
            f"loom serve listens on {host} without TLS: API keys and bodies cross the network in the clear "
            "(give --tls-cert and --tls-key, or put it behind a TLS proxy)",
            ExposedWithoutTls,
            stacklevel=2,
        )
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    app = create_app(settings)  # refused (another server owns this data dir) before anything listens
    sock = _listen(host, port)
    config = uvicorn.Config(
        app,
        access_log=False,  # the guard writes its own, without query strings
        log_level="warning",
        ssl_certfile=str(tls_cert) if tls_cert else None,
        ssl_keyfile=str(tls_key) if tls_key else None,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    bound_host, bound_port = sock.getsockname()[:2]
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    sys.stderr.write(f"loom serve: listening on {'https' if tls_cert else 'http'}://{shown}:{bound_port}\n")
    sys.stderr.flush()
    with sock:
        uvicorn.Server(config).run(sockets=[sock])


def _listen(host: str, port: int) -> socket.socket:
    """The listening socket (port 0: one the system picks), so a port in use is one line before anything starts.
    Made with ``IPPROTO_TCP`` named: asyncio sets TCP_NODELAY only on connections of such a socket, and without it
    every answer on a kept-alive connection waited ~40 ms for the client's delayed ACK (Nagle)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise errors.InvalidInput(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return sock
