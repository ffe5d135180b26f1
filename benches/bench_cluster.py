"""The same proof locally and on a two-node Ray cluster of this machine (raylets started here, one CPU each, so
both sides use the same two cores), in one run: the cluster's wall time over local (goal <= 1.15x), the bytes a
segment ships (segment out, receipt back) and the scheduling cost of one Ray task, against a direct call. The
cluster requires Ray's token authentication, as docs/cluster.md tells users to run theirs (the cost measured is
that of a cluster run as it should be): a token for this run, set before Ray is imported.
"""

from __future__ import annotations

import os
import secrets
import statistics
import time
from collections.abc import Iterator

import pytest
from _support import rounds_for, sha_chain

from pipeline import zk

os.environ["RAY_AUTH_MODE"] = "token"
os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
ray = pytest.importorskip("ray", reason="the cluster extra (ray) is not installed")
from ray.cluster_utils import Cluster  # noqa: E402

PO2 = 16
SEGMENTS = 2 if os.environ.get("LOOM_BENCH_QUICK") else 4


@pytest.fixture(scope="module")
def address() -> Iterator[str]:
    # Ray runs its workers niced (15) by default: on a machine shared with anything else, the cluster side would
    # lose the comparison to the scheduler, not to Ray.
    os.environ["RAY_worker_niceness"] = "0"
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 0, "include_dashboard": False})
    for _ in range(2):
        nodes.add_node(num_cpus=1, memory=6 * 2**30)
    nodes.wait_for_nodes()
    try:
        yield str(nodes.address)
    finally:
        ray.shutdown()
        nodes.shutdown()


@pytest.mark.parametrize("kind", ["composite", "succinct"])
def test_prove_local_vs_cluster(benchmark, address: str, kind: str) -> None:
    guest = zk.load_guest("sha-chain")
    document = sha_chain(rounds_for(SEGMENTS, PO2))
    t0 = time.monotonic()
    local = zk.prove(guest.elf, document, kind=kind, segment_limit_po2=PO2)
    local_s = time.monotonic() - t0
    remote = benchmark.pedantic(
        zk.prove,
        args=(guest.elf, document),
        kwargs={"kind": kind, "segment_limit_po2": PO2, "cluster": address},
        rounds=1,
        iterations=1,
    )
    cluster_s = benchmark.stats.stats.mean
    assert remote.execution.segments == local.execution.segments == SEGMENTS
    assert zk.verify(remote.receipt, guest.image_id) == zk.verify(local.receipt, guest.image_id)
    _, segments = zk.execute_segments(guest.elf, zk.encode_input(document), segment_limit_po2=PO2)
    sent = statistics.mean(len(s) for s in segments)
    back = (len(remote.receipt.to_bytes()) / SEGMENTS) if kind == "composite" else None
    benchmark.extra_info.update(
        {
            "segments": SEGMENTS,
            "po2": PO2,
            "local_s": local_s,
            "cluster_s": cluster_s,
            "ratio_cluster_over_local": cluster_s / local_s,
            "segment_bytes_sent": sent,
            "receipt_bytes_back_per_segment": back,
        }
    )
    print(
        f"\n{kind}, {SEGMENTS} segments of 2^{PO2}: local {local_s:.1f}s, 2-node cluster {cluster_s:.1f}s "
        f"= {cluster_s / local_s:.3f}x; {sent:,.0f} B out per segment" + (f", {back:,.0f} B back" if back else "")
    )


def test_task_overhead(benchmark, address: str) -> None:
    """One Ray task round trip (a 64 KiB argument, about a 2^16 segment) against calling the function here."""
    zk.connect_cluster(address)

    def noop(data: bytes) -> int:  # defined here, so Ray ships it by value (this file is not importable on nodes)
        return len(data)

    task = ray.remote(noop).options(num_cpus=1)
    data = os.urandom(64 * 1024)
    ray.get(task.remote(data))  # a warm worker
    t0 = time.perf_counter()
    for _ in range(200):
        noop(data)
    direct = (time.perf_counter() - t0) / 200
    benchmark.pedantic(lambda: ray.get(task.remote(data)), rounds=50, iterations=1)
    per_task = benchmark.stats.stats.median
    benchmark.extra_info.update({"task_round_trip_s": per_task, "direct_call_s": direct})
    print(f"\nRay task round trip {per_task * 1000:.2f} ms (direct call {direct * 1e6:.1f} us)")
