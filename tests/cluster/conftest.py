"""A real Ray cluster on this machine for the cluster tests: a head that runs nothing and two worker raylets of one
CPU each, so a proof's tasks spread over two nodes that can be killed one at a time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

NODE_MEMORY = 6 * 2**30


@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        nodes.add_node(num_cpus=1, memory=NODE_MEMORY)
    nodes.wait_for_nodes()
    try:
        yield nodes
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.fixture(scope="session")
def address(cluster: Cluster) -> str:
    return str(cluster.address)
