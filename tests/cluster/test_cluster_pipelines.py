"""Pipelines on a real multi-node Ray cluster: the steps run as Ray tasks, the journal and the blob store stay here,
so the output equals a local run's and a second run is served from the cache; a prove step fans its segments out
over the cluster."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import errors, zk
from pipeline.core import ProveOptions
from pipeline.flow import Event, PipelineSpec, Runner, StepEvent, load_pipeline
from tests.support import REPO, claim_input
from tests.support.receipts import risc0_verifies


@pytest.fixture
def notarized_claim(fixtures: Path) -> tuple[PipelineSpec, dict[str, object]]:
    """The flagship as it was (a presentation verified on the host, a claim about its body proven), its proof in
    segments of 2^17 cycles (two segments, so two tasks)."""
    spec = load_pipeline(REPO / "tests" / "pipelines" / "notarized-json-claim.yaml")
    prove = spec.steps["prove"].model_copy(update={"prove": ProveOptions(segment_po2=17)})
    spec = spec.model_copy(update={"steps": {**spec.steps, "prove": prove}})
    return spec, claim_input()


def output_but_the_receipt(spec: PipelineSpec, document: dict[str, object]) -> dict[str, object]:
    """What a local run of the pipeline outputs, its receipt aside, found here without a second proof: the steps
    before the proof run locally, and the claim guest is executed on the input its prove step gets (a proof
    commits exactly the journal the execution gives)."""
    before = spec.model_copy(
        update={
            "steps": {name: step for name, step in spec.steps.items() if name != "prove"},
            "output": {
                "verified": "${steps.verify.output}",
                "body": "${steps.parse.output.body}",
                "value": "${steps.pick.output}",
            },
        }
    )
    run = Runner().run(before, document)
    assert run.status == "succeeded", run.error
    verified, guest = run.output["verified"], zk.load_guest("json-claim")
    claim = {key: document[key] for key in ("path", "op", "value")}
    journal = zk.decode_journal(zk.execute(guest.elf, {"document": run.output["body"], "claim": claim}).journal)
    return {
        "claim": journal["claim"],
        "holds": journal["holds"],
        "value": run.output["value"],
        "document_sha256": journal["document_sha256"],
        "image_id": guest.image_id,
        "notary_key": verified["notary"]["key"],
        "server": verified["server"]["name"],
        "session_time": verified["time"],
    }


@pytest.mark.slow
def test_a_notarized_claim_pipeline_on_the_cluster_equals_the_local_run(address, notarized_claim, tmp_path) -> None:
    spec, document = notarized_claim
    on_cluster = Runner(cluster=address)
    heard: list[tuple[str, str, dict[str, object]]] = []
    first = on_cluster.run(spec, document, no_cache=True, events=lambda *event: heard.append(event))
    assert first.status == "succeeded", first.error
    assert first.executed == 4
    # the prove step's segments, proven by tasks of the step's own task, reported back to this driver as they went,
    # all of it before the step's end
    prove = [(event, details) for step, event, details in heard if step == "prove"]
    assert (Event.PROGRESS, {"phase": "segment", "done": 2, "total": 2}) in prove
    assert prove[-1] == (Event.SUCCEEDED, {"attempt": 1})
    assert {k: v for k, v in first.output.items() if k != "receipt"} == output_but_the_receipt(spec, document)
    assert first.output["holds"] is True and first.output["value"] == {"bazz": 123}
    # the receipt proves a claim about *some* document with that digest: what the host read is labelled host
    assert {".".join(map(str, p.path)): p.source.value for p in first.provenance} == {
        "claim": "proven",
        "holds": "proven",
        "document_sha256": "proven",
        "value": "host",
        "receipt": "host",
        "image_id": "host",
        "notary_key": "host",
        "server": "host",
        "session_time": "host",
    }
    receipt = zk.load_receipt(first.output["receipt"], on_cluster.blobs)  # the driver's store holds it
    assert json.loads(zk.verify(receipt, first.output["image_id"]))["holds"] is True
    assert receipt.kind == "composite"
    assert risc0_verifies(receipt, first.output["image_id"], tmp_path) == receipt.journal
    again = on_cluster.run(spec, document)
    assert (again.executed, again.cached) == (0, 4)
    assert again.output == first.output


def test_a_step_granted_secrets_does_not_leave_the_driver(address, built: Path, monkeypatch) -> None:
    from pipeline.activities import register_module
    from pipeline.core import Capabilities

    register_module(
        (built / "wasm" / "echo.wasm").read_bytes(),
        name="echo-secret",
        version="1.0.0",
        runtime="wasm",
        capabilities=Capabilities(secrets=("api_key",)),
    )
    spec = PipelineSpec.model_validate({"name": "s", "steps": {"e": {"activity": "echo-secret", "input": {}}}})
    monkeypatch.setenv("LOOM_SECRET_api_key", "hunter2")
    result = Runner(cluster=address).run(spec, {})
    assert result.status == "failed"
    assert "do not leave the driver's machine" in (result.error or "")


def test_an_unreachable_cluster_fails_at_once() -> None:
    with pytest.raises(errors.ClusterUnavailable, match="no cluster address"):
        Runner(cluster=" ")


@pytest.mark.parametrize(
    ("address", "reason"),
    [("127.0.0.1:1", "cannot reach the Ray cluster at '127.0.0.1:1': Connection refused"), ("nonsense", "not a Ray")],
)
def test_the_cli_refuses_an_unreachable_cluster_in_seconds(address: str, reason: str) -> None:
    """In a process of its own (not yet connected, unlike this one): one line, exit 5, no minutes-long wait."""
    loom = Path(sys.executable).parent / "loom"
    for args in (("zk", "prove", "hello", "-i", '{"words": [1]}'), ("run", str(REPO / "examples" / "http-claim.yaml"))):
        refused = subprocess.run(
            [str(loom), *args, "--cluster", address], capture_output=True, text=True, timeout=60, env=os.environ
        )
        assert refused.returncode == 5, refused.stderr
        assert reason in refused.stderr, refused.stderr
        assert len([line for line in refused.stderr.splitlines() if line.strip()]) <= 2, refused.stderr


def test_progress_whose_queue_is_lost_is_dropped_not_raised(address: str) -> None:
    """A prove step's node reports progress into the run's queue; if that queue is gone (its node left the cluster),
    the step goes on: the report is dropped, and so are the ones after it."""
    from ray.util.queue import Queue

    from pipeline.flow._cluster_pool import _Reporter

    queue = Queue(actor_options={"num_cpus": 0})
    reporter = _Reporter(queue)
    reporter.put(StepEvent("prove", Event.PROGRESS, {"phase": "segment", "done": 1, "total": 2}))
    assert queue.get(timeout=10).details["done"] == 1
    queue.shutdown()
    reporter.put(StepEvent("prove", Event.PROGRESS, {"phase": "segment", "done": 2, "total": 2}))
    assert reporter.queue is None
