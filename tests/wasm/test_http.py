"""loom_http: an activity reaches the web only where its grant says. Against real servers on 127.0.0.1 (plain HTTP,
HTTPS with the fixtures' test PKI), four kinds of guest make allowed requests: an AssemblyScript activity (the shipped
http_fetch), a Rust activity written with loom-guest (the shipped fetch), a hand-written Rust-ABI module, and an
unmodified Extism plugin using extism-pdk's own http::request (the shipped fetch_plugin). Everything else is refused
with a typed error: no grant, an unlisted host, port or method, plain http without the grant, a redirect elsewhere,
a name that resolves to a refused range, a bad certificate, an oversized body, a server slower than the deadline, a
request flood. A secret named in a header is sent, and never seen by the guest, its output, the log or an error."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipeline import errors
from pipeline.core import ActivityDefinition, Capabilities, HttpGrant, Limits, data_dir
from pipeline.sandbox import ExtismExecutor, WasmExecutor
from pipeline.sandbox._http import Client, Deadline, Policy, Request
from tests.support import REPO, loom, one_error_line
from tests.support.wat import rust_abi_module
from tests.support.web import DOCUMENT, TLS_NAME, Server, root_pem, serve

HTTP = '(import "loom" "http" (func $http (param i32 i32) (result i64)))'
FETCH_BODY = "(call $http (local.get $ptr) (local.get $len))"  # the input is the request; the response the output
FLOOD_BODY = "(loop $again (drop (call $http (local.get $ptr) (local.get $len))) (br $again)) (unreachable)"
SECRET = "s3cr3t-v4lue-Zx81"


@pytest.fixture(scope="module")
def web() -> Iterator[Server]:
    with serve() as server:
        yield server


@pytest.fixture(scope="module")
def tls() -> Iterator[Server]:
    with serve(tls=True) as server:
        yield server


def local(server: Server, **grant: Any) -> Capabilities:
    """A grant of 127.0.0.1 at the server's port (plain http allowed), with ``grant``'s changes."""
    fields: dict[str, Any] = {"hosts": (f"127.0.0.1:{server.port}",), "plain_http": True, **grant}
    return Capabilities(host_functions=("loom_http",), http=HttpGrant(**fields))


GUESTS = {  # kind: (runtime, the shipped file, or None for the hand-written WAT module)
    "assemblyscript": ("assemblyscript", "activities/http_fetch.wasm"),
    "wasm": ("wasm", None),
    "rust": ("wasm", "wasm/fetch.wasm"),
    "extism": ("extism", "wasm/fetch_plugin.wasm"),
}


class AnyRuntime:
    """The executor of each runtime, behind one ``run``."""

    def __init__(self, blobs, cache: Path) -> None:
        self.wasm, self.extism = WasmExecutor(blobs, cache_dir=cache), ExtismExecutor(blobs)

    def run(self, defn: ActivityDefinition, document: Any, **kwargs: Any) -> Any:
        return (self.extism if defn.runtime == "extism" else self.wasm).run(defn, document, **kwargs)


@pytest.fixture
def executor(blobs, tmp_path: Path) -> AnyRuntime:
    return AnyRuntime(blobs, tmp_path / "modules")


def fetcher(
    define, capabilities: Capabilities | None, *, runtime: str = "assemblyscript", name: str = "", **limits: Any
):
    """A guest that passes its input on as the request and returns the response, of kind ``runtime`` (GUESTS)."""
    kind, shipped = GUESTS[runtime]
    return define(
        data_dir() / shipped if shipped else rust_abi_module(FETCH_BODY, imports=HTTP),
        kind,
        name=name or f"fetch-{runtime}",
        capabilities=capabilities,
        limits=Limits(**limits) if limits else None,
    )


@pytest.mark.parametrize("runtime", GUESTS)
def test_an_allowed_request_is_answered(executor, define, web: Server, runtime: str) -> None:
    defn = fetcher(define, local(web), runtime=runtime)
    response = executor.run(defn, {"method": "GET", "url": web.url("/json?x=1")})
    assert response["status"] == 200 and json.loads(response["body"]) == DOCUMENT
    assert response["headers"]["content-type"] == "application/json"
    assert web.seen.requests[-1]["path"] == "/json?x=1"
    seen = web.seen.requests[-1]["headers"]
    assert isinstance(seen, dict) and seen["Host"] == f"127.0.0.1:{web.port}" and "Cookie" not in seen


@pytest.mark.parametrize("runtime", ["assemblyscript", "extism"])
def test_https_verifies_the_certificate_against_the_grants_roots(executor, define, tls: Server, runtime: str) -> None:
    grant = {
        "hosts": (f"{TLS_NAME}:{tls.port}",),
        "resolve": (f"{TLS_NAME}=127.0.0.1",),
        "extra_roots": (root_pem(),),
        "plain_http": False,
    }
    defn = fetcher(define, local(tls, **grant), runtime=runtime)
    response = executor.run(defn, {"url": tls.url("/json", host=TLS_NAME)})
    assert response["status"] == 200 and json.loads(response["body"]) == DOCUMENT

    other = "wasm" if runtime == "assemblyscript" else runtime  # the hand-written module, or the plugin again
    untrusted = fetcher(define, local(tls, **dict(grant, extra_roots=())), runtime=other, name="untrusting")
    with pytest.raises(errors.HttpFailed, match="its certificate does not verify"):
        executor.run(untrusted, {"url": tls.url("/json", host=TLS_NAME)})


def test_a_certificate_for_another_name_is_refused(executor, define, tls: Server) -> None:
    grant = {"hosts": (f"other.example:{tls.port}",), "resolve": ("other.example=127.0.0.1",)}
    defn = fetcher(define, local(tls, extra_roots=(root_pem(),), **grant))
    with pytest.raises(errors.HttpFailed, match="certificate does not verify"):
        executor.run(defn, {"url": tls.url("/json", host="other.example")})


@pytest.mark.parametrize("runtime", GUESTS)
def test_without_the_grant_every_request_is_denied(executor, define, web: Server, runtime: str) -> None:
    defn = fetcher(define, None, runtime=runtime)
    with pytest.raises(errors.CapabilityDenied, match="loom_http, which it was not granted"):
        executor.run(defn, {"url": web.url("/json")})
    assert not any(r["path"] == "/json" and r["method"] == "GET" for r in web.seen.requests[-1:])


@pytest.mark.parametrize(
    ("grant", "url", "says"),
    [
        ({"hosts": ("api.example.com",)}, "http://127.0.0.1:{port}/json", "127.0.0.1:{port} is not in the grant"),
        ({"hosts": ("127.0.0.1:1",)}, "http://127.0.0.1:{port}/json", "is not in the grant's hosts"),
        ({"hosts": ("127.0.0.1",)}, "http://127.0.0.1:{port}/json", "is not in the grant's hosts"),
        ({"plain_http": False}, "http://127.0.0.1:{port}/json", "plain http, which the grant does not allow"),
        ({"methods": ("POST",)}, "http://127.0.0.1:{port}/json", "method GET is not granted"),
        ({"hosts": ("localhost:{port}",)}, "http://localhost:{port}/json", "a loopback address the grant does not"),
        (
            {},
            "http://127.0.0.1:{port}/redirect?to=http://localhost:{port}/json",
            "localhost:{port} is not in the grant's hosts",
        ),
        ({}, "http://127.0.0.1:{port}/redirect?to=https://api.example.com/", "api.example.com:443 is not in the"),
        ({"max_redirects": 0}, "http://127.0.0.1:{port}/redirect?to=/json", "more than 0 redirects"),
        ({}, "http://127.0.0.1:{port}/redirect?to=file:///etc/passwd", "a redirect to 'file:///etc/passwd' is not"),
    ],
    ids=["host", "port", "default-port", "plain-http", "method", "resolves-loopback", "redirect-host",
         "redirect-away", "redirects", "redirect-scheme"],
)  # fmt: skip
@pytest.mark.parametrize("runtime", ["assemblyscript", "extism"])
def test_what_the_grant_does_not_allow_is_refused(
    executor, define, web: Server, grant, url: str, says: str, runtime: str
) -> None:
    fields = {k: tuple(h.format(port=web.port) for h in v) if k == "hosts" else v for k, v in grant.items()}
    defn = fetcher(define, local(web, **fields), runtime=runtime)
    before = len(web.seen.requests)
    with pytest.raises(errors.HttpRefused, match=says.format(port=web.port).replace("(", r"\(").replace("?", r"\?")):
        executor.run(defn, {"url": url.format(port=web.port)})
    assert all(str(r["path"]).split("?")[0] != "/json" for r in web.seen.requests[before:])  # nothing refused was sent


def test_an_allowed_redirect_is_followed_and_303_becomes_get(executor, define, web: Server) -> None:
    defn = fetcher(define, local(web, methods=("GET", "POST")))
    response = executor.run(defn, {"method": "POST", "url": web.url("/redirect?code=303&to=/json"), "body": "x=1"})
    assert response["status"] == 200 and response["url"] == web.url("/json")
    assert [r["method"] for r in web.seen.requests[-2:]] == ["POST", "GET"]


def test_refused_addresses_need_the_grant_to_name_them() -> None:
    """Every address a name resolves to is checked (no DNS rebinding: the checked one is the one dialled)."""
    grant = HttpGrant(hosts=("api.example.com", "pinned.example"), resolve=("pinned.example=10.1.2.3",))
    policy = Policy(grant, "subject@1.0.0")
    for address in ["127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "fe80::1", "fc00::1",
                    "::ffff:127.0.0.1", "0.0.0.0", "100.64.0.1", "224.0.0.1"]:  # fmt: skip
        with pytest.raises(errors.HttpRefused, match="address the grant does not name"):
            policy.target("https://api.example.com/", "GET", lambda h, p, a=address: [ipaddress.ip_address(a)])
    mixed = [ipaddress.ip_address("93.184.215.14"), ipaddress.ip_address("10.0.0.1")]
    with pytest.raises(errors.HttpRefused, match=r"10\.0\.0\.1"):
        policy.target("https://api.example.com/", "GET", lambda h, p: mixed)
    public = policy.target("https://api.example.com/x?y", "GET", lambda h, p: mixed[:1])
    assert (str(public.address), public.port, public.path) == ("93.184.215.14", 443, "/x?y")
    assert str(policy.target("https://pinned.example/", "GET", lambda h, p: []).address) == "10.1.2.3"
    with pytest.raises(errors.HttpRefused, match="not in the grant's hosts"):
        policy.target("https://sub.api.example.com/", "GET", lambda h, p: mixed[:1])
    loopback = [ipaddress.ip_address("127.0.0.1")]
    naming = Policy(HttpGrant(hosts=("api.example.com", "127.0.0.1:8080")), "subject@1.0.0")
    assert str(naming.target("https://127.0.0.1:8080/", "GET", lambda h, p: []).address) == "127.0.0.1"
    with pytest.raises(errors.HttpRefused, match=r"resolves to 127\.0\.0\.1"):  # named for itself, not via DNS
        naming.target("https://api.example.com/", "GET", lambda h, p: loopback)
    wild = Policy(HttpGrant(hosts=("*.example.com",)), "subject@1.0.0")
    assert wild.target("https://a.b.example.com/", "GET", lambda h, p: mixed[:1]).host == "a.b.example.com"
    for url in ["https://example.com/", "https://evilexample.com/"]:
        with pytest.raises(errors.HttpRefused):
            wild.target(url, "GET", lambda h, p: mixed[:1])


@pytest.mark.parametrize(
    ("request_", "says"),
    [
        ({"url": "ftp://127.0.0.1/"}, "not an http:// or https:// URL"),
        ({"url": "http://user:pw@127.0.0.1/"}, "credentials in the URL"),
        ({"url": "http://127.0.0.1/", "headers": {"Host": "evil"}}, "set by the host"),
        ({"url": "http://127.0.0.1/", "headers": {"X": "a\r\nInjected: 1"}}, "not a valid header"),
        ({"url": "http://127.0.0.1/", "headers": {"X": "ü🦊"}}, "not a valid header"),
        ({"url": "http://127.0.0.1:{port}/a b"}, "a space or control character in its path"),
        ({"url": "http://127.0.0.1:0/"}, "names port 0"),
        ({"url": "http://127.0.0.1/", "extra": 1}, "unknown request field"),
        ({"url": 5}, "must be"),
    ],
    ids=["scheme", "credentials", "host-header", "header-injection", "header-not-latin1", "path-space", "port-0",
         "unknown-field", "url-type"],
)  # fmt: skip
def test_a_malformed_request_is_refused(executor, define, web: Server, request_, says: str) -> None:
    if isinstance(request_["url"], str):
        request_ = dict(request_, url=request_["url"].format(port=web.port))
    with pytest.raises(errors.InvalidInput, match=says):
        executor.run(fetcher(define, local(web), runtime="wasm"), request_)


@pytest.mark.parametrize("runtime", ["assemblyscript", "extism"])
@pytest.mark.parametrize("path", ["/big", "/big-unsized"], ids=["declared", "unsized"])
def test_an_oversized_response_counts_against_the_memory_cap(
    executor, define, web: Server, path: str, runtime: str
) -> None:
    mib = 2 if runtime == "extism" else 1  # the Rust plugin's own memory starts at 17 pages
    defn = fetcher(define, local(web), runtime=runtime, memory_mib=mib)  # a quarter of the cap for HTTP
    with pytest.raises(errors.ActivityOutOfMemory, match=f"may hold {mib << 18} bytes of HTTP"):
        executor.run(defn, {"url": web.url(f"{path}?n={(mib << 18) + 40_000}")})
    assert executor.run(defn, {"url": web.url("/big?n=1000")})["body"] == "a" * 1000


@pytest.mark.parametrize("runtime", ["wasm", "rust", "extism"])
@pytest.mark.parametrize("path", ["/slow?s=5", "/trickle"], ids=["slow", "trickle"])
def test_a_server_slower_than_the_deadline_is_stopped_at_it(
    executor, define, web: Server, path: str, runtime: str
) -> None:
    defn = fetcher(define, local(web), runtime=runtime, wall_clock_ms=1000)
    t0 = time.monotonic()
    with pytest.raises(errors.ActivityTimeout, match="deadline of 1000 ms"):
        executor.run(defn, {"url": web.url(path)})
    assert time.monotonic() - t0 < 2.0


def test_a_request_flood_is_bounded_by_the_calls_limits(executor, define, web: Server) -> None:
    flood = define(
        rust_abi_module(FLOOD_BODY, imports=HTTP), name="flood", capabilities=local(web),
        limits=Limits(wall_clock_ms=1500),
    )  # fmt: skip
    t0 = time.monotonic()
    with pytest.raises(errors.ActivityTimeout):
        executor.run(flood, {"url": web.url("/json")})
    assert time.monotonic() - t0 < 2.5


@pytest.mark.parametrize("path", ["/json", "/nowhere-allowed"])
def test_an_extism_plugins_request_flood_is_bounded_by_its_deadline(executor, define, web: Server, path: str) -> None:
    """fetch_plugin asked for a million requests: answered ones until the deadline, or, once one is refused, no
    more sent at all; either way the call ends at its deadline with a typed error."""
    defn = fetcher(define, local(web), runtime="extism", wall_clock_ms=1500)
    url = web.url(path) if path == "/json" else "http://api.example.com/"
    before, t0 = len(web.seen.requests), time.monotonic()
    with pytest.raises((errors.ActivityTimeout, errors.HttpRefused)):
        executor.run(defn, {"url": url, "repeat": 1_000_000})
    assert time.monotonic() - t0 < 2.5
    if path != "/json":
        assert len(web.seen.requests) == before


@pytest.mark.parametrize("runtime", ["assemblyscript", "rust", "extism"])
def test_a_secret_in_a_header_is_sent_but_never_seen(
    blobs, define, web: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, runtime: str
) -> None:
    """The server echoes the request (headers included) in its body and a header: what the guest gets back, and so
    its output (each of these guests returns all it was given), holds the secret's name, never its value; nor do the
    log or an error."""
    monkeypatch.setenv("LOOM_SECRET_api_token", SECRET)
    granted = Capabilities(
        host_functions=("loom_http", "loom_log"),
        secrets=("api_token",),
        http=HttpGrant(hosts=(f"127.0.0.1:{web.port}",), plain_http=True),
    )
    lines: list[tuple[str, str]] = []
    executor = AnyRuntime(blobs, tmp_path / "modules")
    defn = fetcher(define, granted, runtime=runtime)
    request = {"url": web.url("/echo"), "headers": {"Authorization": "Bearer {{secret:api_token}}"}}
    response = executor.run(defn, request, log=lambda level, msg: lines.append((level, msg)))
    sent = web.seen.requests[-1]["headers"]
    assert isinstance(sent, dict) and sent["Authorization"] == f"Bearer {SECRET}"  # it did leave the host
    assert SECRET not in json.dumps(response) and SECRET not in repr(lines)
    echoed = json.loads(response["body"])
    assert echoed["headers"]["Authorization"] == "Bearer {{secret:api_token}}"
    assert response["headers"]["x-echo"] == "Bearer {{secret:api_token}}"

    ungranted = fetcher(define, local(web), runtime=runtime, name="ungranted")
    with pytest.raises(errors.HttpRefused, match="secret 'api_token', which it was not granted") as refused:
        executor.run(ungranted, request)
    assert SECRET not in str(refused.value)
    with pytest.raises(errors.CapabilityDenied):  # loom_http does not give loom_get_secret
        executor.run(
            define(rust_abi_module("(call $get (i32.const 16) (i32.const 9))",
                                   imports='(import "loom" "get_secret" (func $get (param i32 i32) (result i64)))',
                                   data="api_token"), name="peek", capabilities=granted),
            {},
        )  # fmt: skip


def test_a_binary_body_comes_back_as_base64(executor, define, web: Server) -> None:
    response = executor.run(fetcher(define, local(web)), {"url": web.url("/binary")})
    assert "body" not in response and len(response["body_base64"]) == 344


def test_a_grant_is_only_for_the_wasm_abis_and_extism() -> None:
    for runtime in ("wasi", "risc0"):
        offered = f"loom_http is offered to wasm, assemblyscript and extism activities, not to a {runtime}"
        with pytest.raises(ValueError, match=offered):
            ActivityDefinition(name="x", version="1.0.0", runtime=runtime, blob="ab" * 32, capabilities=local_grant())
    with pytest.raises(ValueError, match="loom_http and an http grant"):
        Capabilities(host_functions=("loom_http",))


def local_grant() -> Capabilities:
    return Capabilities(host_functions=("loom_http",), http=HttpGrant(hosts=("127.0.0.1:1",)))


def test_the_client_never_reads_proxies_from_the_environment(web: Server, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")
    grant = HttpGrant(hosts=(f"127.0.0.1:{web.port}",), plain_http=True)
    deadline = Deadline(time.monotonic() + 5, "subject@1.0.0", 5000)
    client = Client(Policy(grant, "subject@1.0.0"), lambda name: None, deadline, 1 << 20)
    response = client.fetch(Request.parse(json.dumps({"url": web.url("/json")}).encode()))
    assert response.status == 200


def _register_fetch(web: Server, env: dict[str, str]) -> None:
    module = str(data_dir() / "activities" / "http_fetch.wasm")
    registered = loom(
        "activity", "register", module, "--name", "fetch", "--version", "1.0.0", "--runtime", "assemblyscript",
        "--allow-host", f"127.0.0.1:{web.port}", "--allow-plain-http", env=env,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr


def test_the_cli_grants_it_and_a_pipeline_step_with_it_is_never_served_from_the_cache(
    web: Server, tmp_path: Path
) -> None:
    """`loom activity register --allow-host` makes the grant; a second run of the same pipeline asks the server
    again (what it answers can change), and the refusals exit with the capability code (4)."""
    env = {"LOOM_HOME": str(tmp_path / "home")}
    module = str(data_dir() / "activities" / "http_fetch.wasm")
    registered = loom(
        "activity", "register", module, "--name", "fetch", "--version", "1.0.0", "--runtime", "assemblyscript",
        "--allow-host", f"127.0.0.1:{web.port}", "--allow-plain-http", "--json", env=env,
    )  # fmt: skip
    assert registered.returncode == 0, registered.stderr
    grant = json.loads(registered.stdout)["capabilities"]
    assert grant["host_functions"] == ["loom_http"] and grant["http"]["hosts"] == [f"127.0.0.1:{web.port}"]
    spec = {
        "name": "fetch-twice",
        "steps": {"fetch": {"activity": "fetch@1.0.0", "input": {"url": "${input.url}"}}},
        "output": {"status": "${steps.fetch.output.status}", "body": "${steps.fetch.output.body}"},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    document = json.dumps({"url": web.url("/json?run")})
    before = len(web.seen.requests)
    for _ in range(2):
        run = loom("run", str(tmp_path / "spec.yaml"), "--input", document, "--json", env=env)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert result["executed"] == 1 and result["cached"] == 0 and result["output"]["status"] == 200
    assert [r["path"] for r in web.seen.requests[before:]] == ["/json?run", "/json?run"]

    refused = loom("activity", "run", "fetch", "--input", json.dumps({"url": "http://api.example.com/"}), env=env)
    assert refused.returncode == 4 and "api.example.com:80 is not in the grant's hosts" in one_error_line(refused)
    proven = loom("activity", "run", "fetch", "--prove", "--input", document, env=env)
    assert proven.returncode == 2 and "a receipt cannot bind what a server answered" in one_error_line(proven)
    bad = loom(
        "activity", "register", module, "--name", "bad", "--version", "1.0.0", "--runtime", "assemblyscript",
        "--allow-host", "not a host", env=env,
    )  # fmt: skip
    assert bad.returncode == 2 and "is not a host name" in one_error_line(bad)


def test_the_fetch_example_fetches_and_picks(web: Server, tmp_path: Path) -> None:
    """examples/fetch-claim.yaml without its proof (CI proves json-claim elsewhere): the fetched body reaches the
    pick, and both values are host data in the provenance."""
    env = {"LOOM_HOME": str(tmp_path / "home")}
    _register_fetch(web, env)
    spec = yaml.safe_load((REPO / "examples" / "fetch-claim.yaml").read_text())
    del spec["steps"]["prove"]
    spec["output"] = {k: v for k, v in spec["output"].items() if "prove" not in v}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump(spec))
    document = {"url": web.url("/json"), "path": "price.usd", "op": "gt", "value": 3000}
    run = loom("run", str(tmp_path / "spec.yaml"), "--input", json.dumps(document), "--json", env=env)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["output"] == {"status": 200, "value": {"price.usd": 3125.5}}
    assert {p["source"] for p in result["provenance"]} == {"host"}


def test_random_requests_get_an_answer_or_a_typed_error(executor, define, web: Server) -> None:
    """300 requests built from hostile pieces (schemes, hosts, ports, paths, methods, headers, bodies): each is
    answered or refused with a Loom error, never another exception, and nothing refused reaches the server."""
    rng = random.Random(32)
    defn = fetcher(define, local(web, methods=("GET", "POST")), runtime="wasm", wall_clock_ms=2000)
    hosts = ["127.0.0.1", "localhost", "[::1]", "0.0.0.0", "2130706433", "api.example.com", "127.1", "::ffff:7f00:1",
             "user@127.0.0.1", "127.0.0.1.", "ünï.example", ""]  # fmt: skip
    pieces = {
        "scheme": ["http", "https", "HTTP", "file", "ftp", "gopher", "javascript", ""],
        "port": [f":{web.port}", "", ":0", ":99999", ":-1", ":80", f":{web.port}x"],
        "path": ["/json", "/redirect?to=http://169.254.169.254/", "/redirect?to=file:///etc/passwd", "/%00", "/\t",
                 "/big?n=10", "/redirect?code=307&to=/echo", "/../../etc/passwd", "/" + "a" * 5000],
        "method": ["GET", "POST", "DELETE", "get", "G ET", "", "CONNECT"],
    }  # fmt: skip
    kinds: dict[str, int] = {}
    for _ in range(300):

        def pick(kind: str, good: str) -> str:  # the allowed piece as often as not, so some requests pass
            return good if rng.random() < 0.6 else rng.choice(pieces[kind])

        host = "127.0.0.1" if rng.random() < 0.6 else rng.choice(hosts)
        url = f"{pick('scheme', 'http')}://{host}{pick('port', f':{web.port}')}{pick('path', '/json')}"
        request: dict[str, Any] = {"url": url, "method": pick("method", "GET")}
        if rng.random() < 0.3:
            request["headers"] = {
                rng.choice(["X-A", "Host", "Cookie", "bad name", "X-B"]): rng.choice(["v", "\x00", "ü", "{{secret:x}}"])
            }
        if rng.random() < 0.2:
            request["body"] = rng.choice(["", "x" * 100, "ü"])
        try:
            executor.run(defn, request)
            kinds["answered"] = kinds.get("answered", 0) + 1
        except errors.LoomError as exc:
            kinds[type(exc).__name__] = kinds.get(type(exc).__name__, 0) + 1
    assert kinds.get("answered", 0) > 5 and {"HttpRefused", "InvalidInput"} <= set(kinds), kinds


def test_every_request_is_journaled_and_a_ttl_lets_the_cache_serve_it(web: Server, tmp_path: Path) -> None:
    """`loom runs show` lists each request a run's steps made (and each refused), with the response's size and
    digest and no header; with `cache: {ttl_s}` a run within the TTL is served from the cache, and one after it
    asks the server again."""
    env = {"LOOM_HOME": str(tmp_path / "home")}
    _register_fetch(web, env)
    steps = {
        "fetch": {"activity": "fetch@1.0.0", "input": {"url": "${input.url}"}, "cache": {"ttl_s": 5}},
        "refused": {"activity": "fetch@1.0.0", "input": {"url": "http://api.example.com/${input.url}"}},
    }
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"name": "audited", "steps": steps}))
    document = json.dumps({"url": web.url("/json?audit")})
    before, t0, runs = len(web.seen.requests), time.monotonic(), []
    for wait_until in (0, 0, 6):  # at once, within the TTL, past it
        time.sleep(max(0.0, t0 + wait_until - time.monotonic()))
        run = loom("run", str(tmp_path / "spec.yaml"), "--input", document, "--json", env=env)
        assert run.returncode == 1  # the refused step fails each run; what it tried is journaled all the same
        runs.append(json.loads(run.stdout))
    fetched = [r for r in web.seen.requests[before:] if r["path"] == "/json?audit"]
    assert len(fetched) == 2  # the first run's and the last's; the second was served from the cache
    shown = loom("runs", "show", runs[0]["run_id"], "--json", env=env)
    requests = {r["step"]: r for r in json.loads(shown.stdout)["http_requests"]}
    body = json.dumps(DOCUMENT, ensure_ascii=False).encode()
    assert requests["fetch"]["url"] == web.url("/json?audit") and requests["fetch"]["status"] == 200
    assert requests["fetch"]["response_bytes"] == len(body)
    assert requests["fetch"]["response_sha256"] == hashlib.sha256(body).hexdigest()
    assert requests["refused"]["status"] is None and "not in the grant's hosts" in requests["refused"]["error"]
    cached = json.loads(loom("runs", "show", runs[1]["run_id"], "--json", env=env).stdout)["http_requests"]
    assert [r["step"] for r in cached] == ["refused"]  # the cached fetch made no request
    table = loom("runs", "show", runs[0]["run_id"], env=env)
    assert "HTTP requests" in table.stdout and "/json?audit" in " ".join(table.stdout.split())


def test_an_unmodified_extism_plugin_through_the_cli_and_a_pipeline(web: Server, tmp_path: Path) -> None:
    """`loom activity register --runtime extism --allow-host` grants an Extism plugin's own HTTP; its requests in a
    pipeline are journaled like a wasm activity's, and what the grant does not allow exits with code 4 on one line
    (without a grant at all too)."""
    env = {"LOOM_HOME": str(tmp_path / "home")}
    module = str(data_dir() / "wasm" / "fetch_plugin.wasm")
    for name, grant in (("plugin", ["--allow-host", f"127.0.0.1:{web.port}", "--allow-plain-http"]), ("bare", [])):
        registered = loom(
            "activity", "register", module, "--name", name, "--version", "1.0.0", "--runtime", "extism", *grant,
            env=env,
        )  # fmt: skip
        assert registered.returncode == 0, registered.stderr
    steps = {"fetch": {"activity": "plugin@1.0.0", "input": {"url": "${input.url}"}}}
    (tmp_path / "spec.yaml").write_text(yaml.safe_dump({"name": "plugin-fetch", "steps": steps}))
    run = loom("run", str(tmp_path / "spec.yaml"), "--input", json.dumps({"url": web.url("/json?ext")}), "--json",
               env=env)  # fmt: skip
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["output"]["fetch"]["status"] == 200 and json.loads(result["output"]["fetch"]["body"]) == DOCUMENT
    shown = json.loads(loom("runs", "show", result["run_id"], "--json", env=env).stdout)["http_requests"]
    assert [(r["step"], r["url"], r["status"]) for r in shown] == [("fetch", web.url("/json?ext"), 200)]

    refused = loom("activity", "run", "plugin", "--input", json.dumps({"url": "http://api.example.com/"}), env=env)
    assert refused.returncode == 4 and "api.example.com:80 is not in the grant's hosts" in one_error_line(refused)
    bare = loom("activity", "run", "bare", "--input", json.dumps({"url": web.url("/json")}), env=env)
    assert bare.returncode == 4 and "loom_http, which it was not granted" in one_error_line(bare)
