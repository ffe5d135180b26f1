"""A real Ray cluster on this machine for the cluster tests: a head that runs nothing and two worker raylets of one
CPU each, so a proof's tasks spread over two nodes that can be killed one at a time. It requires Ray's token
authentication, as docs/cluster.md tells users to run theirs: the token is made here, for this session only, and
set in the environment before Ray is imported (Ray reads its mode once per process), so this process, the nodes it
starts and the `loom` processes the tests start all hold it."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

NODE_MEMORY = 6 * 2**30


@pytest.fixture(scope="package")
def cluster() -> Iterator[Cluster]:
    """Up for this folder's tests only: idle, Ray's workers still took a quarter of a core each, for the rest of a
    session that proves on both."""
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        nodes.add_node(num_cpus=1, memory=NODE_MEMORY)
    nodes.wait_for_nodes()
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="package")
def address(cluster: Cluster) -> str:
    return str(cluster.address)
