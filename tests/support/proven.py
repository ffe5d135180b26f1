"""The session's proven wasm run: a pipeline whose first step is an AssemblyScript activity (``WRAP``, registered as
``wrap@1.0.0``) proven in the wasm-exec guest and whose second proves a claim about its output (json-claim), run with
`loom run --bundle` as a user would; then the same run's steps proven as one chain (`loom runs bundle --chain`). Its
bundles are what the tests verify and alter; its receipts are what risc0's own verifier checks."""

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
        "claim": {
            "activity": "json-claim",
            "input": {
                "document": "${steps.wrap.output.journal.output}",
                "claim": {"path": "wrapped.words.${input.which}", "op": "eq", "value": "${input.expect}"},
            },
            "prove": {"kind": "composite", "segment_po2": 17},
        },
    },
    "output": {
        "wrapped": "${steps.wrap.output.journal.output.wrapped}",
        "length": "${steps.wrap.output.journal.output.length}",
        "module": "${steps.wrap.output.journal.module_sha256}",
        "holds": "${steps.claim.output.journal.holds}",
        "label": "${input.label}",
    },
}
PROVEN_INPUT = {"words": ["zkVM", "ünï", "🦊"], "label": "wasm", "which": 2, "expect": "🦊"}
TIMEOUT = 1800
CHAIN_TIMEOUT = 3600
"""The chain's proof: every step receipt lifted and joined into a succinct one, the chain guest proven, lifted, and
both steps resolved into it: ~30 minutes here (2 cores), on top of the run's proofs."""


class _Bundled:
    bundle: Path

    def edited(self, change: Any) -> bytes:
        """The bundle after ``change`` edited its JSON in place."""
        data = json.loads(self.bundle.read_bytes())
        change(data)
        return json.dumps(data).encode()


@dataclass(frozen=True)
class ProvenWasm(_Bundled):
    home: Path
    module: bytes
    result: dict[str, Any]
    bundle: Path
    work: Path


def run_proven_wasm(work: Path) -> ProvenWasm:
    home, bundle = work / "home", work / "proven-wrap.bundle.json"
    reuse_home("proven-wrap", home)
    env = {"LOOM_HOME": str(home)}
    module = compile_assemblyscript(WRAP)
    (work / "wrap.wasm").write_bytes(module)
    registered = loom(
        "activity", "register", str(work / "wrap.wasm"), "--name", "wrap", "--version", "1.0.0",
        "--runtime", "assemblyscript", "--json", env=env,
    )  # fmt: skip
    if registered.returncode != 0:
        raise RuntimeError(f"wrap did not register: {registered.stderr}")
    (work / "spec.yaml").write_text(yaml.safe_dump(PROVEN_WASM, allow_unicode=True))
    (work / "input.json").write_text(json.dumps(PROVEN_INPUT, ensure_ascii=False))
    run = loom(
        "run", str(work / "spec.yaml"), "--input", f"@{work / 'input.json'}", "--bundle", str(bundle), "--json",
        env=env, timeout=TIMEOUT,
    )  # fmt: skip
    if run.returncode != 0:
        raise RuntimeError(f"the proven wasm pipeline did not run: {run.stderr[-3000:]}")
    result = json.loads(run.stdout)
    if result["executed"]:  # proven now: keep this data dir for the next session
        keep_home("proven-wrap", home)
    return ProvenWasm(home, module, result, bundle, work)


@dataclass(frozen=True)
class ProvenChain(_Bundled):
    run: ProvenWasm
    bundle: Path
    report: str


def prove_chain(run: ProvenWasm) -> ProvenChain:
    """`loom runs bundle RUN --chain` of the proven run: its two step receipts chained into one succinct receipt
    (kept in the run's data dir, which is kept again when it was proven now)."""
    bundle = run.work / "proven-wrap.chain.json"
    made = loom(
        "runs", "bundle", run.result["run_id"], "--chain", "--out", str(bundle),
        env={"LOOM_HOME": str(run.home)}, timeout=CHAIN_TIMEOUT,
    )  # fmt: skip
    if made.returncode != 0 or "warning" in made.stderr:
        raise RuntimeError(f"the proven run's chain was not made: {made.stderr[-3000:]}")
    report = " ".join(made.stdout.split())  # the line as said, whatever width the console wrapped it at
    if "from cache" not in report:
        keep_home("proven-wrap", run.home)
    return ProvenChain(run, bundle, report)
