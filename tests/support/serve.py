"""A real ``loom serve`` for the tests: a process of its own on 127.0.0.1 (a port the system picks), over a data dir
of the test's, with an API key made by the CLI; stopped (SIGTERM, then SIGKILL) when the test is done."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from pipeline.core import risc0_host_binary
from tests.support import loom

LISTENING = re.compile(r"loom serve: listening on (https?://\S+)")


@dataclass
class Served:
    url: str
    key: str
    home: Path
    log: Path
    process: subprocess.Popen[bytes]

    def client(self, key: str | None = None, **options: object) -> httpx.Client:
        headers = {"x-api-key": self.key if key is None else key}
        return httpx.Client(base_url=self.url, headers=headers, timeout=120, **options)  # type: ignore[arg-type]

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def add_key(home: Path, name: str) -> str:
    made = loom("serve", "keys", "add", name, env={"LOOM_HOME": str(home)})
    assert made.returncode == 0, made.stderr
    return made.stdout.strip()


@contextmanager
def served(
    home: Path, *args: str, key_name: str = "tests", port: int = 0, env: dict[str, str] | None = None
) -> Iterator[Served]:
    """``loom serve ARGS`` on loopback (``port``, or one the system picks), until the block ends; its stderr (the
    access log) in a file."""
    key = add_key(home, key_name)
    log = home / f"serve-{time.monotonic_ns()}.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline", "serve", "--port", str(port), *args],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "LOOM_HOME": str(home), **(env or {})},
        )
    try:
        url = _wait_listening(process, log)
        yield Served(url, key, home, log, process)
    finally:
        stop(process)


def wait_for(check: Callable[[], object], timeout: float, what: str) -> None:
    """Polls ``check`` until it is true; fails the test naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def bonsai_client() -> Path:
    """RISC Zero's bonsai-sdk as its users call it (benches/risc0-host/src/bonsai_client.rs, built by `make setup`)."""
    path = risc0_host_binary().with_name("bonsai-client")
    assert path.is_file(), f"{path} is missing: run `make setup`"
    return path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_listening(process: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (found := LISTENING.search(log.read_text(errors="replace"))) is not None:
            url = found.group(1)
            for _ in range(100):  # the socket listens before uvicorn serves: wait for a first answer
                try:
                    # only a probe that it answers: the tests check certificates themselves
                    if httpx.get(f"{url}/health", timeout=2, verify=False).status_code == 200:
                        return url
                except httpx.TransportError:
                    time.sleep(0.1)
            break
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise RuntimeError(f"loom serve did not start: {log.read_text(errors='replace')[-3000:]}")
