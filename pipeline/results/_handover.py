"""What a finished run hands over: a bundle (``pipeline.results._bundle``) made from its journal, with the receipt
of every step that backs a ``proven`` value, so that the recipient needs nothing of this machine's data dir."""

from __future__ import annotations

import json

from pipeline import __version__, errors, zk
from pipeline.flow import PipelineSpec, Runner, Source
from pipeline.results import _bundle as bundle
from pipeline.results._chain import Chained
from pipeline.store import RunStatus


def bundle_of(runner: Runner, run_id: str, chain: Chained | None = None) -> bundle.Bundle:
    """The bundle of a succeeded run. Each receipt is checked against the image ID of the step's own guest before it
    goes in, so a bundle never carries a receipt this machine would refuse. With a ``chain`` (``prove_chain``), that
    one receipt stands for the steps it chains."""
    outcome = runner.outcome(run_id)
    run = runner.journal.run(run_id)
    if run is None or outcome.status != RunStatus.SUCCEEDED:
        raise errors.InvalidInput(f"run {run_id} has not succeeded ({outcome.status}): it has no result to bundle")
    spec = PipelineSpec.model_validate_json(run.spec)
    receipts = []
    chained = set() if chain is None else {str(s["name"]) for s in chain.journal["steps"]}
    for step in sorted({p.step for p in outcome.provenance if p.source is Source.proven and p.step} - chained):
        made = outcome.receipts[step]
        defn = runner.registry.resolve(spec.steps[step].activity)
        data = runner.blobs.get(made.receipt)
        if made.module_sha256 is None:  # a risc0 step: its activity is the guest
            image_id = zk.image_id(runner.blobs.get(defn.blob))
            zk.verify(data, image_id)
            receipts.append(bundle.Made(step, defn.name, defn.version, image_id, made.kind, data))
        else:  # a proven wasm step: the wasm-exec guest ran the activity's module
            guest = zk.load_guest(zk.WASM_GUEST)
            zk.verify(data, guest.image_id)
            receipts.append(
                bundle.Made(
                    step, guest.name, __version__, guest.image_id, made.kind, data, defn.ref, made.module_sha256
                )
            )
    return bundle.make_bundle(
        run_id=run_id,
        spec=json.loads(run.spec),
        input_sha256=run.input_blob,
        output=outcome.output,
        provenance=outcome.provenance,
        receipts=receipts,
        chain=chain,
    )
