"""The session's proven claims (two json-claim steps, the second proving a claim about the first's journal) chained
into one succinct receipt: its bundle verifies alone, risc0's own verifier accepts the receipt, its journal binds the
spec, the input and both steps' image IDs, and it is refused when the spec, the input, a value or the receipt is
altered, or when a step's journal does not match what the chain is asked to prove. (A chain over a wasm step, whose
journal names a module, is proven in benches/bench_zk.py: its recursion alone takes ~20 minutes here.)"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import errors, results, zk
from pipeline.core import canonical, pinned_image_ids
from pipeline.flow import Runner
from tests.support import loom, one_error_line
from tests.support.proven import CLAIMS_INPUT, ProvenChain
from tests.support.receipts import risc0_verifies

pytestmark = pytest.mark.slow  # real proofs


def test_the_chain_bundle_verifies_with_nothing_but_itself(proven_chain: ProvenChain, tmp_path: Path) -> None:
    bundle = json.loads(proven_chain.bundle.read_bytes())
    assert bundle["version"] == 2 and bundle["receipts"] == [] and bundle["chain"]["kind"] == "succinct"
    assert "one chain receipt (2 steps)" in proven_chain.report
    checked = loom(
        "verify", str(proven_chain.bundle), "--json",
        *("--require-proven", "above_floor", "--require-proven", "audited", "--require-proven", "quote"),
        env={"LOOM_HOME": str(tmp_path / "empty")},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    assert report["chain"]["steps"] == ["price", "audit"] and report["chain"]["verified"]
    by_step = {r["step"]: r for r in report["receipts"]}
    assert {r["guest"] for r in by_step.values()} == {"json-claim"}
    assert all(r["chained"] and r["trusted"] for r in by_step.values())
    shown = loom("verify", str(proven_chain.bundle), env={"LOOM_HOME": str(tmp_path / "empty")})
    assert shown.returncode == 0 and "chain receipt" in shown.stdout


def test_its_receipt_stands_alone_and_binds_spec_input_and_steps(proven_chain: ProvenChain, tmp_path: Path) -> None:
    bundle = json.loads(proven_chain.bundle.read_bytes())
    receipt = zk.Receipt.from_bytes(base64.b64decode(bundle["chain"]["receipt"]))
    assert receipt.kind == "succinct" and not receipt.is_dev_mode
    lock = pinned_image_ids()
    journal = json.loads(risc0_verifies(receipt, lock["chain"], tmp_path))  # risc0's own Rust verifier
    assert journal["spec_sha256"] == bundle["pipeline"]["spec_sha256"]
    assert journal["input_sha256"] == hashlib.sha256(canonical(CLAIMS_INPUT)).hexdigest() == bundle["input_sha256"]
    price, audit = journal["steps"]
    assert (price["name"], price["image_id"], price["module_sha256"]) == ("price", lock["json-claim"], None)
    assert (audit["name"], audit["image_id"], audit["module_sha256"]) == ("audit", lock["json-claim"], None)
    outputs = journal["outputs"]
    assert outputs["price"]["holds"] is True and outputs["price"]["claim"]["value"] == CLAIMS_INPUT["floor"]
    assert outputs["audit"]["holds"] is True
    assert bundle["output"]["quote"] == outputs["price"]["input_sha256"]


def _spec(bundle: dict[str, Any]) -> None:
    """The claim changed, and the spec's digest made to match: only the chain's journal can tell."""
    bundle["pipeline"]["spec"]["steps"]["price"]["input"]["claim"]["op"] = "lt"
    bundle["pipeline"]["spec_sha256"] = hashlib.sha256(canonical(bundle["pipeline"]["spec"])).hexdigest()


def _input(bundle: dict[str, Any]) -> None:
    bundle["input_sha256"] = hashlib.sha256(canonical(dict(CLAIMS_INPUT, floor=4000))).hexdigest()


def _value(bundle: dict[str, Any]) -> None:
    bundle["output"]["audited"] = False


def _bytes(bundle: dict[str, Any]) -> None:
    bundle["chain"]["sha256"] = "00" * 32


def _image(bundle: dict[str, Any]) -> None:
    bundle["chain"]["image_id"] = pinned_image_ids()["compose"]


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_spec, "proves another pipeline spec"),
        (_input, "another input"),
        (_value, "proves"),
        (_bytes, "altered"),
        (_image, "the chain receipt"),
    ],
    ids=["spec", "input", "value", "bytes", "image"],
)
def test_an_altered_chain_bundle_is_refused(proven_chain: ProvenChain, change: Any, says: str) -> None:
    report = results.verify_bundle(proven_chain.edited(change))
    assert not report.ok and any(says in problem for problem in report.problems), report.problems


def test_a_step_receipt_in_its_place_is_refused(proven_chain: ProvenChain, tmp_path: Path) -> None:
    """A step's own (real) receipt as the chain's: it is no receipt of the chain guest."""
    step = json.loads(proven_chain.run.bundle.read_bytes())["receipts"][0]

    def swap(bundle: dict[str, Any]) -> None:
        bundle["chain"].update(receipt=step["receipt"], sha256=step["sha256"], kind=step["kind"])

    (tmp_path / "swapped.json").write_bytes(proven_chain.edited(swap))
    refused = loom("verify", str(tmp_path / "swapped.json"), env={"LOOM_HOME": str(tmp_path / "empty")})
    assert refused.returncode == 1 and "the chain receipt" in one_error_line(refused)


def test_a_chain_over_an_altered_step_journal_is_refused_before_proving(
    proven_chain: ProvenChain, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The real step receipts as assumptions, a journal altered in what the chain is asked to prove: the guest's
    env::verify finds no receipt of it."""
    monkeypatch.setenv("LOOM_HOME", str(proven_chain.run.home))
    chain = results.chain_call(Runner(), proven_chain.run.result["run_id"])
    request = json.loads(chain.stdin)
    request["steps"][0]["journal"] = request["steps"][0]["journal"].replace('"holds":true', '"holds":false')
    altered = results.ChainCall(
        chain.run_id, chain.steps, json.dumps(request, ensure_ascii=False).encode(), chain.assumptions, chain.guest
    )
    with pytest.raises(errors.NotChainable, match="step price: no receipt of"):
        results.execute_chain(altered)
    assert results.execute_chain(chain)["outputs"]["audit"]["holds"] is True
