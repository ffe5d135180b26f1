"""A cluster address is parsed once and refused on one line when malformed (exit 5, as an unreachable cluster is),
and the head must answer within a bound the user can set: a port that accepts and stays silent cannot hang Loom."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import HELLO_INPUT, loom, one_error_line

PIPELINE = "name: p\nsteps:\n  a:\n    activity: echo\n    input: ${input}\n"


def _commands(tmp_path: Path) -> list[list[str]]:
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(PIPELINE)
    return [
        ["zk", "prove", "hello", "--input", json.dumps(HELLO_INPUT)],  # refused before any proving
        ["run", str(pipeline), "--input", "{}"],
    ]


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that completes TCP handshakes (the kernel's backlog) and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield server.getsockname()[1]


@pytest.mark.parametrize("address", ["a::b:1", "twentycharacterword!", "host:99999", "ray://:6379", "h o s t:1"])
def test_a_malformed_address_is_one_line(tmp_path: Path, address: str) -> None:
    for args in _commands(tmp_path):
        proc = loom(*args, env={"LOOM_CLUSTER": address}, timeout=60)
        assert proc.returncode == 5, (args, proc.stderr)
        one_error_line(proc)


def test_a_silent_head_is_given_up_on_within_the_bound(tmp_path: Path, silent_port: int) -> None:
    for args in _commands(tmp_path):
        started = time.monotonic()
        proc = loom(*args, env={"LOOM_CLUSTER": f"127.0.0.1:{silent_port}", "LOOM_CLUSTER_TIMEOUT": "2"}, timeout=60)
        assert proc.returncode == 5, (args, proc.stderr)
        assert "did not answer within 2 s" in one_error_line(proc)
        assert time.monotonic() - started < 30


def test_a_bad_timeout_is_named(silent_port: int, tmp_path: Path) -> None:
    env = {"LOOM_CLUSTER": f"127.0.0.1:{silent_port}", "LOOM_CLUSTER_TIMEOUT": "soon"}
    proc = loom(*_commands(tmp_path)[0], env=env, timeout=60)
    assert proc.returncode == 5 and "LOOM_CLUSTER_TIMEOUT='soon'" in one_error_line(proc)
