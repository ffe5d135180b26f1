"""Result bundles: what a run hands to someone who does not trust the machine it ran on, and how they check it.

A bundle is one JSON file (``docs/bundle.md`` documents the format) holding a run's output, the provenance of each
part of it (``pipeline.flow``) and every receipt that backs a ``proven`` part, as risc0's own bytes. JSON,
not CBOR or zip: a recipient can read it with any tool, a receipt in base64 costs a third more bytes than raw, and
the file is hashed and checked as a whole, never streamed.

:func:`verify_bundle` needs nothing but the bundle and the image IDs it trusts (by default the lock Loom ships): no
data dir, no registry. It verifies each receipt against its image ID and each ``proven`` value against the journal
field it names; ``host`` values are reported, never checked, since nothing proves them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from pipeline import __version__, errors, zk
from pipeline.core import ReceiptKind, compact_json, parse_json, pinned_image_ids, validation_problem
from pipeline.flow import Provenance, Source, ValuePath, dotted, lookup, value_at
from pipeline.results._chain import FORMAT as CHAIN_FORMAT
from pipeline.results._chain import GUEST as CHAIN_GUEST
from pipeline.results._chain import Chained

FORMAT = "loom-bundle"
VERSION = 2
"""Version 2 adds ``chain`` (one receipt for the proven steps); a bundle without one is written as version 1, which
older Looms read."""
READS = (1, 2)
MAX_BYTES = 256 << 20
"""The largest bundle read: a composite receipt is ~240 KB a segment, so this is hundreds of proofs."""
_HEX64 = r"^[0-9a-f]{64}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BundleReceipt(_Model):
    """A receipt of one step, and what the bundle says it is a receipt of."""

    step: str
    guest: str = Field(description="the activity's name, e.g. tlsn-claim")
    guest_version: str
    image_id: str = Field(pattern=_HEX64)
    kind: ReceiptKind
    sha256: str = Field(pattern=_HEX64, description="of the receipt's bytes")
    receipt: str = Field(description="base64 of risc0's serialized receipt (bincode of risc0_zkvm::Receipt)")
    activity: str | None = Field(
        default=None, description="a proven wasm step: the activity (NAME@VERSION) the wasm-exec guest ran"
    )
    module_sha256: str | None = Field(
        default=None,
        pattern=_HEX64,
        description="a proven wasm step: SHA-256 of that activity's module, which the receipt's journal must name",
    )


class BundleChain(_Model):
    """One receipt for the run's proven steps (the ``chain`` guest): it verified each step's receipt and that each
    step read what the spec gives for the bundle's input; its journal holds each step's journal."""

    guest: Literal["chain"] = "chain"
    guest_version: str
    image_id: str = Field(pattern=_HEX64)
    kind: ReceiptKind
    sha256: str = Field(pattern=_HEX64, description="of the receipt's bytes")
    receipt: str = Field(description="base64 of risc0's serialized receipt (bincode of risc0_zkvm::Receipt)")


class BundlePipeline(_Model):
    name: str
    spec_sha256: str = Field(pattern=_HEX64, description="SHA-256 of the spec's canonical JSON")
    spec: dict[str, Any] = Field(description="the spec as it ran, each activity pinned to its version")


class Bundle(_Model):
    format: Literal["loom-bundle"] = "loom-bundle"
    version: Literal[1, 2] = 1
    loom_version: str
    run_id: str
    created_at: str = Field(description="when the bundle was written (ISO 8601, UTC)")
    pipeline: BundlePipeline
    input_sha256: str = Field(pattern=_HEX64, description="SHA-256 of the pipeline input's canonical JSON")
    output: Any
    provenance: list[Provenance]
    receipts: list[BundleReceipt]
    chain: BundleChain | None = Field(
        default=None,
        description="version 2: one receipt proving the proven steps as a chain (their own receipts are not listed)",
    )

    @model_validator(mode="after")
    def _chain_is_version_2(self) -> Bundle:
        if self.chain is not None and self.version < 2:
            raise ValueError("a chain receipt needs bundle version 2")
        return self

    @field_validator("receipts")
    @classmethod
    def _one_per_step(cls, v: list[BundleReceipt]) -> list[BundleReceipt]:
        steps = [r.step for r in v]
        if len(set(steps)) != len(steps):
            raise ValueError("two receipts for one step")
        return v

    def to_bytes(self) -> bytes:
        fields = self.model_dump(mode="json", exclude={"chain"} if self.chain is None else None)
        return (json.dumps(fields, indent=1, ensure_ascii=False) + "\n").encode()


def spec_digest(spec: Mapping[str, Any]) -> str:
    return hashlib.sha256(compact_json(spec).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Made:
    """A receipt a step made, to go into a bundle."""

    step: str
    guest: str
    guest_version: str
    image_id: str
    kind: ReceiptKind
    data: bytes
    activity: str | None = None
    module_sha256: str | None = None


def make_bundle(
    *,
    run_id: str,
    spec: Mapping[str, Any],
    input_sha256: str,
    output: Any,
    provenance: Sequence[Provenance],
    receipts: Sequence[Made],
    chain: Chained | None = None,
) -> Bundle:
    """A bundle of a finished run, with the receipts its proven values need: one per proven step, or one ``chain``
    receipt for all of them."""
    return Bundle(
        version=1 if chain is None else 2,
        loom_version=__version__,
        run_id=run_id,
        created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        pipeline=BundlePipeline(name=str(spec["name"]), spec_sha256=spec_digest(spec), spec=dict(spec)),
        input_sha256=input_sha256,
        output=output,
        provenance=list(provenance),
        receipts=[
            BundleReceipt(
                step=made.step,
                guest=made.guest,
                guest_version=made.guest_version,
                image_id=made.image_id,
                kind=made.kind,
                sha256=hashlib.sha256(made.data).hexdigest(),
                receipt=base64.b64encode(made.data).decode(),
                activity=made.activity,
                module_sha256=made.module_sha256,
            )
            for made in receipts
        ],
        chain=None
        if chain is None
        else BundleChain(
            guest_version=__version__,
            image_id=chain.image_id,
            kind=chain.kind,
            sha256=hashlib.sha256(chain.data).hexdigest(),
            receipt=base64.b64encode(chain.data).decode(),
        ),
    )


# --- reading -----------------------------------------------------------------------------------------------------


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A key given twice could read as one value here and another elsewhere: refused."""
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise errors.InvalidInput(f"not a bundle: the key {_short(key)} is given twice")
        found[key] = value
    return found


def _not_json(constant: str) -> Any:
    raise errors.InvalidInput(f"not a bundle: {constant} is not a JSON value")


def parse_bundle(data: bytes | str | Mapping[str, Any]) -> Bundle:
    """A bundle from its bytes (or decoded JSON); refuses, on one line, anything that is not a bundle of a version
    this Loom reads."""
    if isinstance(data, (bytes, str)):
        if len(data) > MAX_BYTES:
            raise errors.InvalidInput(f"not a bundle: {len(data):,} bytes; a bundle has at most {MAX_BYTES:,}")
        try:
            document = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_not_json)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise errors.InvalidInput(f"not a bundle: not JSON ({exc})") from None
        except RecursionError:
            raise errors.InvalidInput("not a bundle: nested too deeply") from None
    else:
        document = data
    if not isinstance(document, Mapping) or document.get("format") != FORMAT:
        raise errors.InvalidInput(f'not a bundle: no "format": "{FORMAT}" field')
    version = document.get("version")
    if type(version) is not int or version not in READS:
        raise errors.InvalidInput(
            f"bundle version {compact_json(version)[:20]} is not one this Loom reads "
            f"(it reads versions {', '.join(map(str, READS))}; a newer Loom may read it)"
        )
    try:
        return Bundle.model_validate(document)
    except ValidationError as exc:
        raise errors.InvalidInput(f"not a valid bundle: {validation_problem(exc)}") from None


# --- verifying ---------------------------------------------------------------------------------------------------


class ReceiptCheck(_Model):
    step: str
    guest: str
    image_id: str
    kind: str
    trusted: bool = Field(description="the image ID is one the verifier knows (Loom's lock, or --image-id)")
    verified: bool = Field(description="the receipt's seal verifies for the image ID")
    problem: str | None = None
    activity: str | None = Field(default=None, description="a proven wasm step: the activity wasm-exec ran")
    module_sha256: str | None = Field(default=None, description="... and its module, as the journal names it")
    chained: bool = Field(default=False, description="proven by the bundle's chain receipt, not one of its own")


class ChainCheck(_Model):
    """The bundle's chain receipt: when it verifies for a trusted image ID, each chained step's journal is proven,
    and so is that each step read what the spec gives for the bundle's input (``input_sha256``)."""

    image_id: str
    kind: str
    trusted: bool
    verified: bool
    steps: list[str]
    problem: str | None = None


class ValueCheck(_Model):
    path: ValuePath
    value: Any
    source: Source
    step: str | None
    guest: str | None = None
    image_id: str | None = None
    journal_path: str | None = None
    why: str
    verified: bool | None = Field(description="proven values: matches a verified journal; host values: None")
    problem: str | None = None


class BundleReport(_Model):
    """What :func:`verify_bundle` found: ``ok`` only when every receipt verifies for a trusted image ID, every
    proven value equals the journal field it names, and every required path is proven."""

    pipeline: str
    run_id: str
    loom_version: str
    receipts: list[ReceiptCheck]
    values: list[ValueCheck]
    problems: list[str]
    chain: ChainCheck | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_bundle(
    data: bytes | str | Mapping[str, Any] | Bundle,
    *,
    image_ids: Collection[str] = (),
    require_proven: Sequence[str] = (),
    lock: Mapping[str, str] | None = None,
) -> BundleReport:
    """Checks a bundle (its bytes, or a parsed one). Receipts verify against the image ID their guest has in
    ``lock`` (default: the one this Loom ships) or one of ``image_ids`` (trusted because the caller says so); an image
    ID neither names is reported, never trusted. ``require_proven`` (dot paths of the output) must be proven. A
    bundle that cannot be read raises ``InvalidInput``; every failed check is in the report's ``problems``."""
    bundle = data if isinstance(data, Bundle) else parse_bundle(data)
    lock = pinned_image_ids() if lock is None else lock
    problems: list[str] = []
    if spec_digest(bundle.pipeline.spec) != bundle.pipeline.spec_sha256:
        problems.append("the pipeline spec does not match its spec_sha256")
    receipts: list[ReceiptCheck] = []
    journals: dict[str, Any] = {}
    chain = None
    if bundle.chain is not None:
        chain, receipts, journals = _check_chain(bundle, bundle.chain, lock, set(image_ids))
        problems += [p for p in [chain.problem, *(r.problem for r in receipts)] if p]
    problems += _check_step_receipts(bundle, lock, set(image_ids), receipts, journals)
    problems += _coverage(bundle.output, bundle.provenance)
    by_step = {r.step: r for r in bundle.receipts}
    if bundle.chain is not None:
        by_step |= {r.step: _as_receipt(r, bundle.chain) for r in receipts if r.chained}
    refused = {check.step for check in receipts if check.problem}
    if chain is not None and chain.problem:  # then every step without a receipt of its own goes unproven
        refused |= {p.step for p in bundle.provenance if p.step and p.step not in by_step}
    values = []
    for entry in bundle.provenance:
        check = _check_value(bundle.output, entry, by_step, journals)
        values.append(check)
        if check.problem and entry.step not in refused:  # a refused receipt is one problem, not one per value
            problems.append(check.problem)
    problems += _required(bundle.output, bundle.provenance, require_proven)
    return BundleReport(
        pipeline=bundle.pipeline.name,
        run_id=bundle.run_id,
        loom_version=bundle.loom_version,
        receipts=receipts,
        values=values,
        problems=problems,
        chain=chain,
    )


def _check_step_receipts(
    bundle: Bundle, lock: Mapping[str, str], given: set[str], checks: list[ReceiptCheck], journals: dict[str, Any]
) -> list[str]:
    """Checks each step's own receipt into ``checks``, its journal into ``journals`` when it verifies; returns the
    problems."""
    problems = []
    for r in bundle.receipts:
        if r.step in journals:
            problems.append(f"step {r.step} has a receipt of its own and is in the chain")
            continue
        check, journal = _check_receipt(r, lock, given)
        if check.problem is None and (runs := _spec_activity(bundle, r)) is not None:
            check, journal = check.model_copy(update={"problem": runs}), None
        checks.append(check)
        if check.problem:
            problems.append(check.problem)
        elif journal is not None:
            journals[r.step] = journal
    return problems


def _trust(r: BundleReceipt, lock: Mapping[str, str], given: set[str]) -> str | None:
    """Why the receipt's image ID is not trusted, or None when it is."""
    return _distrust(f"receipt of step {r.step}", r.guest, r.image_id, lock, given)


def _distrust(what: str, guest: str, image_id: str, lock: Mapping[str, str], given: set[str]) -> str | None:
    if image_id in given or lock.get(guest) == image_id:
        return None
    owner = _owner(image_id, lock)
    if owner is not None:
        return f"{what}: image ID {image_id[:12]}... is this Loom's {owner}, not {guest}"
    if guest in lock:
        return (
            f"{what}: image ID {image_id[:12]}... is not this Loom's {guest} "
            f"({lock[guest][:12]}...); pass --image-id {image_id} if you trust that program"
        )
    return (
        f"{what}: image ID {image_id[:12]}... of guest {guest} is unknown to this Loom; "
        f"pass --image-id {image_id} if you trust that program"
    )


def _owner(image_id: str, lock: Mapping[str, str]) -> str | None:
    return next((name for name, image in lock.items() if image == image_id), None)


def _check_chain(
    bundle: Bundle, c: BundleChain, lock: Mapping[str, str], given: set[str]
) -> tuple[ChainCheck, list[ReceiptCheck], dict[str, Any]]:
    """The chain receipt's check, a check per step it chains, and those steps' journals when it verifies for a
    trusted image ID and binds this bundle's spec and input."""
    opened = _open("the chain receipt", c.receipt, c.sha256, CHAIN_GUEST, c.image_id, c.kind, lock, given)
    check = ChainCheck(
        image_id=c.image_id, kind=c.kind.value, trusted=opened.trusted, verified=opened.verified, steps=[],
        problem=opened.problem,
    )  # fmt: skip
    if opened.journal is None:
        return check, [], {}
    try:
        decoded = parse_json(opened.journal, "the chain's journal")
        steps, outputs = list(decoded["steps"]), dict(decoded["outputs"])
        names = [str(step["name"]) for step in steps]
        if decoded["format"] != CHAIN_FORMAT:
            raise ValueError(decoded["format"])
    except (errors.InvalidInput, KeyError, TypeError, ValueError):
        return check.model_copy(update={"problem": f"the chain receipt: its journal is not {CHAIN_FORMAT}"}), [], {}
    check = check.model_copy(update={"steps": names})
    if decoded.get("spec_sha256") != bundle.pipeline.spec_sha256:
        return (
            check.model_copy(update={"problem": "the chain receipt proves another pipeline spec than the bundle's"}),
            [],
            {},
        )
    if decoded.get("input_sha256") != bundle.input_sha256:
        problem = "the chain receipt proves a run on another input than the bundle's input_sha256"
        return check.model_copy(update={"problem": problem}), [], {}
    in_spec = bundle.pipeline.spec.get("steps")
    checks = [_chained_step(step, c, lock, given, in_spec if isinstance(in_spec, dict) else {}) for step in steps]
    return check, checks, {r.step: outputs.get(r.step) for r in checks if r.problem is None}


def _chained_step(
    step: Mapping[str, Any], c: BundleChain, lock: Mapping[str, str], given: set[str], in_spec: Mapping[str, Any]
) -> ReceiptCheck:
    """A step the chain receipt proves: its image ID must be one this verifier trusts."""
    name, image_id, module = str(step["name"]), str(step.get("image_id")), step.get("module_sha256")
    owner = _owner(image_id, lock)
    problem = None
    if owner is None and image_id not in given:
        problem = (
            f"step {name} (chained): image ID {image_id[:12]}... is unknown to this Loom; "
            f"pass --image-id {image_id} if you trust that program"
        )
    elif owner == zk.WASM_GUEST and not isinstance(module, str):
        problem = f"step {name} (chained): a {zk.WASM_GUEST} receipt that names no module"
    elif name not in in_spec:
        problem = f"step {name} (chained): the spec has no such step"
    elif owner is not None and (runs := _runs(owner, step.get("activity"), lock)) is not None:
        problem = f"step {name} (chained): the spec runs {runs}, but the chain proves {owner} ran"
    return ReceiptCheck(
        step=name, guest=owner or "unknown guest", image_id=image_id, kind=c.kind.value,
        trusted=owner is not None or image_id in given, verified=True, problem=problem,
        activity=step.get("activity"), module_sha256=module if isinstance(module, str) else None, chained=True,
    )  # fmt: skip


def _spec_activity(bundle: Bundle, r: BundleReceipt) -> str | None:
    """Why a step's receipt is not one of the activity the spec runs there, or None when it is."""
    steps = bundle.pipeline.spec.get("steps")
    step = steps.get(r.step) if isinstance(steps, dict) else None
    activity = step.get("activity") if isinstance(step, dict) else None
    if activity is None:
        return f"receipt of step {r.step}: the spec has no such step"
    if r.guest == zk.WASM_GUEST:  # the activity wasm-exec ran, as the bundle names it (and its module digest)
        same, ran = str(activity) == r.activity, f"{r.activity} (in {zk.WASM_GUEST})"
    else:  # a risc0 activity is its guest
        same, ran = str(activity).partition("@")[0] == r.guest, r.guest
    return None if same else f"receipt of step {r.step}: the spec runs {activity}, but the receipt proves {ran} ran"


def _runs(owner: str, activity: Any, lock: Mapping[str, str]) -> str | None:
    """The activity the spec runs when it is not what the proving guest is: a shipped guest runs as itself, and
    wasm-exec runs wasm activities, never a shipped guest."""
    name = str(activity).partition("@")[0]
    if owner == zk.WASM_GUEST:
        return str(activity) if name in lock else None
    return None if name == owner else str(activity)


def _as_receipt(check: ReceiptCheck, c: BundleChain) -> BundleReceipt:
    """A chained step as the value checks see it: its journal is in the chain receipt's."""
    return BundleReceipt(
        step=check.step, guest=check.guest, guest_version=c.guest_version, image_id=check.image_id, kind=c.kind,
        sha256=c.sha256, receipt="", activity=check.activity, module_sha256=check.module_sha256,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class _Opened:
    """A receipt as far as it got: its journal only when it verifies for a trusted image ID."""

    journal: bytes | None
    problem: str | None
    trusted: bool
    verified: bool


def _open(
    what: str, text: str, sha256: str, guest: str, image_id: str, kind: ReceiptKind, lock: Mapping[str, str],
    given: set[str],
) -> _Opened:  # fmt: skip
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return _Opened(None, f"{what}: not base64", False, False)
    if hashlib.sha256(raw).hexdigest() != sha256:
        return _Opened(None, f"{what}: its bytes do not match its sha256 (altered)", False, False)
    distrust = _distrust(what, guest, image_id, lock, given)
    try:
        receipt = zk.Receipt.from_bytes(raw)
        journal = zk.verify(receipt, image_id)
    except errors.ReceiptInvalid as exc:
        return _Opened(None, f"{what}: {exc}", distrust is None, False)
    if receipt.kind != kind.value:
        return _Opened(None, f"{what}: a {receipt.kind} receipt, labelled {kind.value}", False, False)
    if distrust is not None:
        return _Opened(None, distrust, False, True)
    return _Opened(journal, None, True, True)


def _check_receipt(r: BundleReceipt, lock: Mapping[str, str], given: set[str]) -> tuple[ReceiptCheck, Any]:
    """The receipt's check, and its decoded journal when it verifies for a trusted image ID."""

    def result(problem: str | None, *, trusted: bool = False, verified: bool = False) -> ReceiptCheck:
        return ReceiptCheck(
            step=r.step,
            guest=r.guest,
            image_id=r.image_id,
            kind=r.kind.value,
            trusted=trusted,
            verified=verified,
            problem=problem,
            activity=r.activity,
            module_sha256=r.module_sha256,
        )

    opened = _open(f"receipt of step {r.step}", r.receipt, r.sha256, r.guest, r.image_id, r.kind, lock, given)
    if opened.journal is None:
        return result(opened.problem, trusted=opened.trusted, verified=opened.verified), None
    journal = opened.journal
    try:
        decoded = json.loads(journal, parse_constant=_not_json)
    except (UnicodeDecodeError, json.JSONDecodeError, errors.InvalidInput, RecursionError):
        decoded = None  # a verified journal that is not JSON backs no value (each proven one then fails)
    if r.module_sha256 is not None or r.guest == zk.WASM_GUEST:
        named = decoded.get("module_sha256") if isinstance(decoded, dict) else None
        if r.module_sha256 is None or named != r.module_sha256:
            problem = (
                f"receipt of step {r.step}: it proves module {str(named)[:12]}... ran, but the bundle says "
                f"{r.activity} ({str(r.module_sha256)[:12]}...)"
            )
            return result(problem, trusted=True, verified=True), None
    return result(None, trusted=True, verified=True), decoded


def _coverage(output: Any, provenance: Sequence[Provenance]) -> list[str]:
    """Every part of the output has exactly one provenance: no value goes unlabelled, none is labelled twice."""
    problems = []
    paths = [p.path for p in provenance]
    if len(set(paths)) != len(paths):
        problems.append("two provenance entries for one output value")
    for path in paths:
        if not value_at(output, path)[0]:
            problems.append(f"provenance names {dotted(path)}, which is not in the output")
        if any(other != path and other[: len(path)] == path for other in paths):
            problems.append(f"provenance of {dotted(path)} overlaps that of a value inside it")
    labelled = set(paths)

    def walk(value: Any, path: ValuePath) -> None:
        if path in labelled:
            return
        children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
        if not children:
            problems.append(f"output value {dotted(path)} has no provenance")
        for key, sub in children:
            walk(sub, (*path, key))

    walk(output, ())
    return problems


def _check_value(
    output: Any, entry: Provenance, receipts: Mapping[str, BundleReceipt], journals: Mapping[str, Any]
) -> ValueCheck:
    value = value_at(output, entry.path)[1]
    check = ValueCheck(
        path=entry.path,
        value=value,
        source=entry.source,
        step=entry.step,
        journal_path=entry.journal_path,
        why=entry.why,
        verified=None,
    )
    if entry.source is Source.host:
        return check
    where = dotted(entry.path)
    receipt = receipts.get(entry.step or "")
    if receipt is None or entry.journal_path is None:
        problem = f"{where} is labelled proven, but the bundle has no receipt of step {entry.step} to prove it"
        return check.model_copy(update={"verified": False, "problem": problem})
    check = check.model_copy(update={"guest": receipt.guest, "image_id": receipt.image_id})
    if receipt.step not in journals:
        problem = f"{where}: the receipt of step {receipt.step} that would prove it does not verify"
        return check.model_copy(update={"verified": False, "problem": problem})
    try:
        proven = lookup(journals[receipt.step], entry.journal_path) if entry.journal_path else journals[receipt.step]
    except errors.InvalidInput:
        problem = f"{where}: the journal of step {receipt.step} has no field {entry.journal_path}"
        return check.model_copy(update={"verified": False, "problem": problem})
    if compact_json(proven) != compact_json(value):
        problem = (
            f"{where} is {_short(value)} in the bundle, but the receipt of step {receipt.step} "
            f"({receipt.guest}) proves {_short(proven)}"
        )
        return check.model_copy(update={"verified": False, "problem": problem})
    return check.model_copy(update={"verified": True})


def _required(output: Any, provenance: Sequence[Provenance], required: Sequence[str]) -> list[str]:
    """A required path is proven when every provenance entry at, above or inside it is proven."""
    problems = []
    for text in required:
        wanted = tuple(text.split(".")) if text not in ("", ".") else ()
        covering = [p for p in provenance if _prefix(p.path, wanted) or _prefix(wanted, p.path)]
        if not covering:
            problems.append(f"--require-proven {text}: the output has no value there")
        elif hosts := [p for p in covering if p.source is not Source.proven]:
            problems.append(f"--require-proven {text}: {dotted(hosts[0].path)} is not proven ({hosts[0].why})")
    return problems


def _prefix(short: ValuePath, long: tuple[str, ...] | ValuePath) -> bool:
    """Whether ``short`` is a prefix of ``long``, comparing indices and keys as people type them."""
    return len(short) <= len(long) and all(str(a) == str(b) for a, b in zip(short, long, strict=False))


def _short(value: Any) -> str:
    text = compact_json(value)
    return text if len(text) <= 40 else text[:37] + "..."


def bundle_json_schema() -> str:
    """The bundle format as JSON Schema (``docs/bundle.schema.json`` is this text)."""
    return json.dumps(Bundle.model_json_schema(), indent=2) + "\n"
