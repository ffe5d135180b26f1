"""Proofs on a real multi-node Ray cluster (raylets started here): the same receipts a local proof gives, checked
by Loom and by risc0's own Rust verifier; a node killed mid-proof costs only its tasks; a segment no node can hold
is refused before anything runs. The succinct proof here is the suite's test of proving in parts
(`pipeline.zk`'s recursion: segment and lift tasks, a join tree of depth two); a composite receipt made on the
cluster is checked by tests/cluster/test_cluster_pipelines.py. A composing guest's assumption resolved by a task is
the one part of a cluster proof not proven here (tests/zk/test_succinct.py resolves one locally with the same
recursion functions): its ~5 minutes of proof (the compose guest's 2^18-cycle segment, a lift, a resolve, on
one-CPU nodes) did not fit CI's time."""

from __future__ import annotations

import json
import threading
import time

import pytest

from pipeline import errors, zk
from tests.support import HELLO_INPUT
from tests.support.receipts import risc0_verifies

PO2 = 16  # hello's input executes into three segments of 2^16 cycles
HELLO_JOURNAL = {"count": 2, "sum": 42}


@pytest.fixture(scope="module")
def lost_a_node(cluster, address: str) -> tuple[zk.Proof, list[tuple[str, int, int]]]:
    """hello's three segments proven succinct on the fixture's two nodes and a third that is killed while every
    node is proving a segment (no CPU left): Ray runs its task again on another node, and the lifts and joins go on
    on the two that are left. Returns the proof and the progress it reported."""
    import ray

    hello = zk.load_guest("hello")
    doomed = cluster.add_node(num_cpus=1, memory=6 * 2**30)
    cluster.wait_for_nodes()
    outcome: dict[str, object] = {}
    phases: list[tuple[str, int, int]] = []

    def prove() -> None:
        try:
            outcome["proof"] = zk.prove(
                hello.elf,
                HELLO_INPUT,
                kind="succinct",
                segment_limit_po2=PO2,
                cluster=address,
                progress=lambda *event: phases.append(event),
            )
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=prove)
    thread.start()
    try:
        deadline = time.monotonic() + 300  # Ray's workers are niced: on a busy machine they start late
        while ray.available_resources().get("CPU", 0) > 0 and time.monotonic() < deadline:
            time.sleep(0.2)  # until the three segments run on the three nodes
        assert ray.available_resources().get("CPU", 0) == 0, "the proof's tasks never occupied every node"
        time.sleep(2)
    finally:
        # Whatever happened, the node goes and the proof ends here: a proving thread left behind would call into
        # Ray after the cluster fixture shut it down, start a Ray of its own, and take the whole session with it.
        cluster.remove_node(doomed, allow_graceful=False)
        thread.join(timeout=1200)
    assert not thread.is_alive(), "the proof did not end after its node was lost"
    assert "error" not in outcome, outcome.get("error")
    proof = outcome["proof"]
    assert isinstance(proof, zk.Proof)
    return proof, phases


@pytest.mark.slow
def test_a_three_segment_proof_in_parts_verifies_here_and_with_risc0(lost_a_node, tmp_path) -> None:
    hello = zk.load_guest("hello")
    proof, phases = lost_a_node
    assert proof.execution.segments == 3
    assert proof.receipt.kind == "succinct"
    assert json.loads(zk.verify(proof.receipt.to_bytes(), hello.image_id)) == HELLO_JOURNAL
    assert risc0_verifies(proof.receipt, hello.image_id, tmp_path) == proof.receipt.journal
    assert ("segment", 3, 3) in phases and phases[-1] == ("join", 2, 2)  # each segment task lifts; two joins


@pytest.mark.slow
def test_a_node_killed_mid_proof_costs_only_its_tasks(lost_a_node) -> None:
    """The proof above lost one of its three nodes while all three were proving segments; it still completed, and
    every segment is reported proven once (the lost task ran again; nothing was counted twice)."""
    proof, phases = lost_a_node
    segments = [done for phase, done, _ in phases if phase == "segment" and done]
    assert sorted(segments) == [1, 2, 3]
    assert json.loads(zk.verify(proof.receipt, zk.load_guest("hello").image_id)) == HELLO_JOURNAL


def test_a_segment_no_node_can_hold_is_refused_before_anything_runs(address) -> None:
    hello = zk.load_guest("hello")
    refusal = r"2\^20 cycles needs about 12\.7 GiB .* offers 6\.0 GiB: use a segment po2 of 18 or less"
    with pytest.raises(errors.InvalidInput, match=refusal):
        zk.prove(hello.elf, HELLO_INPUT, segment_limit_po2=20, cluster=address)


def test_dev_mode_is_not_sent_to_a_cluster(address) -> None:
    with pytest.raises(errors.InvalidInput, match="dev-mode"):
        zk.prove(zk.load_guest("hello").elf, HELLO_INPUT, dev_mode=True, cluster=address)
