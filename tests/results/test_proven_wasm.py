"""An AssemblyScript activity proven in the zkVM (the wasm-exec guest) as a pipeline step: its receipt verifies (here
and in risc0's own verifier), its journal names the registered module and gives the output wasmtime gives, and its
bundle verifies alone, and is refused whenever its receipt, the module it names or a proven value is altered."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline import results, zk
from pipeline.core import pinned_image_ids
from pipeline.flow import Source
from pipeline.sandbox import WasmExecutor
from pipeline.store import default_blobstore, default_registry
from tests.support import loom, one_error_line
from tests.support.mixed import MixedRun, receipt_bytes
from tests.support.proven import PROVEN_INPUT, ProvenWasm
from tests.support.receipts import risc0_verifies

pytestmark = pytest.mark.slow  # a real proof


def entry(bundle: dict[str, Any]) -> dict[str, Any]:
    return next(r for r in bundle["receipts"] if r["step"] == "wrap")


def test_the_proven_step_labels_its_output_proven(proven_wasm: ProvenWasm) -> None:
    sources = {p["path"][0]: (p["source"], p.get("journal_path")) for p in proven_wasm.result["provenance"]}
    assert sources == {
        "wrapped": (Source.proven, "output.wrapped"),
        "length": (Source.proven, "output.length"),
        "module": (Source.proven, "module_sha256"),
        "label": (Source.host, None),
    }
    output = proven_wasm.result["output"]
    assert output["wrapped"] == {"words": PROVEN_INPUT["words"]}
    assert output["module"] == hashlib.sha256(proven_wasm.module).hexdigest()


def test_its_receipt_names_the_registered_module_and_gives_the_wasmtime_output(
    proven_wasm: ProvenWasm, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = json.loads(proven_wasm.bundle.read_bytes())
    receipt = zk.Receipt.from_bytes(base64.b64decode(entry(bundle)["receipt"]))
    assert receipt.kind == "composite" and not receipt.is_dev_mode
    image_id = pinned_image_ids()[zk.WASM_GUEST]
    journal = risc0_verifies(receipt, image_id, tmp_path)  # risc0's own Rust verifier
    assert journal == receipt.verify(image_id)
    run = zk.WasmRun.model_validate_json(journal)
    monkeypatch.setenv("LOOM_HOME", str(proven_wasm.home))
    defn = default_registry().resolve("wrap@1.0.0")
    assert run.module_sha256 == defn.blob == entry(bundle)["module_sha256"]
    assert run.abi == zk.WasmAbi.assemblyscript and run.secrets == []
    assert run.output == WasmExecutor(default_blobstore()).run(defn, {"words": PROVEN_INPUT["words"]})


def test_its_bundle_verifies_with_nothing_but_itself(proven_wasm: ProvenWasm, tmp_path: Path) -> None:
    checked = loom(
        "verify", str(proven_wasm.bundle), "--require-proven", "wrapped", "--require-proven", "module", "--json",
        env={"LOOM_HOME": str(tmp_path / "empty")},
    )  # fmt: skip
    assert checked.returncode == 0, checked.stderr
    report = json.loads(checked.stdout)
    (receipt,) = report["receipts"]
    assert (receipt["guest"], receipt["activity"], receipt["trusted"], receipt["verified"]) == (
        zk.WASM_GUEST,
        "wrap@1.0.0",
        True,
        True,
    )
    assert receipt["module_sha256"] == hashlib.sha256(proven_wasm.module).hexdigest()


def _other_module(bundle: dict[str, Any]) -> None:
    entry(bundle)["module_sha256"] = "ab" * 32


def _other_activity_label(bundle: dict[str, Any]) -> None:
    del entry(bundle)["module_sha256"]


def _other_value(bundle: dict[str, Any]) -> None:
    bundle["output"]["length"] += 1


def _other_guest(bundle: dict[str, Any]) -> None:
    entry(bundle)["guest"] = "hello"


def _other_activity(bundle: dict[str, Any]) -> None:
    """The spec names another wasm activity (its digest made to match): the receipt proves wrap's module ran."""
    bundle["pipeline"]["spec"]["steps"]["wrap"]["activity"] = "json-pick@0.1.0"
    bundle["pipeline"]["spec_sha256"] = results.spec_digest(bundle["pipeline"]["spec"])


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (_other_module, "proves module"),
        (_other_activity_label, "proves module"),
        (_other_value, "proves"),
        (_other_guest, "is this Loom's wasm-exec, not hello"),
        (_other_activity, "the spec runs json-pick@0.1.0, but the receipt proves wrap@1.0.0 (in wasm-exec) ran"),
    ],
    ids=["module", "no-module", "value", "guest", "activity"],
)
def test_an_altered_bundle_is_refused(proven_wasm: ProvenWasm, change: Any, says: str) -> None:
    report = results.verify_bundle(proven_wasm.edited(change))
    assert not report.ok and any(says in problem for problem in report.problems), report.problems


def test_a_receipt_of_another_guest_is_refused_in_its_place(
    proven_wasm: ProvenWasm, mixed: MixedRun, tmp_path: Path
) -> None:
    """hello's real receipt, labelled as the wasm step's: it does not verify for wasm-exec's image ID."""
    raw = receipt_bytes(mixed.bundle)

    def swap(bundle: dict[str, Any]) -> None:
        entry(bundle).update(receipt=base64.b64encode(raw).decode(), sha256=hashlib.sha256(raw).hexdigest())

    (tmp_path / "swapped.json").write_bytes(proven_wasm.edited(swap))
    refused = loom("verify", str(tmp_path / "swapped.json"), env={"LOOM_HOME": str(tmp_path / "empty")})
    assert refused.returncode == 1 and "receipt of step wrap" in one_error_line(refused)
