"""The door of ``loom serve``: every request but ``/health`` and the login page shows a live API key before anything
of it is read (a browser without one is sent to the login page), no body grows past the cap (declared or
streamed), and each request leaves one access-log line that names the key but never a query string, a header value
or a body.

It is plain ASGI, outside the app, so a refused request costs no routing, no parsing and no thread.
"""

from __future__ import annotations

import json
import logging
import time
from http.cookies import CookieError, SimpleCookie
from typing import Any

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipeline import errors
from pipeline.serve._keys import ApiKeys

log = logging.getLogger("loom.serve")

OPEN_PATHS = frozenset({"/health", "/login", "/static/viewer.css"})
"""Routes that need no key: a load balancer's or a supervisor's probe, and the viewer's login page."""
VIEWER_COOKIE = "loom_key"
"""Where a browser keeps its key (``/login`` sets it): accepted for the viewer's GETs only, never by the API, so
another site cannot make a logged-in browser call it."""

UNAUTHORIZED = (
    "a live API key is needed: send it as the x-api-key header or as Authorization: Bearer KEY "
    "(make one with `loom serve keys add NAME`)"
)


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the cap; an HTTPException so the app's body parsing passes it on."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is over the server's limit of {limit:,} bytes (--max-body-mib)")


def error_body(kind: str, message: str, exit_code: int) -> bytes:
    return json.dumps(
        {"error": {"type": kind, "message": message, "exit_code": exit_code}}, separators=(",", ":")
    ).encode()


def is_api(path: str) -> bool:
    """Whether a path is the API's (``/v1``, ``/bonsai``, the OpenAPI document) rather than the viewer's."""
    return path.startswith(("/v1/", "/bonsai/")) or path in ("/v1", "/bonsai", "/openapi.json")


def presented_key(scope: Scope) -> str | None:
    """The key a request shows: ``x-api-key`` (as bonsai-sdk sends it) or ``Authorization: Bearer``; for a page of
    the viewer, also the login cookie."""
    bearer = cookie = None
    for name, value in scope.get("headers", ()):
        if name == b"x-api-key":
            return str(value.decode("latin-1"))
        if name == b"authorization" and value[:7].lower() == b"bearer ":
            bearer = str(value[7:].decode("latin-1")).strip()
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(str(value.decode("latin-1")))
            except CookieError:
                continue
            if VIEWER_COOKIE in jar:
                cookie = jar[VIEWER_COOKIE].value
    if bearer is not None:
        return bearer
    if scope["method"] in ("GET", "HEAD") and not is_api(scope["path"]):
        return cookie
    return None


class Guard:
    """Authentication, the body cap and the access log around an ASGI app."""

    def __init__(self, app: ASGIApp, keys: ApiKeys, max_body: int) -> None:
        self.app = app
        self.keys = keys
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.monotonic()
        status = [0]
        who = "-"

        async def tracked_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if scope["path"] not in OPEN_PATHS:
                try:
                    name = self.keys.check(presented_key(scope))
                except errors.StoreFailed as exc:  # the keys file is damaged or readable by others: no one gets in
                    await _answer(tracked_send, 503, type(exc).__name__, str(exc), exc.exit_code)
                    return
                if name is None and scope["method"] in ("GET", "HEAD") and not is_api(scope["path"]):
                    await _redirect(tracked_send, "/login")  # a browser without its cookie: the login page
                    return
                if name is None:
                    challenge = [(b"www-authenticate", b"Bearer")]
                    await _answer(tracked_send, 401, "Unauthorized", UNAUTHORIZED, 4, challenge)
                    return
                who = name
            refusal = self._declared_size_refusal(scope)
            if refusal is not None:
                await _answer(tracked_send, *refusal)
                return
            await self.app(scope, self._capped(receive), tracked_send)
        finally:
            log.info(
                "%s %s %s %d %.1fms",
                who,
                scope["method"],
                scope["path"][:200].encode("unicode_escape").decode(),
                status[0],
                (time.monotonic() - began) * 1000,
            )

    def _declared_size_refusal(self, scope: Scope) -> tuple[int, str, str, int] | None:
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if not value.isdigit() or len(value) > 19:
                    return 400, "InvalidInput", "the Content-Length header is not a number", 2
                if int(value) > self.max_body:
                    return 413, "InvalidInput", BodyTooLarge(self.max_body).detail, 2
        return None

    def _capped(self, receive: Receive) -> Receive:
        """``receive`` that counts the body and raises ``BodyTooLarge`` past the cap (a chunked body declares no
        length)."""
        seen = 0

        async def capped() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    raise BodyTooLarge(self.max_body)
            return message

        return capped


async def _redirect(send: Send, location: str) -> None:
    headers = [(b"location", location.encode()), (b"content-length", b"0")]
    await send({"type": "http.response.start", "status": 303, "headers": headers})
    await send({"type": "http.response.body", "body": b""})


async def _answer(
    send: Send, status: int, kind: str, message: str, exit_code: int, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = error_body(kind, message, exit_code)
    head: list[Any] = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": head + (headers or [])})
    await send({"type": "http.response.body", "body": body})
