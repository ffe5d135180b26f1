"""``loom serve``'s Bonsai API: RISC Zero's own client (bonsai-sdk 1.4.3, unchanged, in a small Rust program) proves
through it while the server is killed with SIGKILL and started again; and what a hostile client sends is refused,
typed, with nothing stored."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pipeline import _native, zk
from pipeline.store import ProvingSessions, SessionStatus
from tests.support.serve import Served, bonsai_client, free_port, served, wait_for

HELLO_INPUT = b'{"words":[7,35]}'
HELLO_JOURNAL = {"count": 2, "sum": 42}
QUEUED = 20


def client_env(server: Served, key: str | None = None) -> dict[str, str]:
    return {**os.environ, "BONSAI_API_URL": f"{server.url}/bonsai", "BONSAI_API_KEY": key or server.key}


def upload_input(client: httpx.Client, data: bytes) -> str:
    slot = client.get("/bonsai/inputs/upload").json()
    assert client.put(slot["url"], content=data).status_code == 200
    return str(slot["uuid"])


@pytest.mark.slow  # one real succinct proof of hello
def test_the_bonsai_sdk_proves_through_a_kill_9_and_every_session_ends_once(tmp_path: Path) -> None:
    hello = zk.load_guest("hello")
    (tmp_path / "input.json").write_bytes(HELLO_INPUT)
    home, port = tmp_path / "home", free_port()
    home.mkdir()
    sessions = ProvingSessions(home / "sessions.sqlite")  # the test reads what the servers write
    with served(home, port=port) as first:
        client = subprocess.Popen(
            [str(bonsai_client()), str(hello.path), str(tmp_path / "input.json")],
            env=client_env(first),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_for(lambda: any((s.state or "").startswith("ProveSegments") for s in sessions.sessions()), 120, "proving")
        with first.client() as api:  # queued behind the proof: they wait across the kill
            input_id = upload_input(api, HELLO_INPUT)
            body = {"img": hello.image_id, "input": input_id, "assumptions": [], "execute_only": True}
            queued = [api.post("/bonsai/sessions/create", json=body).json()["uuid"] for _ in range(QUEUED)]
        first.process.send_signal(signal.SIGKILL)
        first.process.wait()
    proving = [s for s in sessions.sessions() if not s.execute_only]
    assert [s.status for s in proving] == [SessionStatus.RUNNING]
    with served(home, port=port, key_name="after-restart"):
        out, err = client.communicate(timeout=900)
        assert client.returncode == 0, err
        wait_for(lambda: all(sessions.session(q).status in {"succeeded", "failed"} for q in queued), 120, "queue")
    shown = json.loads(out)
    assert shown["image_id"] == hello.image_id
    assert json.loads(bytes.fromhex(shown["journal"])) == HELLO_JOURNAL
    assert shown["server_versions"] == [_native.build_info()["risc0_zkvm"]]
    proven = sessions.session(shown["session"])
    assert proven is not None and proven.status == SessionStatus.SUCCEEDED
    assert proven.attempts == 2  # cut short by the kill, proven again by the next server
    assert "ProveSegments" not in (proven.state or "") and "executing" in proven.log
    for name in queued:
        session = sessions.session(name)
        assert session is not None and session.status == SessionStatus.SUCCEEDED and session.attempts == 1
        assert session.segments == 1 and session.total_cycles and session.user_cycles


def test_the_bonsai_sdk_with_a_bad_key_is_refused(tmp_path: Path) -> None:
    (tmp_path / "input.json").write_bytes(HELLO_INPUT)
    with served(tmp_path) as server:
        refused = subprocess.run(
            [str(bonsai_client()), str(zk.load_guest("hello").path), str(tmp_path / "input.json")],
            env=client_env(server, "loom_not-a-key"),
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert refused.returncode == 1
    assert '"type":"Unauthorized"' in refused.stderr


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with served(tmp_path_factory.mktemp("bonsai-home"), "--max-body-mib", "2") as s:
        yield s


@pytest.fixture(scope="module")
def api(server: Served) -> Iterator[httpx.Client]:
    with server.client() as client:
        yield client


def error_type(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    return str(response.json()["error"]["type"])


def test_an_execute_only_session_gives_its_journal(api: httpx.Client) -> None:
    hello = zk.load_guest("hello")
    slot = api.get(f"/bonsai/images/upload/{hello.image_id}")
    if slot.status_code == 200:
        assert api.put(slot.json()["url"], content=hello.elf).status_code == 200
    assert api.get(f"/bonsai/images/upload/{hello.image_id}").status_code == 204
    body = {"img": hello.image_id, "input": upload_input(api, HELLO_INPUT), "assumptions": [], "execute_only": True}
    name = api.post("/bonsai/sessions/create", json=body).json()["uuid"]
    wait_for(lambda: api.get(f"/bonsai/sessions/status/{name}").json()["status"] != "RUNNING", 60, "the session")
    status = api.get(f"/bonsai/sessions/status/{name}").json()
    assert status["status"] == "SUCCEEDED" and status["receipt_url"] is None
    assert status["stats"]["segments"] == 1 and status["stats"]["cycles"] > 0
    assert json.loads(api.get(f"/bonsai/sessions/exec_only_journal/{name}").content) == HELLO_JOURNAL
    assert "executed:" in api.get(f"/bonsai/sessions/logs/{name}").text
    assert error_type(api.get(f"/bonsai/receipts/{name}"), 404) == "NotFound"
    assert error_type(api.get(f"/bonsai/sessions/stop/{name}"), 400) == "InvalidInput"  # it is over


def test_uploads_are_checked_before_they_are_kept(api: httpx.Client) -> None:
    hello, other = zk.load_guest("hello"), zk.load_guest("json-claim")
    assert error_type(api.put(f"/bonsai/images/{other.image_id}", content=hello.elf), 422) == "ImageIdMismatch"
    assert api.get(f"/bonsai/images/upload/{other.image_id}").status_code == 200  # still not there
    assert error_type(api.put(f"/bonsai/images/{other.image_id}", content=b"\x7fELF not really"), 400) == "InvalidInput"
    assert error_type(api.put(f"/bonsai/images/{other.image_id}", content=b""), 400) == "InvalidInput"
    for bad in ("..%2f..%2fkeys", "0" * 63, "g" * 64, "x" * 500):
        assert api.get(f"/bonsai/images/upload/{bad}").status_code in (400, 404)

    receipt_slot = api.get("/bonsai/receipts/upload").json()
    garbage = api.put(receipt_slot["url"], content=b"not a receipt")
    assert garbage.status_code in (400, 422) and garbage.json()["error"]["type"] in ("InvalidInput", "ReceiptInvalid")
    assert api.put(receipt_slot["url"], content=b"not a receipt").status_code in (400, 422)  # still unfilled
    input_slot = api.get("/bonsai/inputs/upload").json()
    assert api.put(input_slot["url"], content=b"once").status_code == 200
    assert error_type(api.put(input_slot["url"], content=b"twice"), 400) == "InvalidInput"
    never_issued = "12345678-1234-4234-8234-123456789abc"
    for name in (never_issued, "../../serve-keys.json", "%2e%2e", receipt_slot["uuid"]):
        response = api.put(f"/bonsai/inputs/{name}", content=b"x")
        assert response.status_code == 404, (name, response.text)
    assert error_type(api.put(f"/bonsai/inputs/{never_issued}", content=b"x" * (3 << 20)), 413) == "InvalidInput"


def test_sessions_refuse_what_was_not_uploaded(api: httpx.Client) -> None:
    hello = zk.load_guest("hello")
    slot = api.get(f"/bonsai/images/upload/{hello.image_id}")
    if slot.status_code == 200:
        api.put(slot.json()["url"], content=hello.elf)
    unfilled = api.get("/bonsai/inputs/upload").json()["uuid"]
    filled = upload_input(api, HELLO_INPUT)
    receipt_slot = api.get("/bonsai/receipts/upload").json()["uuid"]
    base = {"img": hello.image_id, "input": filled, "assumptions": [], "execute_only": True}
    for change, status in [
        ({"img": "ab" * 32}, 404),
        ({"img": "../" + "0" * 61}, 400),
        ({"input": unfilled}, 404),
        ({"input": receipt_slot}, 404),
        ({"input": "../../journal.sqlite"}, 404),
        ({"assumptions": [filled]}, 404),
        ({"assumptions": [receipt_slot]}, 404),
        ({"exec_cycle_limit": 0}, 400),
        ({"surprise": 1}, 400),
    ]:
        response = api.post("/bonsai/sessions/create", json={**base, **change})
        assert response.status_code == status, (change, response.text)
    for route in ("sessions/status", "sessions/logs", "sessions/stop", "receipts", "sessions/exec_only_journal"):
        assert error_type(api.get(f"/bonsai/{route}/12345678-1234-4234-8234-123456789abc"), 404) == "NotFound"
        assert api.get(f"/bonsai/{route}/..%2f..%2fsessions.sqlite").status_code == 404


def test_groth16_is_said_to_be_unavailable(api: httpx.Client) -> None:
    response = api.post("/bonsai/snark/create", json={"session_id": "12345678-1234-4234-8234-123456789abc"})
    assert error_type(response, 501) == "NotAvailable"
    assert "Groth16" in response.json()["error"]["message"]


def test_a_client_of_another_risc0_release_is_told_why(api: httpx.Client) -> None:
    response = api.get("/bonsai/version", headers={"x-risc0-version": "3.0.6"})
    assert error_type(response, 400) == "InvalidInput"
    assert "3.0.6" in response.json()["error"]["message"]
    ours = api.get("/bonsai/version").json()["risc0_zkvm"][0]
    assert api.get("/bonsai/version", headers={"x-risc0-version": ours}).status_code == 200
    quotas = api.get("/bonsai/user/quotas").json()
    assert set(quotas) == {
        "exec_cycle_limit", "concurrent_proofs", "cycle_budget", "cycle_usage", "dedicated_executor", "dedicated_gpu"
    }  # fmt: skip


def test_one_server_per_data_dir(server: Served) -> None:
    from tests.support import loom, one_error_line

    second = loom("serve", "--port", "0", env={"LOOM_HOME": str(server.home)}, timeout=60)
    assert second.returncode == 2
    assert "another loom serve owns the proving sessions" in one_error_line(second)
