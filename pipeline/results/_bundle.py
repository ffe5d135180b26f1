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

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipeline import __version__, errors, zk
from pipeline.core import ReceiptKind, compact_json, pinned_image_ids, validation_problem
from pipeline.flow import Provenance, Source, ValuePath, dotted, lookup, value_at

FORMAT = "loom-bundle"
VERSION = 1
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


class BundlePipeline(_Model):
    name: str
    spec_sha256: str = Field(pattern=_HEX64, description="SHA-256 of the spec's canonical JSON")
    spec: dict[str, Any] = Field(description="the spec as it ran, each activity pinned to its version")


class Bundle(_Model):
    format: Literal["loom-bundle"] = "loom-bundle"
    version: Literal[1] = 1
    loom_version: str
    run_id: str
    created_at: str = Field(description="when the bundle was written (ISO 8601, UTC)")
    pipeline: BundlePipeline
    input_sha256: str = Field(pattern=_HEX64, description="SHA-256 of the pipeline input's canonical JSON")
    output: Any
    provenance: list[Provenance]
    receipts: list[BundleReceipt]

    @field_validator("receipts")
    @classmethod
    def _one_per_step(cls, v: list[BundleReceipt]) -> list[BundleReceipt]:
        steps = [r.step for r in v]
        if len(set(steps)) != len(steps):
            raise ValueError("two receipts for one step")
        return v

    def to_bytes(self) -> bytes:
        return (json.dumps(self.model_dump(mode="json"), indent=1, ensure_ascii=False) + "\n").encode()


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
) -> Bundle:
    """A bundle of a finished run, with the receipts its proven values need."""
    return Bundle(
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
    if document.get("version") != VERSION:
        raise errors.InvalidInput(
            f"bundle version {compact_json(document.get('version'))[:20]} is not one this Loom reads "
            f"(it reads version {VERSION}; a newer Loom may read it)"
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
    receipts, journals = [], {}
    for r in bundle.receipts:
        receipt_check, journal = _check_receipt(r, lock, set(image_ids))
        receipts.append(receipt_check)
        if receipt_check.problem:
            problems.append(receipt_check.problem)
        elif journal is not None:
            journals[r.step] = journal
    problems += _coverage(bundle.output, bundle.provenance)
    by_step = {r.step: r for r in bundle.receipts}
    refused = {check.step for check in receipts if check.problem}
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
    )


def _trust(r: BundleReceipt, lock: Mapping[str, str], given: set[str]) -> str | None:
    """Why the receipt's image ID is not trusted, or None when it is."""
    if r.image_id in given or lock.get(r.guest) == r.image_id:
        return None
    owner = next((name for name, image in lock.items() if image == r.image_id), None)
    if owner is not None:
        return f"receipt of step {r.step}: image ID {r.image_id[:12]}... is this Loom's {owner}, not {r.guest}"
    if r.guest in lock:
        return (
            f"receipt of step {r.step}: image ID {r.image_id[:12]}... is not this Loom's {r.guest} "
            f"({lock[r.guest][:12]}...); pass --image-id {r.image_id} if you trust that program"
        )
    return (
        f"receipt of step {r.step}: image ID {r.image_id[:12]}... of guest {r.guest} is unknown to this Loom; "
        f"pass --image-id {r.image_id} if you trust that program"
    )


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

    try:
        raw = base64.b64decode(r.receipt, validate=True)
    except (binascii.Error, ValueError):
        return result(f"receipt of step {r.step}: not base64"), None
    if hashlib.sha256(raw).hexdigest() != r.sha256:
        return result(f"receipt of step {r.step}: its bytes do not match its sha256 (altered)"), None
    distrust = _trust(r, lock, given)
    try:
        receipt = zk.Receipt.from_bytes(raw)
        journal = zk.verify(receipt, r.image_id)
    except errors.ReceiptInvalid as exc:
        return result(f"receipt of step {r.step}: {exc}", trusted=distrust is None), None
    if receipt.kind != r.kind.value:
        return result(f"receipt of step {r.step}: a {receipt.kind} receipt, labelled {r.kind.value}"), None
    if distrust is not None:
        return result(distrust, verified=True), None
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
