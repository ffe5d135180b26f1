"""One receipt for a run's proven steps: the ``chain`` guest verifies each step's receipt (``env::verify``) and that
each step read exactly what the spec's template gives for the run's input and the journals of the steps before it;
resolving those receipts gives one succinct receipt that proves the whole chain (``rust-guests/zkvm/chain``).

Chaining needs every proven step to read only the pipeline's input and earlier proven steps' journals, and its guest
to commit the SHA-256 of what it read (``input_sha256``: ``wasm-exec`` and ``json-claim`` do); a run where a proven
step reads a host step's output is refused with :class:`~pipeline.errors.NotChainable`, saying which."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pipeline import errors, zk
from pipeline.core import ReceiptKind, canonical, compact_json, parse_json
from pipeline.flow import PipelineSpec, Runner, references, render
from pipeline.store import DONE, RunStatus

GUEST = "chain"
FORMAT = "loom-chain/1"
_CACHE_PREFIX = "chain:"


@dataclass(frozen=True, slots=True)
class ChainCall:
    """What proving a run's chain needs: the guest's stdin and each step's receipt (the assumptions it verifies)."""

    run_id: str
    steps: tuple[str, ...]
    stdin: bytes
    assumptions: tuple[zk.Receipt, ...]
    guest: zk.Guest

    @property
    def cache_key(self) -> str:
        """The chain's receipt is the same for the same guest and stdin (which names every journal it verifies)."""
        return _CACHE_PREFIX + hashlib.sha256(self.guest.image_id.encode() + b"\0" + self.stdin).hexdigest()


@dataclass(frozen=True, slots=True)
class Chained:
    """The chain's receipt, checked against the ``chain`` guest's image ID, and its decoded journal."""

    image_id: str
    kind: ReceiptKind
    data: bytes
    journal: Mapping[str, Any]
    cached: bool


def chain_call(runner: Runner, run_id: str) -> ChainCall:
    """The chain of a succeeded run's proven steps, in an order where each follows what it reads."""
    run = runner.journal.run(run_id)
    outcome = runner.outcome(run_id)
    if run is None or outcome.status != RunStatus.SUCCEEDED:
        raise errors.InvalidInput(f"run {run_id} has not succeeded ({outcome.status}): it has no result to chain")
    spec = PipelineSpec.model_validate_json(run.spec)
    proven = set(outcome.receipts)
    if not proven:
        raise errors.NotChainable(f"run {run_id} has no proven step to chain")
    for name in sorted(proven):
        step = spec.steps[name]
        if step.when is not None:
            raise errors.NotChainable(f"step {name} runs only when a condition holds, which a chain does not prove")
        for ref in references(step.input):
            parts = ref.split(".")
            if parts[0] == "steps" and parts[1] not in proven:
                raise errors.NotChainable(f"step {name} reads step {parts[1]}, which ran on the host")
            if parts[0] == "steps" and parts[3:4] != ["journal"]:
                raise errors.NotChainable(
                    f"step {name} reads ${{{ref}}}: only a proven step's journal (steps.NAME.output.journal...) "
                    "can be chained"
                )
    done = {a.step: a for a in runner.journal.attempts(run_id) if a.status in DONE}
    input_text = runner.blobs.get(run.input_blob)  # the run's input as journaled: its canonical JSON
    document = parse_json(input_text, "the run's input")
    context: dict[str, Any] = {"input": document, "steps": {}}
    steps, assumptions = [], []
    for name in _ordered(spec, proven):
        made = outcome.receipts[name]
        receipt = zk.load_receipt(made.receipt, runner.blobs)
        journal_text = _text(receipt.journal, name)
        journal = parse_json(journal_text, f"step {name}'s journal")
        bound = journal.get("input_sha256") if isinstance(journal, dict) else None
        if not isinstance(bound, str):
            raise errors.NotChainable(
                f"step {name}'s guest ({made.guest}) does not commit the SHA-256 of its input, so no chain can "
                "prove what it read"
            )
        output = parse_json(runner.blobs.get(done[name].output_blob or ""), f"step {name}'s output")
        rendered = render(spec.steps[name].input, context)
        steps.append(
            {
                "name": name,
                "image_id": made.image_id,
                "journal": journal_text,
                "input": _text(_input_of(runner, name, bound, rendered), name),
            }
        )
        assumptions.append(receipt)
        context["steps"][name] = {"output": output}
    request = {
        "spec": json.dumps(json.loads(run.spec), ensure_ascii=False),
        "input": input_text.decode(),
        "steps": steps,
    }
    return ChainCall(
        run_id=run_id,
        steps=tuple(s["name"] for s in steps),
        stdin=json.dumps(request, ensure_ascii=False).encode(),
        assumptions=tuple(assumptions),
        guest=zk.load_guest(GUEST),
    )


def _ordered(spec: PipelineSpec, proven: set[str]) -> list[str]:
    """The proven steps, each after the steps it reads (the spec's order among those that are ready together)."""
    deps = {name: deps & proven for name, deps in spec.dependencies().items() if name in proven}
    order: list[str] = []
    while len(order) < len(deps):
        order += [name for name in spec.steps if name in deps and name not in order and deps[name] <= set(order)]
    return order


def _input_of(runner: Runner, step: str, digest: str, rendered: Any) -> bytes:
    """The exact bytes the step's guest read: kept in the blob store when it was proven, else its input rendered
    again in either of the encodings Loom gives guests (a wasm activity's text, a risc0 guest's compact JSON)."""
    try:
        return runner.blobs.get(digest)
    except (errors.BlobNotFound, errors.BlobCorrupted, errors.InvalidInput):
        pass
    for data in (json.dumps(rendered, ensure_ascii=False).encode(), canonical(rendered)):
        if hashlib.sha256(data).hexdigest() == digest:
            return data
    raise errors.NotChainable(f"the input step {step} read is not in this data dir any more (run it with --no-cache)")


def _text(data: bytes, step: str) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise errors.NotChainable(f"step {step}'s journal or input is not UTF-8 text") from None


def prove_chain(runner: Runner, call: ChainCall, *, progress: zk.Progress | None = None) -> Chained:
    """The chain's succinct receipt: each step receipt an assumption, resolved, so it stands alone. A chain proven
    before (same guest, same journals and inputs) is served from the data dir's cache."""
    hit = runner.journal.cached(call.cache_key)
    if hit is not None:
        try:
            return _chained(call, zk.load_receipt(hit, runner.blobs), cached=True)
        except (errors.BlobNotFound, errors.BlobCorrupted, errors.ReceiptInvalid):
            pass  # a damaged cache entry is a miss
    try:
        proof = zk.prove(
            call.guest.elf, call.stdin, kind=ReceiptKind.succinct, assumptions=call.assumptions, progress=progress
        )
    except errors.GuestPanicked as exc:
        raise _refusal(exc) from None
    chained = _chained(call, proof.receipt, cached=False)
    runner.journal.remember(call.cache_key, zk.store_receipt(proof.receipt, runner.blobs))
    return chained


def execute_chain(call: ChainCall) -> Mapping[str, Any]:
    """Runs the chain guest without proving: every check it makes, in a fraction of a proof's time (a chain that
    would fail fails here, before anything is proven). Returns the journal it would commit."""
    _check_assumptions(call)
    try:
        info, _ = zk.execute_segments(call.guest.elf, call.stdin, assumptions=call.assumptions)
    except errors.GuestPanicked as exc:
        raise _refusal(exc) from None
    return _journal(info.journal)


def _check_assumptions(call: ChainCall) -> None:
    """Each step's journal is one a receipt given proves (risc0's executor fails without naming which otherwise)."""
    proven = {(r.claimed_image_id, r.journal) for r in call.assumptions}
    try:
        steps = json.loads(call.stdin)["steps"]
        named = [(str(s["name"]), str(s["image_id"]), str(s["journal"]).encode()) for s in steps]
    except (ValueError, KeyError, TypeError):
        return  # the guest says what is wrong with its input
    for name, image_id, journal in named:
        if (image_id, journal) not in proven:
            raise errors.NotChainable(f"step {name}: no receipt of {image_id[:12]}... with that journal")


def _refusal(exc: errors.GuestPanicked) -> errors.NotChainable:
    """The guest's own reason (``chain: ...``), on one line."""
    text = str(exc)
    at = text.find(f"{GUEST}: ")
    reason = text[at + len(GUEST) + 2 :] if at >= 0 else text
    return errors.NotChainable((reason.strip().splitlines() or ["the chain guest failed"])[0])


def _journal(data: bytes) -> Mapping[str, Any]:
    journal = parse_json(data, "the chain's journal", errors.ReceiptInvalid)
    if not isinstance(journal, dict) or journal.get("format") != FORMAT:
        raise errors.ReceiptInvalid(f"the chain's journal is not {FORMAT}: {compact_json(journal)[:60]}")
    return journal


def _chained(call: ChainCall, receipt: zk.Receipt, *, cached: bool) -> Chained:
    journal = _journal(zk.verify(receipt, call.guest.image_id))
    return Chained(call.guest.image_id, ReceiptKind(receipt.kind), receipt.to_bytes(), journal, cached)
