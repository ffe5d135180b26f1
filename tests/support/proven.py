"""The session's proven runs, made with `loom run --bundle` as a user would, their data dirs kept under
$LOOM_CACHE/test-homes so a later session is served the proofs by Loom's step cache:

- the proven wasm run: one step, an AssemblyScript activity (``WRAP``, registered as ``wrap@1.0.0``) proven in the
  wasm-exec guest; its bundle is what the tests verify and alter, its receipt what risc0's own verifier checks;
- the proven claims: two json-claim steps, the second proving a claim about the first's journal, small enough
  (two 2^17 segments each) that chaining them into one succinct receipt (`loom runs bundle --chain`) fits in CI.
  A chain over the wasm step is proven in benches/bench_zk.py (its recursion alone is ~20 minutes here)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tests.support import keep_home, loom, reuse_home
from tests.support.assemblyscript import WRAP, compile_assemblyscript

PROVEN_WASM = {
    "name": "proven-wrap",
    "steps": {
        "wrap": {
            "activity": "wrap@1.0.0",
            "input": {"words": "${input.words}"},
            "prove": {"kind": "composite", "segment_po2": 18},
        },
    },
    "output": {
        "wrapped": "${steps.wrap.output.journal.output.wrapped}",
        "length": "${steps.wrap.output.journal.output.length}",
        "module": "${steps.wrap.output.journal.module_sha256}",
        "label": "${input.label}",
    },
}
PROVEN_INPUT = {"words": ["zkVM", "ünï", "🦊"], "label": "wasm"}

PROVEN_CLAIMS = {
    "name": "proven-claims",
    "steps": {
        "price": {
            "activity": "json-claim",
            "input": {
                "document": "${input.quote}",
                "claim": {"path": "price.usd", "op": "gt", "value": "${input.floor}"},
            },
            "prove": {"kind": "composite", "segment_po2": 17},
        },
        "audit": {
            "activity": "json-claim",
            "input": {
                "document": {
                    "claimed": "${steps.price.output.journal}",
                    "note": "floor ${input.floor} for ${input.pair}",
                },
                "claim": {"path": "claimed.holds", "op": "eq", "value": True},
            },
            "prove": {"kind": "composite", "segment_po2": 17},
        },
    },
    "output": {
        "above_floor": "${steps.price.output.journal.holds}",
        "audited": "${steps.audit.output.journal.holds}",
        "quote": "${steps.price.output.journal.input_sha256}",
        "label": "${input.label}",
    },
}
CLAIMS_INPUT = {"quote": {"pair": "ETH/USD", "price": {"usd": 3125.5}}, "floor": 3000, "pair": "ETH/ü", "label": "ci"}

TIMEOUT = 1800
CHAIN_TIMEOUT = 3600
"""The chain's proof: both step receipts lifted, the chain guest proven and lifted, both steps resolved into it."""


class _Bundled:
    bundle: Path

    def edited(self, change: Any) -> bytes:
        """The bundle after ``change`` edited its JSON in place."""
        data = json.loads(self.bundle.read_bytes())
        change(data)
        return json.dumps(data).encode()


@dataclass(frozen=True)
class ProvenRun(_Bundled):
    name: str
    home: Path
    result: dict[str, Any]
    bundle: Path
    work: Path


@dataclass(frozen=True)
class ProvenWasm(ProvenRun):
    module: bytes


def _run(work: Path, spec: dict[str, Any], document: dict[str, Any]) -> ProvenRun:
    """`loom run SPEC --bundle` in the data dir ``work/home`` (a copy of the kept one), kept again when it proved."""
    name, home = str(spec["name"]), work / "home"
    bundle = work / f"{name}.bundle.json"
    (work / "spec.yaml").write_text(yaml.safe_dump(spec, allow_unicode=True))
    (work / "input.json").write_text(json.dumps(document, ensure_ascii=False))
    run = loom(
        "run", str(work / "spec.yaml"), "--input", f"@{work / 'input.json'}", "--bundle", str(bundle), "--json",
        env={"LOOM_HOME": str(home)}, timeout=TIMEOUT,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"the proven pipeline {name} did not run: {run.stderr[-3000:]}")
    result = json.loads(run.stdout)
    if result["executed"]:  # proven now: keep this data dir for the next session
        keep_home(name, home)
    return ProvenRun(name, home, result, bundle, work)


def run_proven_wasm(work: Path) -> ProvenWasm:
    reuse_home("proven-wrap", work / "home")
    module = compile_assemblyscript(WRAP)
    (work / "wrap.wasm").write_bytes(module)
    registered = loom(
        "activity", "register", str(work / "wrap.wasm"), "--name", "wrap", "--version", "1.0.0",
        "--runtime", "assemblyscript", "--json", env={"LOOM_HOME": str(work / "home")},
    )  # fmt: skip
    if registered.returncode != 0:
        raise RuntimeError(f"wrap did not register: {registered.stderr}")
    run = _run(work, PROVEN_WASM, PROVEN_INPUT)
    return ProvenWasm(run.name, run.home, run.result, run.bundle, run.work, module)


def run_proven_claims(work: Path) -> ProvenRun:
    reuse_home("proven-claims", work / "home")
    return _run(work, PROVEN_CLAIMS, CLAIMS_INPUT)


@dataclass(frozen=True)
class ProvenChain(_Bundled):
    run: ProvenRun
    bundle: Path
    report: str


def prove_chain(run: ProvenRun) -> ProvenChain:
    """`loom runs bundle RUN --chain` of a proven run: its step receipts chained into one succinct receipt (kept in
    the run's data dir, which is kept again when it was proven now)."""
    bundle = run.work / "chain.bundle.json"
    made = loom(
        "runs", "bundle", run.result["run_id"], "--chain", "--out", str(bundle),
        env={"LOOM_HOME": str(run.home)}, timeout=CHAIN_TIMEOUT,
    )  # fmt: skip
    if made.returncode != 0 or "warning" in made.stderr:
        raise RuntimeError(f"the proven run's chain was not made: {made.stderr[-3000:]}")
    report = " ".join(made.stdout.split())  # the line as said, whatever width the console wrapped it at
    if "from cache" not in report:
        keep_home(run.name, run.home)
    return ProvenChain(run, bundle, report)
