"""Type stubs for ``pipeline._native``, Loom's compiled core (PyO3, built by maturin from ``native/``).

Errors are Loom's own classes from ``pipeline.errors``: ``InvalidInput`` (bad ELF, image ID or encoding),
``GuestPanicked`` (with the guest's message), ``ExecutionFailed``, ``ProvingFailed``, ``ReceiptInvalid`` and
``ImageIdMismatch``; ``PresentationInvalid`` for TLSNotary presentations, raised with its ``stage`` as data.
"""

from collections.abc import Callable
from typing import Literal, final

__all__ = [
    "ExecutionInfo",
    "ProveInfo",
    "ProverOptions",
    "Receipt",
    "__version__",
    "build_info",
    "check_recursion_programs",
    "composite_receipt",
    "execute",
    "execute_segments",
    "image_id",
    "join",
    "json_valid",
    "lift",
    "prove",
    "prove_segment",
    "resolve",
    "resolve_assumptions",
    "segment_receipts",
    "succinct_receipt",
    "tlsn_verify",
    "verifier_parameters",
]

__version__: str

def build_info() -> dict[str, str]:
    """Facts about the compiled module: its version, the risc0-zkvm version and the circuit it proves on
    (``risc0_circuit``), build profile, target, and the CPU it was compiled for: ``target_cpu`` (rustc) and
    ``kernels_march`` (risc0's C++ proving kernels); ``x86-64`` is portable, ``native`` runs only on CPUs like the
    builder's."""

def verifier_parameters() -> dict[str, str]:
    """The digests (hex) of this risc0 release's verifier parameters for ``composite``, ``segment`` and ``succinct``
    receipts: what its receipts carry. A receipt carrying another known release's is refused naming that release."""

def tlsn_verify(request: bytes) -> str:
    """Verifies a TLSNotary presentation: ``{"presentation": "<base64>", "policy": {...}}`` in, the verified facts
    as JSON text out (the same answer as the ``tlsn-verify`` wasm activity); ``PresentationInvalid`` naming the
    failed check (its ``stage``) otherwise. Releases the GIL."""

def json_valid(data: bytes) -> bool:
    """Whether ``data`` is plainly strict JSON that ``pipeline.core.parse_json`` takes (UTF-8, JSON's syntax, finite
    floats, paired surrogate escapes, integers of at most 600 digits, nesting at most 200 deep). False is no
    verdict: ask ``parse_json``. Releases the GIL."""

def image_id(elf: bytes) -> str:
    """Hex image ID of a RISC Zero guest: a user ELF (combined with the v1compat kernel) or a combined binary."""

@final
class ExecutionInfo:
    """What one execution of a guest did."""

    journal: bytes
    exit_code: str
    segments: int
    total_cycles: int
    user_cycles: int
    paging_cycles: int
    reserved_cycles: int

@final
class Receipt:
    """A risc0 receipt: the journal and the seal proving a guest produced it."""

    @property
    def kind(self) -> Literal["composite", "succinct", "groth16", "fake"]: ...
    @property
    def is_dev_mode(self) -> bool:
        """True for dev-mode (fake) receipts, which prove nothing."""
    @property
    def journal(self) -> bytes: ...
    @property
    def seal_size(self) -> int: ...
    @property
    def claimed_image_id(self) -> str:
        """The image ID named in the receipt's claim (not a verification)."""
    def verify(self, image_id: str, *, allow_dev_mode: bool = False) -> bytes:
        """Verify against ``image_id``; returns the journal. Fake receipts are refused unless allowed."""
    def to_bytes(self) -> bytes:
        """risc0's own serialized form (bincode of ``risc0_zkvm::Receipt``)."""
    @staticmethod
    def from_bytes(data: bytes) -> Receipt:
        """Decode risc0's serialized form; ``ReceiptInvalid`` for anything that is not exactly one receipt
        (trailing bytes included)."""

@final
class ProveInfo:
    receipt: Receipt
    stats: ExecutionInfo

def execute(
    elf: bytes, input: bytes, *, segment_limit_po2: int | None = None, max_cycles: int | None = None
) -> ExecutionInfo:
    """Run a guest with ``input`` on its stdin, without proving."""

@final
class ProverOptions:
    """How to prove a guest, as one value (like risc0's ``ProverOpts``). The receipt is composite: a succinct one is
    made from it with ``segment_receipts``, ``lift``, ``join`` and ``resolve_assumptions``."""

    def __new__(
        cls,
        *,
        segment_limit_po2: int | None = None,
        max_cycles: int | None = None,
        dev_mode: bool = False,
    ) -> ProverOptions: ...
    @property
    def segment_limit_po2(self) -> int | None: ...
    @property
    def max_cycles(self) -> int | None: ...
    @property
    def dev_mode(self) -> bool:
        """Make a fake receipt instantly: labelled "fake", refused by ``verify`` unless allowed."""

def prove(
    elf: bytes,
    input: bytes,
    options: ProverOptions,
    *,
    progress: Callable[[str, int, int], None] | None = None,
    assumptions: list[Receipt] = ...,
) -> ProveInfo:
    """Prove a guest into a composite receipt; ``progress("segment", done, total)`` is called as each segment is
    proven (and with 0 first). ``assumptions``: receipts of what the guest verifies with env::verify."""

def execute_segments(
    elf: bytes,
    input: bytes,
    *,
    segment_limit_po2: int | None = None,
    max_cycles: int | None = None,
    assumptions: list[Receipt] = ...,
) -> tuple[ExecutionInfo, list[bytes]]:
    """Run a guest and return its segments, each in risc0's encoding (bincode of ``Segment``)."""

def prove_segment(segment: bytes) -> bytes:
    """Prove one segment; returns its ``SegmentReceipt`` (bincode)."""

def lift(segment_receipt: bytes) -> bytes:
    """Lift a ``SegmentReceipt`` into a ``SuccinctReceipt<ReceiptClaim>`` (bincode)."""

def join(a: bytes, b: bytes) -> bytes:
    """Join two succinct receipts of consecutive parts of one execution, ``a`` first."""

def resolve(conditional: bytes, assumption: bytes) -> bytes:
    """Resolve the first assumption of a conditional succinct receipt with a succinct receipt proving it."""

def segment_receipts(receipt: Receipt) -> list[bytes]:
    """The segment receipts (bincode) of a composite receipt; ``ReceiptInvalid`` for other kinds."""

def succinct_receipt(succinct: bytes, journal: bytes) -> Receipt:
    """A receipt from a final succinct receipt and the journal its execution committed."""

def resolve_assumptions(conditional: bytes, assumptions: list[Receipt]) -> bytes:
    """Resolves every assumption of a conditional succinct receipt with the given receipts (any order)."""

def composite_receipt(segment_receipts: list[bytes], assumptions: list[Receipt], journal: bytes) -> Receipt:
    """A composite receipt from segment receipts (in order), assumption receipts (any order) and the journal,
    checked before it is returned."""

def check_recursion_programs() -> list[tuple[str, str]]:
    """Each recursion program this build embeds (identity, join, resolve, union) with its control ID, checked
    against the ID risc0 lists for it; ``ProvingFailed`` on a mismatch."""
