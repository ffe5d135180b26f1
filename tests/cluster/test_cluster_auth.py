"""Who may use a cluster: the session's cluster requires Ray's token (tests/cluster/conftest.py), so a driver with no
token or the wrong one is refused on one line; a cluster that lets a driver in without a token is warned about,
since anyone who reaches its ports runs code on its nodes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import HELLO_INPUT

LOOM = Path(sys.executable).parent / "loom"
PROVE = ("zk", "prove", "hello", "-i", json.dumps(HELLO_INPUT))


def loom_against(address: str, **env: str | None) -> subprocess.CompletedProcess[str]:
    """``loom zk prove hello --cluster ADDRESS`` with the session's environment changed by ``env`` (None unsets)."""
    changed = {**os.environ}
    for name, value in env.items():
        if value is None:
            changed.pop(name, None)
        else:
            changed[name] = value
    return subprocess.run(
        [str(LOOM), *PROVE, "--cluster", address], capture_output=True, text=True, timeout=120, env=changed
    )


def said(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What Loom printed on stderr: its lines, without Ray's C++ core's one line about its log level, and never a
    traceback."""
    assert "Traceback" not in proc.stderr, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.strip() and "logging.cc" not in line]


@pytest.mark.parametrize(
    "auth",
    [{"RAY_AUTH_MODE": None, "RAY_AUTH_TOKEN": None}, {"RAY_AUTH_TOKEN": "0" * 64}],
    ids=["no token", "a wrong token"],
)
def test_a_driver_without_the_clusters_token_is_refused(address: str, auth: dict[str, str | None]) -> None:
    refused = loom_against(address, **auth)
    assert refused.returncode == 5, refused.stderr
    assert len(said(refused)) == 1, refused.stderr  # at once, on one line
    assert said(refused)[-1].startswith(f"error: ClusterUnavailable: the Ray cluster at '{address}' refused this")
    assert "(or its lack of one): set RAY_AUTH_MODE=token" in said(refused)[-1]


OPEN_HEAD = """
import sys
from ray.cluster_utils import Cluster
head = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
print(head.address, flush=True)
sys.stdin.read()  # until the test closes it
head.shutdown()
"""


@pytest.fixture
def open_head() -> Iterator[str]:
    """A second cluster (a head alone, no CPU), started without token authentication in a process of its own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH_")} | {"RAY_AUTH_MODE": "disabled"}
    head = subprocess.Popen(
        [sys.executable, "-c", OPEN_HEAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert head.stdout is not None
        address = head.stdout.readline().strip()
        assert address, "the open head did not start"
        yield address
    finally:
        assert head.stdin is not None
        head.stdin.close()
        try:
            head.wait(timeout=60)
        except subprocess.TimeoutExpired:
            head.kill()
            head.wait()


def test_a_cluster_that_asks_no_token_is_warned_about(open_head: str) -> None:
    ran = loom_against(open_head, RAY_AUTH_MODE=None, RAY_AUTH_TOKEN=None)
    warning = (
        f"warning: the Ray cluster at '{open_head}' accepted this driver without a token: anyone who reaches its "
        "ports can run code on it (RAY_AUTH_MODE=token on every node; see docs/cluster.md)"
    )
    assert said(ran).count(warning) == 1, ran.stderr
    # then it goes on as usual: here, a head alone has no node to prove on
    assert ran.returncode == 5 and said(ran)[-1].endswith("no live node with CPUs"), ran.stderr


def test_the_sessions_cluster_is_used_without_a_warning(address: str) -> None:
    """The same command against the token cluster, with the token: no warning, and the refusal of a segment size
    no node can hold, which comes after connecting (so nothing is proven here)."""
    ran = subprocess.run(
        [str(LOOM), *PROVE, "--segment-po2", "20", "--cluster", address], capture_output=True, text=True, timeout=120
    )
    assert ran.returncode == 2, ran.stderr
    assert not [line for line in said(ran) if "warning" in line], ran.stderr
    assert said(ran)[-1].endswith("use a segment po2 of 18 or less"), ran.stderr
