"""Proofs on a real multi-node Ray cluster (raylets started here): the same receipts a local proof gives, checked
by Loom and by risc0's own Rust verifier; a node killed mid-proof costs only its tasks; a segment no node can hold
is refused before anything runs. The succinct proof here is the suite's test of proving in parts
(`pipeline.zk`'s recursion: segment, lift and join tasks, a join tree of depth two)."""

from __future__ import annotations

import json
import subprocess
import threading
import time

import pytest

from pipeline import errors, zk
from pipeline.core import risc0_host_binary
from tests.support import HELLO_INPUT

PO2 = 16  # hello's input executes into three segments of 2^16 cycles
HELLO_JOURNAL = {"count": 2, "sum": 42}


def risc0_verifies(receipt: zk.Receipt, image_id: str, tmp_path) -> bytes:
    path = tmp_path / "cluster.receipt"
    path.write_bytes(receipt.to_bytes())
    ok = subprocess.run([str(risc0_host_binary()), "verify", str(path), image_id], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    return bytes.fromhex(ok.stdout.strip())


def prove_losing_a_node(cluster, address: str) -> zk.Proof:
    """hello's three segments, composite, on the fixture's two nodes and a third that is killed while every node
    is proving (no CPU left): Ray runs its task again on another node, and the proof completes."""
    import ray

    hello = zk.load_guest("hello")
    doomed = cluster.add_node(num_cpus=1, memory=6 * 2**30)
    cluster.wait_for_nodes()
    outcome: dict[str, object] = {}

    def prove() -> None:
        try:
            outcome["proof"] = zk.prove(hello.elf, HELLO_INPUT, segment_limit_po2=PO2, cluster=address)
        except BaseException as exc:
            outcome["error"] = exc

    thread = threading.Thread(target=prove)
    thread.start()
    deadline = time.monotonic() + 120
    while ray.available_resources().get("CPU", 0) > 0 and time.monotonic() < deadline:
        time.sleep(0.2)  # until the three segments run on the three nodes
    assert ray.available_resources().get("CPU", 0) == 0, "the proof's tasks never occupied every node"
    time.sleep(2)
    cluster.remove_node(doomed, allow_graceful=False)
    thread.join(timeout=600)
    assert "error" not in outcome, outcome.get("error")
    proof = outcome["proof"]
    assert isinstance(proof, zk.Proof)
    return proof


@pytest.fixture(scope="module")
def proofs(cluster, address: str) -> dict[str, tuple[zk.Proof, list[tuple[str, int, int]]]]:
    """hello's three segments proven on the cluster as each kind, with the progress each reported; the
    composite one loses a node on the way."""
    hello = zk.load_guest("hello")
    made = {"composite": (prove_losing_a_node(cluster, address), [])}
    phases: list[tuple[str, int, int]] = []
    succinct = zk.prove(
        hello.elf,
        HELLO_INPUT,
        kind="succinct",
        segment_limit_po2=PO2,
        cluster=address,
        progress=lambda *event: phases.append(event),
    )
    made["succinct"] = (succinct, phases)
    return made


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["composite", "succinct"])
def test_a_three_segment_proof_on_the_cluster_verifies_here_and_with_risc0(proofs, kind, tmp_path) -> None:
    hello = zk.load_guest("hello")
    proof, phases = proofs[kind]
    assert proof.execution.segments == 3
    assert proof.receipt.kind == kind
    assert json.loads(zk.verify(proof.receipt.to_bytes(), hello.image_id)) == HELLO_JOURNAL
    assert risc0_verifies(proof.receipt, hello.image_id, tmp_path) == proof.receipt.journal
    if kind == "succinct":
        assert ("segment", 3, 3) in phases and phases[-1] == ("join", 2, 2)  # three segments: two joins
        composite = proofs["composite"][0].receipt
        assert 2 * proof.receipt.seal_size < composite.seal_size  # one seal, not three


@pytest.mark.slow
def test_a_node_killed_mid_proof_costs_only_its_tasks(proofs) -> None:
    """The composite proof above lost one of its three nodes while all three were proving; it verified."""
    proof, _ = proofs["composite"]
    assert json.loads(zk.verify(proof.receipt, zk.load_guest("hello").image_id)) == HELLO_JOURNAL


@pytest.mark.slow
def test_a_composing_guest_is_resolved_on_the_cluster(proofs, address, tmp_path) -> None:
    hello, compose = zk.load_guest("hello"), zk.load_guest("compose")
    inner = proofs["succinct"][0].receipt
    document = {"image_id": hello.image_id, "journal": inner.journal.decode()}
    phases: list[str] = []
    proof = zk.prove(
        compose.elf,
        document,
        kind="succinct",
        assumptions=[inner],
        cluster=address,
        progress=lambda phase, *_: phases.append(phase),
    )
    assert proof.receipt.kind == "succinct" and phases[-1] == "resolve"
    assert proof.receipt.seal_size == inner.seal_size  # one segment and a resolve, or three and two joins: one seal
    assert json.loads(zk.verify(proof.receipt, compose.image_id))["verified"]["image_id"] == hello.image_id
    assert risc0_verifies(proof.receipt, compose.image_id, tmp_path) == proof.receipt.journal


def test_a_segment_no_node_can_hold_is_refused_before_anything_runs(address) -> None:
    hello = zk.load_guest("hello")
    refusal = r"2\^20 cycles needs about 12\.7 GiB .* offers 6\.0 GiB: use a segment po2 of 18 or less"
    with pytest.raises(errors.InvalidInput, match=refusal):
        zk.prove(hello.elf, HELLO_INPUT, segment_limit_po2=20, cluster=address)


def test_dev_mode_is_not_sent_to_a_cluster(address) -> None:
    with pytest.raises(errors.InvalidInput, match="dev-mode"):
        zk.prove(zk.load_guest("hello").elf, HELLO_INPUT, dev_mode=True, cluster=address)
