"""RISC Zero from Python: guests by name, execution, proving, verification, and receipts in the blob store.

A thin, typed layer over ``pipeline._native`` (which does the work with the GIL released). Loom's guests read one
JSON document from stdin and commit one JSON document to their journal; ``decode_journal`` turns it back into data.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from pipeline import _native, errors
from pipeline.core import ReceiptKind, compact_json, data_dir, read_bounded
from pipeline.zk import _recursion as recursion
from pipeline.zk import _segments as segment_size
from pipeline.zk._cluster import prove as prove_on_cluster
from pipeline.zk._segments import Capacity, SegmentPlan

if TYPE_CHECKING:
    from pipeline.store import BlobStore

MAX_ELF_BYTES = 64 << 20  # a guest program; risc0's own are a few hundred KiB
MAX_RECEIPT_BYTES = 256 << 20  # as a bundle (whose receipts are base64 inside it)

Receipt = _native.Receipt
Progress = recursion.Progress
ProvingPhase = recursion.ProvingPhase


class Execution(BaseModel):
    """What one run of a guest did and what proving it costs."""

    model_config = ConfigDict(frozen=True)

    journal: bytes
    exit_code: str
    segments: int
    total_cycles: int
    user_cycles: int
    paging_cycles: int
    reserved_cycles: int

    @classmethod
    def of(cls, info: _native.ExecutionInfo) -> Execution:
        return cls(**{name: getattr(info, name) for name in cls.model_fields})


class Proof(BaseModel):
    """A receipt with the execution that produced it."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    receipt: Receipt
    execution: Execution


class Guest(BaseModel):
    """A built guest program: its ELF and the image ID receipts must name."""

    model_config = ConfigDict(frozen=True)

    name: str
    path: Path
    image_id: str

    @property
    def elf(self) -> bytes:
        return read_bounded(self.path, MAX_ELF_BYTES, "guest ELF")


def guest_names() -> list[str]:
    """Names of the guests Loom ships (``zkvm/*.elf`` in its data dir)."""
    return sorted(p.stem for p in (data_dir() / "zkvm").glob("*.elf"))


def load_guest(name_or_path: str | Path) -> Guest:
    """A guest by name (``sha-chain``, one Loom ships) or by path to an ELF."""
    path = Path(name_or_path)
    if not path.is_file():
        path = data_dir() / "zkvm" / f"{name_or_path}.elf"
    if not path.is_file():
        known = ", ".join(guest_names()) or "none: run `make setup`"
        raise errors.InvalidInput(f"no guest {str(name_or_path)!r} (built guests: {known})")
    return Guest(name=path.stem, path=path, image_id=image_id(read_bounded(path, MAX_ELF_BYTES, "guest ELF")))


def image_id(elf: bytes) -> str:
    """The image ID receipts of this ELF name (hex)."""
    return _native.image_id(elf)


def encode_input(document: Any) -> bytes:
    """Guest stdin: bytes pass through, text is UTF-8, anything else is compact JSON."""
    if isinstance(document, bytes):
        return document
    if isinstance(document, str):
        return document.encode()
    return compact_json(document).encode()


def decode_journal(journal: bytes) -> Any:
    """A Loom guest's journal is JSON; anything else is returned as hex so it still prints."""
    try:
        return json.loads(journal)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return {"hex": journal.hex()}


def execute(
    elf: bytes, document: Any, *, segment_limit_po2: int | None = None, max_cycles: int | None = None
) -> Execution:
    """Runs a guest without proving: journal and cycle counts, in a fraction of a proof's time."""
    return Execution.of(
        _native.execute(elf, encode_input(document), segment_limit_po2=segment_limit_po2, max_cycles=max_cycles)
    )


def machine_memory() -> int:
    """This machine's physical memory, in bytes."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def capacity(memory: int | None = None) -> Capacity:
    """This machine as a place to prove: its physical memory (or ``memory`` bytes)."""
    return Capacity(machine_memory() if memory is None else memory, "this machine has", "prove on a cluster")


def segment_po2_ceiling(memory: int | None = None) -> int:
    """The largest segment size a local proof may use: the largest whose proof fits this machine's memory, up to
    risc0's own default of 2^20."""
    return capacity(memory).ceiling


def check_fits(po2: int, memory: int | None = None) -> None:
    """Refuses, before anything is proven, a segment size whose proof cannot fit this machine's memory."""
    capacity(memory).check(po2)


def prove(
    elf: bytes,
    document: Any,
    *,
    kind: ReceiptKind | str = ReceiptKind.composite,
    segment_limit_po2: int | None = None,
    max_cycles: int | None = None,
    dev_mode: bool = False,
    progress: Progress | None = None,
    assumptions: Sequence[Receipt] = (),
    cluster: str | None = None,
    on_plan: Callable[[SegmentPlan], None] | None = None,
) -> Proof:
    """Proves a guest on a document. ``assumptions`` are receipts of what the guest verifies (``env::verify``); a
    succinct proof resolves them into one receipt that stands alone. ``dev_mode`` makes a labelled fake receipt
    that proves nothing. Unless ``segment_limit_po2`` is given, segments are of the size that proves the guest in
    the fewest rows among those whose proof fits this machine's memory (``segment_size.cheapest``); a size that
    cannot fit is refused. ``on_plan`` hears the size before proving starts. ``cluster`` (a Ray address) proves the
    segments on that cluster's nodes instead of here (``pipeline.zk._cluster``): the same receipt, in less time when
    there are several nodes."""
    kind = ReceiptKind(kind)
    if cluster:
        if dev_mode:
            raise errors.InvalidInput("a dev-mode receipt proves nothing, so there is nothing to prove on a cluster")
        execution, receipt = prove_on_cluster(
            cluster,
            elf,
            encode_input(document),
            succinct=kind is ReceiptKind.succinct,
            segment_limit_po2=segment_limit_po2,
            max_cycles=max_cycles,
            progress=progress,
            assumptions=assumptions,
            on_plan=on_plan,
        )
        return Proof(receipt=receipt, execution=Execution.of(execution))
    stdin = encode_input(document)
    succinct = kind is ReceiptKind.succinct
    if not dev_mode:  # a fake receipt has no segments to size
        segment_limit_po2 = segment_size.plan(
            elf,
            stdin,
            capacity(),
            given=segment_limit_po2,
            succinct=succinct,
            max_cycles=max_cycles,
            assumptions=assumptions,
            on_plan=on_plan,
        ).po2
    options = _native.ProverOptions(segment_limit_po2=segment_limit_po2, max_cycles=max_cycles, dev_mode=dev_mode)
    info = _native.prove(elf, stdin, options, progress=_phased(progress), assumptions=list(assumptions))
    receipt = info.receipt
    if succinct and not dev_mode:
        receipt = recursion.compress(receipt, assumptions, progress)
    return Proof(receipt=receipt, execution=Execution.of(info.stats))


def _phased(progress: Progress | None) -> Callable[[str, int, int], None] | None:
    """The native prover's progress (its phase as text) as a ``ProvingPhase``."""
    if progress is None:
        return None
    return lambda phase, done, total: progress(ProvingPhase(phase), done, total)


def verify(receipt: Receipt | bytes, image_id: str, *, allow_dev_mode: bool = False) -> bytes:
    """Checks a receipt (object or risc0-serialized bytes) against an image ID; returns the proven journal."""
    if isinstance(receipt, bytes):
        receipt = Receipt.from_bytes(receipt)
    return receipt.verify(image_id, allow_dev_mode=allow_dev_mode)


def store_receipt(receipt: Receipt, blobs: BlobStore) -> str:
    """Puts the receipt's risc0 serialized form in the blob store; returns its digest."""
    return blobs.put(receipt.to_bytes())


def read_receipt(path: Path) -> Receipt:
    """The receipt in the file at ``path`` (risc0's bincode), read within ``MAX_RECEIPT_BYTES``."""
    return Receipt.from_bytes(read_bounded(path, MAX_RECEIPT_BYTES, "receipt file"))


def load_receipt(digest: str, blobs: BlobStore) -> Receipt:
    return Receipt.from_bytes(blobs.get(digest))
