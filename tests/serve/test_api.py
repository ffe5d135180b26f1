"""``loom serve``'s API against a real server on 127.0.0.1 (uvicorn, in a process of its own), with httpx as the
client: keys, caps and errors first (what an attacker tries), then each route's answer against the CLI's."""

from __future__ import annotations

import base64
import json
import os
import signal
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline.store import DONE, ProvingSessions, RunStatus, default_journal
from tests.support import FIXTURES, GOLDEN_NOTARY_KEY, loom, one_error_line
from tests.support.mixed import MixedRun
from tests.support.runs import CHAIN, check_journal, expected, loom_run, register_slow
from tests.support.serve import Served, add_key, free_port, served, wait_for

PRESENTATION = (FIXTURES / "tlsn" / "presentation.bin").read_bytes()
POLICY = {"notary_keys": [GOLDEN_NOTARY_KEY]}
ROUTES = [
    ("GET", "/v1/version"),
    ("GET", "/v1/runs"),
    ("GET", "/v1/runs/20260101-000000-abcdef"),
    ("POST", "/v1/tlsn/verify"),
    ("POST", "/v1/receipts/verify"),
    ("POST", "/v1/bundles/verify"),
    ("POST", "/v1/runs"),
    ("GET", "/openapi.json"),
    ("GET", "/bonsai/version"),
    ("POST", "/bonsai/sessions/create"),
    ("POST", "/login/../v1/runs"),
    ("POST", "/no/such/route"),
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve-home")
    with served(home, "--max-body-mib", "1") as s:
        yield s


@pytest.fixture(scope="module")
def api(server: Served) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def error_of(response: httpx.Response, status: int, kind: str) -> str:
    """The JSON error's message, after checking its status, class and shape (never a traceback)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert error["type"] == kind, error
    assert set(error) == {"type", "message", "exit_code"}
    assert "Traceback" not in response.text
    return str(error["message"])


# --- the door ------------------------------------------------------------------------------------------------


def test_health_needs_no_key(server: Served) -> None:
    assert httpx.get(f"{server.url}/health").json() == {"status": "ok"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("key", [None, "", "loom_not-a-key", "x" * 5000, "Bearer"])
def test_every_route_but_health_needs_a_live_key(server: Served, method: str, path: str, key: str | None) -> None:
    headers = {} if key is None else {"x-api-key": key}
    response = httpx.request(method, server.url + path, headers=headers, json={})
    assert "api key" in error_of(response, 401, "Unauthorized").lower()
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_bearer_token_works_like_x_api_key(server: Served) -> None:
    response = httpx.get(f"{server.url}/v1/version", headers={"authorization": f"Bearer {server.key}"})
    assert response.status_code == 200
    assert response.json()["risc0_zkvm"]


def test_a_revoked_key_is_refused_from_the_next_request(server: Served) -> None:
    key = add_key(server.home, "short-lived")
    with server.client(key) as client:
        assert client.get("/v1/version").status_code == 200
        revoked = loom("serve", "keys", "revoke", "short-lived", env={"LOOM_HOME": str(server.home)})
        assert revoked.returncode == 0, revoked.stderr
        error_of(client.get("/v1/version"), 401, "Unauthorized")


def test_a_keys_file_others_can_read_lets_no_one_in(tmp_path: Path) -> None:
    with served(tmp_path) as s, s.client() as client:
        assert client.get("/v1/version").status_code == 200
        os.chmod(tmp_path / "serve-keys.json", 0o644)
        message = error_of(client.get("/v1/version"), 503, "StoreCorrupted")
        assert "can be read by others" in message
        os.chmod(tmp_path / "serve-keys.json", 0o600)
        assert client.get("/v1/version").status_code == 200


def test_keys_are_stored_as_digests_only(server: Served) -> None:
    stored = (server.home / "serve-keys.json").read_text()
    assert server.key not in stored
    assert stat.S_IMODE((server.home / "serve-keys.json").stat().st_mode) == 0o600
    listed = loom("serve", "keys", "list", "--json", env={"LOOM_HOME": str(server.home)})
    assert listed.returncode == 0
    assert server.key not in listed.stdout and "sha256" not in listed.stdout


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("add", "Bad Name"), "key name"),
        (("add", "../x"), "key name"),
        (("revoke", "nobody"), "no live key"),
    ],
)
def test_keys_cli_refuses_bad_names_on_one_line(tmp_path: Path, args: tuple[str, ...], problem: str) -> None:
    refused = loom("serve", "keys", *args, env={"LOOM_HOME": str(tmp_path)})
    assert refused.returncode == 2
    assert problem in one_error_line(refused)


def test_oversized_bodies_are_refused_before_they_are_read(server: Served, api: httpx.Client) -> None:
    big = b'{"presentation": "' + b"A" * (2 << 20) + b'"}'
    declared = api.post("/v1/tlsn/verify", content=big, headers={"content-type": "application/json"})
    assert "over the server's limit" in error_of(declared, 413, "InvalidInput")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap counts what streams in
        for i in range(0, len(big), 65536):
            yield big[i : i + 65536]

    streamed = api.post("/v1/tlsn/verify", content=chunks(), headers={"content-type": "application/json"})
    assert "over the server's limit" in error_of(streamed, 413, "InvalidInput")
    assert api.get("/v1/version").status_code == 200  # and the server goes on


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"{not json", "not JSON"),
        (b"", "the body is missing"),
        (b"[]", "valid dictionary"),
        (json.dumps({"presentation": "AAAA"}).encode(), "policy: Field required"),
        (json.dumps({"presentation": "AA", "policy": POLICY, "extra": 1}).encode(), "extra: Extra inputs"),
        (json.dumps({"presentation": 7, "policy": POLICY}).encode(), "presentation"),
        (json.dumps({"presentation": "AA", "policy": {"notary_keys": []}}).encode(), "notary_keys"),
        (json.dumps({"presentation": "AA", "policy": {"notary_keys": ["zz"]}}).encode(), "notary_keys.0"),
        (json.dumps({"presentation": "", "policy": POLICY}).encode(), "empty"),
        (json.dumps({"presentation": "!!!", "policy": POLICY}).encode(), "presentation"),
        (json.dumps({"presentation": "AA", "policy": {**POLICY, "roots": ["@@"]}}).encode(), "policy.roots.0"),
        (json.dumps({"presentation": "AA", "policy": POLICY, "backend": "gpu"}).encode(), "backend"),
    ],
)
def test_malformed_requests_are_typed_400s(api: httpx.Client, body: bytes, problem: str) -> None:
    response = api.post("/v1/tlsn/verify", content=body, headers={"content-type": "application/json"})
    assert problem in error_of(response, 400, "InvalidInput")


def test_unknown_routes_and_methods_are_json_errors(api: httpx.Client) -> None:
    error_of(api.get("/v1/nothing"), 404, "InvalidInput")
    error_of(api.delete("/v1/runs"), 405, "InvalidInput")
    error_of(api.get("/docs"), 404, "InvalidInput")  # no page that would load scripts from a CDN


@pytest.mark.parametrize(
    "run_id", ["..", "../../etc/passwd", "%2e%2e%2fjournal.sqlite", "20260101-000000-abcdeg", "x" * 300, "%00"]
)
def test_run_ids_that_are_no_run_ids_are_404s(api: httpx.Client, run_id: str) -> None:
    response = api.get(f"/v1/runs/{run_id}")
    assert response.status_code == 404
    assert "Traceback" not in response.text


def test_the_access_log_names_the_key_never_the_key_a_query_or_a_body(server: Served, api: httpx.Client) -> None:
    secret_in_query = "query-secret-741"
    api.get(f"/v1/runs?pipeline={secret_in_query}")
    api.post("/v1/tlsn/verify", json={"presentation": "body-secret-852", "policy": POLICY})
    time.sleep(0.2)
    log = server.log_text()
    assert " tests GET /v1/runs 200 " in log
    for leaked in (server.key, secret_in_query, "body-secret-852"):
        assert leaked not in log


def test_openapi_describes_the_routes(api: httpx.Client) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/v1/tlsn/verify", "/v1/receipts/verify", "/v1/bundles/verify", "/v1/runs", "/v1/runs/{run_id}"} <= set(
        paths
    )


# --- presentations -------------------------------------------------------------------------------------------


def cli_verify(*options: str) -> dict[str, object]:
    file = FIXTURES / "tlsn" / "presentation.bin"
    done = loom("tlsn", "verify", str(file), "--notary-key", GOLDEN_NOTARY_KEY, "--json", *options)
    assert done.returncode == 0, done.stderr
    shown: dict[str, object] = json.loads(done.stdout)
    shown.pop("notary_name")
    return shown


@pytest.mark.parametrize(
    "presentation",
    [
        base64.b64encode(PRESENTATION).decode(),
        base64.urlsafe_b64encode(PRESENTATION).decode().rstrip("="),
        PRESENTATION.hex(),
    ],
    ids=["base64", "base64url", "hex"],
)
@pytest.mark.parametrize("backend", ["native", "wasm"])
def test_a_presentation_verifies_as_the_cli_says(api: httpx.Client, presentation: str, backend: str) -> None:
    response = api.post("/v1/tlsn/verify", json={"presentation": presentation, "policy": POLICY, "backend": backend})
    assert response.status_code == 200, response.text
    shown = response.json()
    expected = cli_verify("--backend", backend)
    assert (expected["encoding"], shown["encoding"]) == ("bincode", "hex" if presentation[:2] == "01" else "base64")
    assert shown == expected | {"encoding": shown["encoding"]}
    assert shown["server"]["name"] == "tlsnotary.org"


def test_a_tlsn_js_object_is_a_presentation_too(api: httpx.Client) -> None:
    document = {"version": "0.1.0-alpha.15", "data": PRESENTATION.hex(), "meta": {"notaryUrl": "https://n.example"}}
    response = api.post("/v1/tlsn/verify", json={"presentation": document, "policy": POLICY})
    assert response.status_code == 200, response.text
    assert response.json()["encoding"] == "tlsn-js-json"


@pytest.mark.parametrize(
    ("policy", "option"),
    [
        ({"server_name": "example.com"}, ("--server", "example.com")),
        ({"max_age": 60, "now": 1700000000}, ("--max-age", "60", "--now", "1700000000")),
        ({"now": 1671637000}, ("--now", "1671637000")),
        (
            {"notary_keys": ["02" + "11" * 32]},
            None,
        ),
    ],
)
def test_a_presentation_that_fails_the_policy_is_a_422_with_the_cli_message(
    api: httpx.Client, policy: dict[str, object], option: tuple[str, ...] | None
) -> None:
    response = api.post(
        "/v1/tlsn/verify",
        json={"presentation": base64.b64encode(PRESENTATION).decode(), "policy": {**POLICY, **policy}},
    )
    message = error_of(response, 422, "PresentationInvalid")
    if option is not None:
        file = str(FIXTURES / "tlsn" / "presentation.bin")
        refused = loom("tlsn", "verify", file, "--notary-key", GOLDEN_NOTARY_KEY, *option)
        assert refused.returncode == response.json()["error"]["exit_code"] == 1
        assert one_error_line(refused) == f"error: PresentationInvalid: {message}"


def test_a_flipped_byte_is_refused_never_a_500(api: httpx.Client) -> None:
    for position in range(0, len(PRESENTATION), max(1, len(PRESENTATION) // 40)):
        damaged = bytearray(PRESENTATION)
        damaged[position] ^= 0x01
        response = api.post(
            "/v1/tlsn/verify", json={"presentation": base64.b64encode(bytes(damaged)).decode(), "policy": POLICY}
        )
        assert response.status_code in (400, 422), (position, response.text)
        assert response.json()["error"]["type"] in ("PresentationInvalid", "InvalidInput")


# --- receipts and bundles (the session's real proof of hello) ----------------------------------------------


@pytest.mark.slow  # the session's mixed run: a real proof of hello
def test_a_receipt_verifies_and_gives_its_journal(api: httpx.Client, mixed: MixedRun, hello_receipt: object) -> None:
    from pipeline import zk

    assert isinstance(hello_receipt, zk.Receipt)
    body = {"receipt": base64.b64encode(hello_receipt.to_bytes()).decode(), "guest": "hello"}
    response = api.post("/v1/receipts/verify", json=body)
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["verified"] is True and shown["dev_mode"] is False
    assert shown["image_id"] == zk.load_guest("hello").image_id
    assert shown["journal"]["sum"] == mixed.result.output["sum"]
    by_id = api.post("/v1/receipts/verify", json={"receipt": body["receipt"], "image_id": shown["image_id"].upper()})
    assert by_id.json() == shown


@pytest.mark.slow  # the session's mixed run: a real proof of hello
def test_a_receipt_for_another_image_or_damaged_is_refused(api: httpx.Client, hello_receipt: object) -> None:
    from pipeline import zk

    assert isinstance(hello_receipt, zk.Receipt)
    data = hello_receipt.to_bytes()
    other = zk.load_guest("json-claim").image_id
    wrong = api.post("/v1/receipts/verify", json={"receipt": base64.b64encode(data).decode(), "image_id": other})
    assert "expected" in error_of(wrong, 422, "ImageIdMismatch")
    cut = api.post("/v1/receipts/verify", json={"receipt": base64.b64encode(data[:-9]).decode(), "guest": "hello"})
    assert cut.status_code in (400, 422) and cut.json()["error"]["type"] in ("ReceiptInvalid", "InvalidInput")
    for body, problem in [
        ({"receipt": "AAAA"}, "exactly one of image_id or guest"),
        ({"receipt": "AAAA", "image_id": "ab"}, "64 hex digits"),
        ({"receipt": "AAAA", "image_id": "../../" + "0" * 58}, "64 hex digits"),
        ({"receipt": "@@@", "guest": "hello"}, "receipt is not base64"),
    ]:
        assert problem in error_of(api.post("/v1/receipts/verify", json=body), 400, "InvalidInput")
    unknown = api.post("/v1/receipts/verify", json={"receipt": "AAAA", "guest": "no-such-guest"})
    assert unknown.status_code in (400, 404) and "Traceback" not in unknown.text


@pytest.mark.slow  # the session's mixed run: a real proof of hello
def test_a_bundle_verifies_and_an_altered_one_is_refused_with_its_report(api: httpx.Client, mixed: MixedRun) -> None:
    ok = api.post("/v1/bundles/verify", json={"bundle": json.loads(mixed.bundle), "require_proven": ["sum"]})
    assert ok.status_code == 200, ok.text
    assert ok.json()["ok"] is True

    def lie(data: dict[str, object]) -> None:
        data["output"]["sum"] = 999  # type: ignore[index]

    altered = api.post("/v1/bundles/verify", json={"bundle": json.loads(mixed.edited(lie))})
    assert altered.status_code == 422
    answer = altered.json()
    assert answer["error"]["type"] == "BundleRefused" and answer["report"]["ok"] is False
    host = api.post("/v1/bundles/verify", json={"bundle": json.loads(mixed.bundle), "require_proven": ["label"]})
    assert host.status_code == 422 and "label" in host.json()["error"]["message"]


# --- runs ----------------------------------------------------------------------------------------------------


@pytest.mark.slow  # the session's mixed run: a real proof of hello
def test_runs_of_the_data_dir_are_listed_and_shown(mixed: MixedRun) -> None:
    with served(mixed.home) as s, s.client() as client:
        listed = client.get("/v1/runs", params={"status": "succeeded"}).json()
        assert mixed.result.run_id in [r["run_id"] for r in listed]
        shown = client.get(f"/v1/runs/{mixed.result.run_id}").json()
        assert shown["output"] == mixed.result.output
        assert {a["step"] for a in shown["attempts"]} == {"echo", "prove"}
        assert "spec" not in shown["run"]
        assert client.get("/v1/runs", params={"status": "nonsense"}).status_code == 400


ECHO_PIPELINE = """\
name: echo-twice
steps:
  first:
    activity: echo
    input: {words: "${input.words}"}
  second:
    activity: echo
    input: {again: "${steps.first.output.echo.words}"}
output:
  words: "${steps.second.output.echo.again}"
"""


def test_a_served_pipeline_runs_and_is_followed(tmp_path: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "echo-twice.yaml").write_text(ECHO_PIPELINE)
    (tmp_path / "outside.yaml").write_text(ECHO_PIPELINE)
    with served(tmp_path / "home", "--pipelines", str(pipelines)) as s, s.client() as client:
        started = client.post("/v1/runs", json={"pipeline": "echo-twice", "input": {"words": ["a", "<b>\x1b"]}})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        deadline = time.monotonic() + 120
        while (shown := client.get(f"/v1/runs/{run_id}").json())["run"]["status"] == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert shown["run"]["status"] == "succeeded", shown
        assert shown["output"] == {"words": ["a", "<b>\x1b"]}
        assert shown["provenance"]

        for name, status in [("../outside", 400), ("outside", 404), ("/etc/passwd", 400), ("nope", 404)]:
            refused = client.post("/v1/runs", json={"pipeline": name})
            assert refused.status_code == status, refused.text
        bad_input = client.post("/v1/runs", json={"pipeline": "echo-twice", "input": {}})
        assert bad_input.status_code == 400, bad_input.text


def children(pid: int) -> set[int]:
    """The live processes whose parent is ``pid`` (a runner's workers), from /proc."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(c) for c in (task / "children").read_text().split()}
    return found


def test_a_run_cut_short_by_a_killed_server_is_resumed_by_the_next(tmp_path: Path, loom_home: Path) -> None:
    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    (pipelines / "chain.yaml").write_text(json.dumps(CHAIN))  # five steps of about a second each
    register_slow()
    port = free_port()
    with served(loom_home, "--pipelines", str(pipelines), port=port) as first, first.client() as client:
        started = client.post("/v1/runs", json={"pipeline": "chain", "input": {"x": 7}})
        assert started.status_code == 202, started.text
        run_id = started.json()["run_id"]
        journal = default_journal()
        wait_for(lambda: any(a.step == "s1" and a.status in DONE for a in journal.attempts(run_id)), 120, "s1")
        workers = children(first.process.pid)
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    assert workers
    wait_for(lambda: not any(Path(f"/proc/{w}").exists() for w in workers), 5, "the killed server's workers to end")
    cli_run = loom_run(pipelines / "chain.yaml", 8)  # a run the CLI starts and is killed: the server leaves it alone
    wait_for(lambda: len(journal.runs()) == 2, 60, "the CLI's run")
    os.killpg(cli_run.pid, signal.SIGKILL)
    cli_run.wait()
    cli_id = next(r.run_id for r in journal.runs() if r.run_id != run_id)
    assert journal.run(run_id).status == RunStatus.INTERRUPTED  # type: ignore[union-attr]

    with served(loom_home, "--pipelines", str(pipelines), port=port, key_name="after") as second:
        with second.client() as client:

            def ended() -> bool:
                return client.get(f"/v1/runs/{run_id}").json()["run"]["status"] not in {"running", "interrupted"}

            wait_for(ended, 120, "the resumed run")
            shown = client.get(f"/v1/runs/{run_id}").json()
        assert shown["run"]["status"] == "succeeded", shown
        assert shown["output"] == expected(7)
        assert f"run {run_id} was cut short by the last server: resuming it" in second.log_text()
    check_journal(run_id)  # one finished attempt per step: s1 was not run again
    assert [a.attempt for a in journal.attempts(run_id) if a.step == "s1"] == [1]
    assert journal.run(cli_id).status == RunStatus.INTERRUPTED  # type: ignore[union-attr]
    assert ProvingSessions(loom_home / "sessions.sqlite").unended_runs() == []


def test_a_damaged_journal_is_one_line_before_anything_listens(tmp_path: Path) -> None:
    add_key(tmp_path, "k")
    (tmp_path / "journal.sqlite").write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    refused = loom("serve", "--port", "0", env={"LOOM_HOME": str(tmp_path)}, timeout=60)
    assert refused.returncode == 6, refused.stderr
    assert "journal" in one_error_line(refused) and "damaged" in one_error_line(refused)


def test_without_pipelines_no_run_is_started(api: httpx.Client) -> None:
    assert "--pipelines" in error_of(api.post("/v1/runs", json={"pipeline": "x"}), 400, "InvalidInput")


# --- how it listens --------------------------------------------------------------------------------------------


def test_it_listens_on_loopback_unless_told_and_warns_without_tls(tmp_path: Path) -> None:
    with served(tmp_path) as s:
        assert s.url.startswith("http://127.0.0.1:")
    with served(tmp_path, "--host", "0.0.0.0", key_name="second") as s:
        assert "without TLS" in s.log_text()


def test_a_port_in_use_is_one_line(tmp_path: Path, server: Served) -> None:
    port = server.url.rsplit(":", 1)[1]
    add_key(tmp_path, "only")  # no warning that no key is live: the refusal is the one line
    refused = loom("serve", "--port", port, env={"LOOM_HOME": str(tmp_path)}, timeout=60)
    assert refused.returncode == 2
    assert "cannot listen on 127.0.0.1:" in one_error_line(refused)


def test_https_with_a_certificate_and_key(tmp_path: Path, fixtures: Path) -> None:
    import ssl

    pki = fixtures / "tlsn" / "test-server-pki"
    args = ("--tls-cert", str(pki / "test_server.crt"), "--tls-key", str(pki / "test_server.key"))
    with served(tmp_path, *args) as s:
        assert s.url.startswith("https://127.0.0.1:")
        trusting = ssl.create_default_context(cafile=str(pki / "root_ca.crt"))
        trusting.check_hostname = False  # the test certificate names test-server.io, not 127.0.0.1
        with s.client(verify=trusting) as client:
            assert client.get("/v1/version").status_code == 200
        with s.client() as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get("/v1/version")
    half = loom("serve", "--port", "0", "--tls-cert", args[1], env={"LOOM_HOME": str(tmp_path)})
    assert half.returncode == 2 and "both --tls-cert and --tls-key" in half.stderr
