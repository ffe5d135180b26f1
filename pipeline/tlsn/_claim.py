"""zkTLS: a RISC Zero receipt that a TLSNotary presentation verifies and that a claim about its transcript holds,
checkable by anyone with the receipt and the image ID, without the transcript and without trusting Loom.

The ``tlsn-claim`` guest links the same verifier crate as :mod:`pipeline.tlsn` and runs it inside the zkVM. What
the receipt proves is its journal (:class:`ClaimJournal`): the notary key, server and session time, a SHA-256 of
each direction's revealed bytes, each claim with its verdict. A false claim gives a receipt saying
``holds: false``; a presentation that fails the policy (tampered, untrusted notary, wrong server, too old) gives
no receipt: the guest stops, and Loom raises :class:`~pipeline.errors.PresentationInvalid` with the verifier's
reason. A verifier of the receipt must still decide whether it trusts the notary key in the journal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from pipeline import errors, zk
from pipeline.core import ReceiptKind
from pipeline.tlsn._verify import Notary, Policy
from pipeline.zk import SegmentPlan

GUEST = "tlsn-claim"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Op = Literal["eq", "ne", "lt", "le", "gt", "ge", "contains", "exists"]
SYMBOLS: dict[str, Op] = {"==": "eq", "!=": "ne", "<": "lt", "<=": "le", ">": "gt", ">=": "ge"}
_SYMBOLIC = re.compile(r"(\S+?)\s*(==|!=|<=|>=|<|>)\s*(.+)", re.DOTALL)
CLAIM_FORMS = "'PATH OP VALUE' with OP one of == != < <= > >= eq ne lt le gt ge contains, or 'PATH exists'"


class JsonClaim(_Model):
    """A claim over the JSON body of the (fully revealed) response: ``bazz eq 123``."""

    path: str = Field(description="dot path into the body; array indices as numbers (`items.0.id`)")
    op: Op
    value: Any = None

    @classmethod
    def parse(cls, text: str) -> JsonClaim:
        """``PATH OP VALUE`` (VALUE is JSON, or a bare string; OP a word or, as users write it, a symbol, spaces
        around it optional), or ``PATH exists``."""
        parts = text.split(None, 2)
        if len(parts) == 2 and parts[1] == "exists":
            return cls(path=parts[0], op="exists")
        if len(parts) == 3 and parts[1] in get_args(Op):
            return cls(path=parts[0], op=parts[1], value=_json_or_text(parts[2]))
        symbolic = _SYMBOLIC.fullmatch(text.strip())
        if symbolic:
            path, symbol, raw = symbolic.groups()
            return cls(path=path, op=SYMBOLS[symbol], value=_json_or_text(raw.strip()))
        if len(parts) == 3:
            raise errors.InvalidInput(f"claim operator {parts[1]!r} is not accepted: claims are {CLAIM_FORMS}")
        raise errors.InvalidInput(f"claim {text!r} is not a claim: claims are {CLAIM_FORMS}")


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


class BytesClaim(_Model):
    """The transcript bytes from ``start`` in one direction are exactly ``text`` (UTF-8) or ``hex``."""

    direction: Literal["sent", "received"] = "received"
    start: int = Field(ge=0)
    text: str | None = None
    hex: str | None = None

    @model_validator(mode="after")
    def _one_value(self) -> BytesClaim:
        if (self.text is None) == (self.hex is None):
            raise ValueError("give exactly one of text and hex")
        if self.hex is not None:
            bytes.fromhex(self.hex)
        return self


class JsonVerdict(_Model):
    claim: JsonClaim
    found: bool = Field(description="the path exists in the body")
    holds: bool


class BytesVerdict(_Model):
    claim: BytesClaim
    revealed: bool = Field(description="every byte of the range is authenticated in the presentation")
    holds: bool


class DirectionDigest(_Model):
    """What a holder of the transcript can recompute: the revealed ranges and SHA-256 of their bytes in order."""

    length: int
    authenticated: list[tuple[int, int]]
    sha256: str


class TranscriptDigest(_Model):
    sent: DirectionDigest
    received: DirectionDigest


class PickedValue(_Model):
    """A value the journal states: what the response's JSON body holds at ``path`` (``null`` when not ``found``)."""

    path: str
    found: bool
    value: Any = None


class ClaimJournal(_Model):
    """What a ``tlsn-claim`` receipt proves."""

    notary: Notary
    server: str | None = Field(description="the server whose certificate chain was verified (None if not required)")
    time: int
    tls_version: Literal["1.2", "1.3"]
    transcript: TranscriptDigest
    claim: JsonVerdict | None
    bytes: BytesVerdict | None
    holds: bool = Field(description="every claim given holds")
    picked: list[PickedValue] | None = Field(None, description="the values at the paths asked for (`pick`)")
    revealed: dict[str, Any] | None = Field(None, description="the transcript, only when asked for (`reveal`)")
    cycles: list[tuple[str, int]] | None = Field(None, description="cycles per phase, only when profiling")


# The guest's framed input: these bytes, the presentation's length (u32, little-endian), the raw presentation, then
# the rest of the request as JSON. The guest also takes the request as one JSON document with the presentation in
# base64 (a pipeline step's input), but decoding that costs it ~8% of its cycles.
FRAME = b"\0TLS"


def claim_request(
    presentation: bytes,
    policy: Policy,
    claim: JsonClaim | None = None,
    *,
    bytes_claim: BytesClaim | None = None,
    pick: Sequence[str] = (),
    reveal: bool = False,
    profile: bool = False,
    accelerate: bool = True,
) -> bytes:
    """The guest's input (its stdin); ``pick`` names dot paths of the response's JSON body whose values the journal
    is to state. ``accelerate=False`` makes the guest use portable arithmetic instead of RISC
    Zero's bigint circuits (same verdict, many more cycles): for measuring the accelerator."""
    if claim is None and bytes_claim is None and not pick:
        raise errors.InvalidInput("nothing to prove: give a JSON claim, a bytes claim and/or paths to pick")
    document: dict[str, Any] = {
        "policy": policy.to_request(),
        "reveal": reveal,
        "profile": profile,
        "accelerate": accelerate,
    }
    if claim is not None:
        document["claim"] = claim.model_dump()
    if bytes_claim is not None:
        document["bytes"] = bytes_claim.model_dump(exclude_none=True)
    if pick:
        document["pick"] = list(pick)
    return FRAME + len(presentation).to_bytes(4, "little") + presentation + zk.encode_input(document)


def decode(journal: bytes) -> ClaimJournal:
    """A ``tlsn-claim`` journal as data."""
    try:
        return ClaimJournal.model_validate_json(journal)
    except ValueError as exc:
        raise errors.ReceiptInvalid(f"not a tlsn-claim journal: {exc}") from None


def guest_error(exc: errors.GuestPanicked) -> errors.LoomError:
    """The guest's refusal as the error a caller handles: the presentation's, or the request's."""
    message = str(exc).removeprefix(f"{GUEST}: ")
    stage = errors.Stage.of_message(message)
    if stage is errors.Stage.unknown:
        return errors.InvalidInput(message)
    return errors.PresentationInvalid(message, stage)


def prove(
    presentation: bytes,
    policy: Policy,
    claim: JsonClaim | None = None,
    *,
    bytes_claim: BytesClaim | None = None,
    pick: Sequence[str] = (),
    reveal: bool = False,
    kind: ReceiptKind | str = ReceiptKind.composite,
    segment_limit_po2: int | None = None,
    dev_mode: bool = False,
    progress: zk.Progress | None = None,
    on_plan: Callable[[SegmentPlan], None] | None = None,
    cluster: str | None = None,
) -> zk.Receipt:
    """zkTLS: a receipt of the ``tlsn-claim`` guest that ``presentation`` verifies against ``policy`` and of whether
    the claims hold (decode its journal with :func:`decode`). Raises
    ``PresentationInvalid`` when the guest refuses the presentation: then there is no receipt. ``on_plan``,
    ``cluster``: as for ``zk.prove``."""
    document = claim_request(presentation, policy, claim, bytes_claim=bytes_claim, pick=pick, reveal=reveal)
    try:
        return zk.prove(
            zk.load_guest(GUEST).elf,
            document,
            kind=kind,
            segment_limit_po2=segment_limit_po2,
            dev_mode=dev_mode,
            progress=progress,
            on_plan=on_plan,
            cluster=cluster,
        ).receipt
    except errors.GuestPanicked as exc:
        raise guest_error(exc) from None
