"""The ``loom_http`` capability: HTTP requests an activity makes through the host, only where its grant says.

Safe by construction, whatever the guest asks:

- the URL's scheme, host, port and method must be in the grant (``HttpGrant``); ``http://`` only if it says so;
- the host name is resolved once, here, and every address it gives must be public: a loopback, private,
  link-local or metadata address is reached only where the grant names it (an IP literal in ``hosts``, or a
  ``resolve`` pin), never through DNS; the connection goes to the checked address, so no second lookup can rebind
  the name;
- HTTPS verifies the certificate and the host name (system roots plus the grant's ``extra_roots``);
- redirects are followed only to allowed URLs, at most ``max_redirects``; a header that carries a secret is dropped
  when a redirect leaves the origin;
- request and response are capped (``limit`` bytes, the call's share of its memory cap), and the call's deadline
  bounds name lookup, connecting and every read: a watchdog shuts the socket at the deadline, so a server that
  trickles bytes cannot outlast it;
- nothing comes from the environment: no proxies, no cookies, no ``.netrc``.

A header value may name a granted secret (``"Bearer {{secret:api_token}}"``); it is substituted here, after the
request has left the guest, and scrubbed from the response (body and headers) should the server echo it back. No
error message, log line or journal entry ever holds it: they name the secret, never its value.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

from pipeline import errors
from pipeline.core import HttpExchange, HttpGrant, parse_json

SECRET_REF = re.compile(r"\{\{secret:([A-Za-z_][A-Za-z0-9_.-]{0,127})\}\}")
READ_CHUNK = 64 * 1024
REDIRECTS = {301, 302, 303, 307, 308}
_FORBIDDEN_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "upgrade", "te", "trailer"}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,256}$")
_METADATA = (ipaddress.ip_network("169.254.169.254/32"), ipaddress.ip_network("fd00:ec2::254/128"))

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


@dataclass(frozen=True, slots=True)
class Request:
    """What the guest asked for, checked for shape (not yet for the grant)."""

    method: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @classmethod
    def parse(cls, data: bytes) -> Request:
        """The guest's JSON request ``{method, url, headers, body}``, or ``InvalidInput`` saying what is wrong."""
        raw = parse_json(data, "loom.http's request")
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str):
            raise errors.InvalidInput('loom.http: the request must be {"method", "url", "headers", "body"}')
        unknown = set(raw) - {"method", "url", "headers", "body", "body_base64"}
        if unknown:
            raise errors.InvalidInput(f"loom.http: unknown request field {sorted(unknown)[0][:64]!r}")
        return cls.of(raw.get("method", "GET"), raw["url"], raw.get("headers", {}), _body(raw))

    @classmethod
    def from_extism(cls, data: bytes, body: bytes) -> Request:
        """The request an unmodified Extism plugin makes with ``extism_pdk::http::request``: the JSON of Extism's
        ``HttpRequest`` (``{url, headers, method}``, method null for GET) and the body the plugin gave apart."""
        raw = parse_json(data, "Extism's http_request")
        if not isinstance(raw, dict) or not isinstance(raw.get("url"), str) or set(raw) - {"url", "headers", "method"}:
            raise errors.InvalidInput('Extism\'s http_request must be {"url", "headers", "method"}')
        return cls.of(raw.get("method") or "GET", raw["url"], raw.get("headers") or {}, body)

    @classmethod
    def of(cls, method: Any, url: str, headers: Any, body: bytes) -> Request:
        """A request whose method and headers are checked: a token of a method, printable header values, and no
        header the host sets itself."""
        if not isinstance(method, str) or not _TOKEN.fullmatch(method):
            raise errors.InvalidInput("loom.http: method must be an HTTP method such as GET")
        if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
            raise errors.InvalidInput("loom.http: headers must be an object of strings")
        for name, value in headers.items():
            if not _TOKEN.fullmatch(name) or not _header_value(value):
                raise errors.InvalidInput(f"loom.http: header {name[:64]!r} is not a valid header")
            if name.lower() in _FORBIDDEN_HEADERS:
                raise errors.InvalidInput(f"loom.http: header {name[:64]!r} is set by the host, not the activity")
        return cls(method.upper(), url, tuple(headers.items()), body)


def _header_value(value: str) -> bool:
    """Printable Latin-1 (what HTTP/1.1 carries), no line breaks: anything else could split the request."""
    return all(c == "\t" or " " <= c <= "~" or "\xa0" <= c <= "\xff" for c in value)


def _body(raw: dict[str, Any]) -> bytes:
    if "body_base64" in raw:
        if "body" in raw or not isinstance(raw["body_base64"], str):
            raise errors.InvalidInput("loom.http: give body (text) or body_base64, not both")
        try:
            return base64.b64decode(raw["body_base64"], validate=True)
        except ValueError:
            raise errors.InvalidInput("loom.http: body_base64 is not base64") from None
    body = raw.get("body", "")
    if not isinstance(body, str):
        raise errors.InvalidInput("loom.http: body must be text (or give body_base64)")
    return body.encode()


@dataclass(frozen=True, slots=True)
class Response:
    """What the server answered (after redirects), with every substituted secret scrubbed out."""

    status: int
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def joined_headers(self) -> dict[str, str]:
        """The headers by lowercase name, repeated ones joined with ", "."""
        return _joined(self.headers)

    def to_guest(self) -> bytes:
        """The JSON the guest reads: ``body`` as text when it is UTF-8, else ``body_base64``."""
        out: dict[str, Any] = {"status": self.status, "url": self.url, "headers": self.joined_headers()}
        try:
            out["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            out["body_base64"] = base64.b64encode(self.body).decode()
        return json.dumps(out, ensure_ascii=False).encode()


def _joined(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    joined: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


Audit = Callable[[HttpExchange], None]


@dataclass(frozen=True, slots=True)
class Target:
    """A URL the grant allows, and the address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: Address

    @property
    def origin(self) -> tuple[str, str, int]:
        return self.scheme, self.host, self.port


class Policy:
    """A grant, read once: which URLs and addresses it allows."""

    def __init__(self, grant: HttpGrant, activity: str) -> None:
        self.grant, self.activity = grant, activity
        self.pins: dict[str, Address] = {}
        for pin in grant.resolve:
            host, _, address = pin.partition("=")
            self.pins[host.lower()] = ipaddress.ip_address(address)
        self.entries = [_split_host(entry) for entry in grant.hosts]

    def refuse(self, why: str) -> errors.HttpRefused:
        return errors.HttpRefused(f"activity {self.activity}: {why}")

    def target(self, url: str, method: str, resolve: Callable[[str, int], list[Address]]) -> Target:
        """The checked target of ``url``, or ``HttpRefused`` saying which rule it breaks."""
        shown = _shown(url)
        if method not in self.grant.methods:
            raise self.refuse(f"method {method} is not granted (loom_http allows {', '.join(self.grant.methods)})")
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError:
            raise errors.InvalidInput(f"loom.http: {shown} is not a valid URL") from None
        scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
        if scheme not in ("http", "https") or not host:
            raise errors.InvalidInput(f"loom.http: {shown} is not an http:// or https:// URL")
        if parts.username is not None or parts.password is not None:
            raise errors.InvalidInput(f"loom.http: {shown} carries credentials in the URL; use a header")
        if scheme == "http" and not self.grant.plain_http:
            raise self.refuse(f"{shown} is plain http, which the grant does not allow (plain_http)")
        if port == 0:
            raise errors.InvalidInput(f"loom.http: {shown} names port 0")
        port = port or _default(scheme)
        if not any(_host_matches(host, h) and (p == port if p else port == _default(scheme)) for h, p in self.entries):
            raise self.refuse(f"{host}:{port} is not in the grant's hosts")
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        if any(c <= " " or c == "\x7f" for c in path):
            raise errors.InvalidInput(f"loom.http: {shown} has a space or control character in its path")
        return Target(scheme, host, port, path, self._address(host, port, resolve))

    def _address(self, host: str, port: int, resolve: Callable[[str, int], list[Address]]) -> Address:
        """An IP literal the grant lists, or a pinned name, is the address the grant names; a name resolved by DNS
        must give only public addresses (whoever controls its DNS could point it anywhere)."""
        literal = _ip(host)
        if literal is not None:
            return literal  # it matched an entry of the grant's hosts: that entry names it
        if host in self.pins:
            return self.pins[host]
        addresses = resolve(host, port)
        if not addresses:
            raise errors.HttpFailed(f"loom.http: {host} has no address")
        for address in addresses:
            if not _public(address):
                raise self.refuse(
                    f"{host} resolves to {address}, a {_kind(address)} address the grant does not name (list the "
                    "address itself in hosts, or pin the name to it with resolve)"
                )
        return addresses[0]


def _split_host(entry: str) -> tuple[str, int | None]:
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") else None
    host, _, port = entry.partition(":")
    return host, int(port) if port else None


def _ip(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def _host_matches(host: str, pattern: str) -> bool:
    if pattern.startswith("*."):
        return host.endswith(pattern[1:]) and len(host) > len(pattern) - 1
    return host == pattern


def _default(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _unmapped(address: Address) -> Address:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _public(address: Address) -> bool:
    address = _unmapped(address)
    return address.is_global and not address.is_multicast and not any(address in net for net in _METADATA)


def _kind(address: Address) -> str:
    address = _unmapped(address)
    if any(address in net for net in _METADATA):
        return "cloud metadata"
    for kind in ("loopback", "link_local", "private", "multicast", "unspecified", "reserved"):
        if getattr(address, f"is_{kind}"):
            return kind.replace("_", "-")
    return "non-public"


def _shown(url: str) -> str:
    """A URL as an error message may show it: cut, with no query (which might carry a token)."""
    cut = url.split("?", 1)[0].split("#", 1)[0]
    return repr(cut[:256] + ("..." if len(cut) > 256 else ""))


class Deadline:
    """The call's deadline, for a request: the time left, and a watchdog that shuts a socket when it passes."""

    def __init__(self, at: float, activity: str, wall_clock_ms: int) -> None:
        self.at, self.activity, self.wall_clock_ms = at, activity, wall_clock_ms

    def left(self) -> float:
        left = self.at - time.monotonic()
        if left <= 0:
            raise self.passed()
        return left

    def passed(self) -> errors.ActivityTimeout:
        return errors.ActivityTimeout(f"{self.activity} passed its deadline of {self.wall_clock_ms} ms in loom.http")


def system_resolver(deadline: Deadline) -> Callable[[str, int], list[Address]]:
    """getaddrinfo, within the deadline (a lookup that outlasts it is abandoned, in a daemon thread)."""

    def resolve(host: str, port: int) -> list[Address]:
        found: list[Address] = []
        failure: list[OSError] = []

        def lookup() -> None:
            try:
                infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
                found.extend(ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos)
            except OSError as exc:
                failure.append(exc)

        thread = threading.Thread(target=lookup, name="loom-http-dns", daemon=True)
        thread.start()
        thread.join(deadline.left())
        if thread.is_alive():
            raise deadline.passed()
        if failure:
            raise errors.HttpFailed(f"loom.http: cannot resolve {host}: {failure[0].strerror or failure[0]}")
        return found

    return resolve


class Client:
    """One activity call's HTTP: its grant, its secrets, its deadline and the bytes it may hold."""

    def __init__(
        self,
        policy: Policy,
        secret: Callable[[str], str | None],
        deadline: Deadline,
        limit: int,
        resolve: Callable[[str, int], list[Address]] | None = None,
        audit: Audit | None = None,
    ) -> None:
        self.policy, self.secret, self.deadline, self.limit = policy, secret, deadline, limit
        self.audit = audit
        self.resolve = resolve or system_resolver(deadline)
        self._tls: ssl.SSLContext | None = None
        self._hops = 0  # requests of the current fetch that reached _exchange (so were told to audit)

    def fetch(self, request: Request) -> Response:
        """The response to ``request`` after allowed redirects, secrets scrubbed; each request that leaves the
        host, and a refusal, is told to ``audit``."""
        self._hops = 0
        started = time.time()
        try:
            return self._fetch(request)
        except errors.LoomError as exc:
            if self.audit is not None and self._hops == 0:  # a request refused before it left, or that failed
                self.audit(_exchange(request.method, request.url, started, error=str(exc)))
            raise

    def _fetch(self, request: Request) -> Response:
        if len(request.body) > self.limit:
            raise errors.ActivityOutOfMemory(
                f"loom.http: a request body of {len(request.body)} bytes; the call may hold {self.limit}"
            )
        headers, used = self._substituted(request.headers)
        secret_headers = {name.lower() for name, value in request.headers if SECRET_REF.search(value)}
        method, url, body = request.method, request.url, request.body
        target = self.policy.target(url, method, self.resolve)
        for hop in range(self.policy.grant.max_redirects + 1):
            status, reply, data = self._exchange(target, method, headers, body)
            location = _joined(reply).get("location")
            if status not in REDIRECTS or location is None:
                return Response(status, _scrub_text(url, used), _scrub_headers(reply, used), _scrub(data, used))
            if hop == self.policy.grant.max_redirects:
                raise self.policy.refuse(f"more than {self.policy.grant.max_redirects} redirects (max_redirects)")
            url = urljoin(url, location)
            if status == 303 or (status in (301, 302) and method not in ("GET", "HEAD")):
                method, body = "GET", b""
            try:
                following = self.policy.target(url, method, self.resolve)
            except errors.InvalidInput as exc:  # the server's Location, not the guest's request
                raise self.policy.refuse(f"a redirect to {str(exc).removeprefix('loom.http: ')}") from None
            if following.origin != target.origin:  # a secret goes only where it was sent
                headers = [(n, v) for n, v in headers if n.lower() not in secret_headers]
            target = following
        raise AssertionError("unreachable")

    def _substituted(self, headers: tuple[tuple[str, str], ...]) -> tuple[list[tuple[str, str]], dict[str, str]]:
        """Headers with each ``{{secret:NAME}}`` replaced by its value, and the values used (to scrub)."""
        used: dict[str, str] = {}

        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            secret = self.secret(name)  # CapabilityDenied when the activity was not granted it
            if secret is None:
                raise errors.ActivityRejected(f"loom.http: secret {name!r} is granted but not set")
            if not _header_value(secret):
                raise errors.InvalidInput(f"loom.http: secret {name!r} cannot go in a header (not printable Latin-1)")
            used[name] = secret
            return secret

        return [(name, SECRET_REF.sub(value, text)) for name, text in headers], used

    def _exchange(
        self, target: Target, method: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        started = time.time()
        url = f"{target.scheme}://{target.host}:{target.port}{target.path}"
        try:
            status, reply, data = self._send(target, method, headers, body)
        except errors.LoomError as exc:
            self._told(_exchange(method, url, started, error=str(exc)))
            raise
        digest = hashlib.sha256(data).hexdigest()
        self._told(_exchange(method, url, started, status=status, response_bytes=len(data), response_sha256=digest))
        return status, reply, data

    def _told(self, exchange: HttpExchange) -> None:
        self._hops += 1
        if self.audit is not None:
            self.audit(exchange)

    def _send(
        self, target: Target, method: str, headers: list[tuple[str, str]], body: bytes
    ) -> tuple[int, tuple[tuple[str, str], ...], bytes]:
        sock = self._connect(target)
        watched = WATCHDOG.watch(sock, self.deadline.at)
        try:
            conn = _Connection(target, sock)
            conn.putrequest(method, target.path, skip_accept_encoding=True)
            for name, value in headers:
                conn.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body or None)
            reply = conn.getresponse()
            data = self._read(reply)
            return reply.status, tuple(reply.getheaders()), data
        except (OSError, http.client.HTTPException) as exc:
            if time.monotonic() >= self.deadline.at:
                raise self.deadline.passed() from None
            raise errors.HttpFailed(f"loom.http: {target.host}:{target.port}: {_reason(exc)}") from None
        finally:
            WATCHDOG.release(watched)
            sock.close()

    def _connect(self, target: Target) -> socket.socket:
        try:
            sock = socket.create_connection((str(target.address), target.port), timeout=self.deadline.left())
        except TimeoutError:
            raise self.deadline.passed() from None
        except OSError as exc:
            where = f"{target.host}:{target.port}"
            raise errors.HttpFailed(f"loom.http: cannot connect to {where}: {_reason(exc)}") from None
        if target.scheme == "http":
            return sock
        try:
            return self.tls().wrap_socket(sock, server_hostname=target.host)
        except ssl.SSLCertVerificationError as exc:
            sock.close()
            raise errors.HttpFailed(
                f"loom.http: {target.host}: its certificate does not verify ({exc.verify_message})"
            ) from None
        except (OSError, ssl.SSLError) as exc:
            sock.close()
            if time.monotonic() >= self.deadline.at:
                raise self.deadline.passed() from None
            raise errors.HttpFailed(f"loom.http: {target.host}: TLS failed: {_reason(exc)}") from None

    def tls(self) -> ssl.SSLContext:
        if self._tls is None:
            context = ssl.create_default_context()
            for pem in self.policy.grant.extra_roots:
                context.load_verify_locations(cadata=pem)
            self._tls = context
        return self._tls

    def _read(self, reply: http.client.HTTPResponse) -> bytes:
        declared = reply.getheader("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            raise self._too_large(int(declared))
        chunks: list[bytes] = []
        size = 0
        while True:
            self.deadline.left()
            chunk = reply.read1(READ_CHUNK)
            if not chunk:
                if time.monotonic() >= self.deadline.at:  # the watchdog shut the socket: the body is cut
                    raise self.deadline.passed()
                return b"".join(chunks)
            size += len(chunk)
            if size > self.limit:
                raise self._too_large(size)
            chunks.append(chunk)

    def _too_large(self, size: int) -> errors.ActivityOutOfMemory:
        return errors.ActivityOutOfMemory(
            f"loom.http: a response of {size}+ bytes; {self.policy.activity} may hold {self.limit} bytes of HTTP "
            "(a quarter of its memory limit)"
        )


class _Connection(http.client.HTTPConnection):
    """An HTTP/1.1 connection over a socket Loom opened to a checked address (never one it opens itself)."""

    def __init__(self, target: Target, sock: socket.socket) -> None:
        super().__init__(target.host, target.port)
        self.sock = sock
        host = f"[{target.host}]" if ":" in target.host else target.host
        self._host_header = host if target.port == _default(target.scheme) else f"{host}:{target.port}"

    def connect(self) -> None:  # pragma: no cover - the socket is given
        raise OSError("the connection is already open")

    def putrequest(self, method: str, url: str, skip_host: bool = False, skip_accept_encoding: bool = False) -> None:
        super().putrequest(method, url, skip_host=True, skip_accept_encoding=skip_accept_encoding)
        self.putheader("Host", self._host_header)


class _Watchdog:
    """One thread for the process that shuts each watched socket when its deadline passes (a blocked read then
    returns at once); a thread per request would cost more than a local request does."""

    def __init__(self) -> None:
        self._due: dict[int, tuple[float, socket.socket]] = {}
        self._next = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, sock: socket.socket, at: float) -> int:
        with self._wake:
            self._next += 1
            self._due[self._next] = (at, sock)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="loom-http-watchdog", daemon=True)
                self._thread.start()
            self._wake.notify()
            return self._next

    def release(self, token: int) -> None:
        with self._wake:
            self._due.pop(token, None)

    def _run(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                for token, (at, sock) in list(self._due.items()):
                    if at <= now:
                        del self._due[token]
                        _shut(sock)
                soonest = min((at for at, _ in self._due.values()), default=None)
                self._wake.wait(None if soonest is None else max(0.0, soonest - now))


WATCHDOG = _Watchdog()


def _exchange(method: str, url: str, started: float, **outcome: Any) -> HttpExchange:
    """The journal's record of a request that started at ``started`` (wall-clock) and ended now."""
    ms = round((time.time() - started) * 1000)
    return HttpExchange(method=method, url=url[:2048], started_at=started, ms=ms, **outcome)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)[:200] or type(exc).__name__


def _scrub(data: bytes, used: Mapping[str, str]) -> bytes:
    for name, secret in used.items():
        if secret:
            data = data.replace(secret.encode(), f"{{{{secret:{name}}}}}".encode())
    return data


def _scrub_text(text: str, used: Mapping[str, str]) -> str:
    for name, secret in used.items():
        if secret:
            text = text.replace(secret, f"{{{{secret:{name}}}}}")
    return text


def _scrub_headers(headers: tuple[tuple[str, str], ...], used: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple((name, _scrub_text(value, used)) for name, value in headers)
