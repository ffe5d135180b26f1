"""``loom serve`` under load, in one run: 200 presentation verifications sent at once over loopback by 200 clients
(threads, each with its own connection; each answer checked) beside the same 200 by the native verifier
in-process, the function `loom tlsn verify` calls; and one request beside one `loom tlsn verify` process. The
batch's per-request latencies (p50, p99) and its throughput are in its extra info. Skipped without the serve
extra."""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

pytest.importorskip("uvicorn", reason="needs the serve extra (pip install 'loom-verifiable[serve]')")
httpx = pytest.importorskip("httpx", reason="needs httpx (the dev extra), the load's client")

from pipeline import tlsn  # noqa: E402
from pipeline.core import SAMPLE_NOTARY_KEY, SAMPLE_PRESENTATION, artifact  # noqa: E402
from pipeline.serve import ApiKeys  # noqa: E402

CONCURRENT = 200
NOW = 1700000000
PRESENTATION = artifact(SAMPLE_PRESENTATION).read_bytes()
POLICY = tlsn.Policy(notary_keys=(SAMPLE_NOTARY_KEY,), now=NOW)
BODY = {
    "presentation": base64.b64encode(PRESENTATION).decode(),
    "policy": {"notary_keys": [SAMPLE_NOTARY_KEY], "now": NOW},
}
REQUEST = json.dumps(BODY).encode()
JSON = {"content-type": "application/json"}
EXPECTED = tlsn.verify_presentation(PRESENTATION, POLICY).model_dump(mode="json", by_alias=True)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, str]]:
    """A `loom serve` of its own (a temporary data dir, a port the system picks) and a key for it."""
    with tempfile.TemporaryDirectory() as home:
        key = ApiKeys(Path(home) / "serve-keys.json").add("bench")
        env = {**os.environ, "LOOM_HOME": home}
        log = Path(home) / "serve.log"  # a file, not a pipe: an unread pipe would stall the access log
        with log.open("w") as sink:
            process = subprocess.Popen([sys.executable, "-m", "pipeline", "serve", "--port", "0"], env=env, stderr=sink)
        try:
            url = _listening(log)
            yield url, key
        finally:
            process.terminate()
            process.wait(timeout=30)


def _listening(log: Path) -> str:
    for _ in range(600):
        found = re.search(r"listening on (\S+)", log.read_text())
        if found:
            try:
                httpx.get(f"{found.group(1)}/health", timeout=2)
                return found.group(1)
            except httpx.TransportError:
                pass
        time.sleep(0.1)
    raise RuntimeError(f"loom serve did not start: {log.read_text()[-2000:]}")


def _one(url: str, key: str, latencies: list[float]) -> None:
    """One user: a connection of its own, one request, the answer checked (Python's http.client: httpx's async
    client spent ~25 ms of CPU per request here, five times the server's own cost, and measured itself)."""
    parts = urlsplit(url)
    began = time.perf_counter()
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=120)
    try:
        connection.request("POST", "/v1/tlsn/verify", body=REQUEST, headers={"x-api-key": key, **JSON})
        response = connection.getresponse()
        answer = json.loads(response.read())
    finally:
        connection.close()
    latencies.append(time.perf_counter() - began)
    answer.pop("encoding")
    assert response.status == 200 and answer == EXPECTED


def _batch(pool: ThreadPoolExecutor, url: str, key: str, latencies: list[float]) -> None:
    for done in [pool.submit(_one, url, key, latencies) for _ in range(CONCURRENT)]:
        done.result()


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.benchmark(group="serve: 200 presentation verifications")
def test_serve_verify_200_concurrent(benchmark, server: tuple[str, str]) -> None:
    latencies: list[float] = []
    with ThreadPoolExecutor(CONCURRENT) as pool:
        benchmark.pedantic(lambda: _batch(pool, *server, latencies), rounds=5, warmup_rounds=1)
    batch = benchmark.stats.stats.median
    benchmark.extra_info.update(
        p50_ms=round(statistics.median(latencies) * 1000, 2),
        p99_ms=round(_percentile(latencies, 0.99) * 1000, 2),
        requests_per_s=round(CONCURRENT / batch, 1),
    )


@pytest.mark.benchmark(group="serve: 200 presentation verifications")
def test_native_verify_200(benchmark) -> None:
    def batch() -> None:
        for _ in range(CONCURRENT):
            tlsn.verify_to_dict(PRESENTATION, POLICY, "native")

    benchmark.pedantic(batch, rounds=5, warmup_rounds=1)
    benchmark.extra_info.update(verifications_per_s=round(CONCURRENT / benchmark.stats.stats.median, 1))


@pytest.mark.benchmark(group="serve: one presentation verification")
def test_serve_verify_one(benchmark, server: tuple[str, str]) -> None:
    url, key = server
    with httpx.Client(base_url=url, headers={"x-api-key": key}, timeout=60) as client:
        benchmark(lambda: client.post("/v1/tlsn/verify", json=BODY).raise_for_status())


@pytest.mark.benchmark(group="serve: one presentation verification")
def test_cli_verify_one(benchmark, tmp_path: Path) -> None:
    file = tmp_path / "presentation.bin"
    file.write_bytes(PRESENTATION)
    command = [sys.executable, "-m", "pipeline", "tlsn", "verify", str(file), "--notary-key", SAMPLE_NOTARY_KEY]
    command += ["--now", str(NOW), "--json"]
    benchmark.pedantic(lambda: subprocess.run(command, check=True, capture_output=True), rounds=5, warmup_rounds=1)
